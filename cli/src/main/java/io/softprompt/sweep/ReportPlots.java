package io.softprompt.sweep;

import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Rectangle2D;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.batik.svggen.SVGGraphics2D;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.block.BlockBorder;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYErrorRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;
import org.w3c.dom.Document;

/**
 * The report's plots, drawn with JFreeChart: PNG through Java2D, SVG through Batik's SVG generator,
 * whose text stays text (searchable, selectable). Colours are the Okabe-Ito palette, which reads on
 * white and for colour-blind readers, and past its seven colours each series also gets its own dash
 * and marker, so no two series look alike; the legend goes below the plot so it never squeezes it; error
 * bars of different series are dodged sideways so they never sit on each other; the majority-class
 * baseline is a dashed line the y axis always spans.
 */
final class ReportPlots {
    /** Okabe &amp; Ito (2008), without the yellow that vanishes on white. */
    static final Color[] PALETTE = {new Color(0x0072B2), new Color(0xD55E00), new Color(0x009E73), new Color(0xCC79A7),
        new Color(0xE69F00), new Color(0x56B4E9), new Color(0x000000)};
    static final int WIDTH = 820;
    static final int HEIGHT = 560;
    static final Font TITLE = new Font(Font.SANS_SERIF, Font.BOLD, 15);
    static final Font CAPTION = new Font(Font.SANS_SERIF, Font.PLAIN, 12);

    private ReportPlots() {}

    /** The runs' means (and spread) by prompt length, one series per value of the other grouping keys. */
    static void accuracyVsLength(SweepReport.Setting s, Path base) throws IOException {
        List<String> seriesKeys = s.keys().stream().filter(k -> !k.equals("tokens")).toList();
        Map<String, TreeMap<Double, List<Double>>> series = new TreeMap<>(SweepRuns::naturalCompare);
        for (SweepReport.Row r : s.rows()) {
            if (!r.finished() || Double.isNaN(r.accuracy())) {
                continue;
            }
            String name = seriesKeys.isEmpty() ? "all runs" : legendName(r, seriesKeys);
            series.computeIfAbsent(name, k -> new TreeMap<>())
                    .computeIfAbsent(r.point().get("tokens").asDouble(), t -> new ArrayList<>()).add(r.accuracy());
        }
        int seeds = series.values().stream().flatMap(m -> m.values().stream()).mapToInt(List::size).max().orElse(0);
        boolean bars = seeds > 1;
        double minX = series.values().stream().mapToDouble(TreeMap::firstKey).min().orElse(1);
        double maxX = series.values().stream().mapToDouble(TreeMap::lastKey).max().orElse(1);
        boolean log = maxX / Math.max(minX, 1e-9) >= 10;

        YIntervalSeriesCollection data = new YIntervalSeriesCollection();
        StringBuilder csv = new StringBuilder("series,tokens,mean,std,n\n");
        double lo = Double.MAX_VALUE;
        double hi = -Double.MAX_VALUE;
        int k = 0;
        for (var e : series.entrySet()) {
            YIntervalSeries ys = new YIntervalSeries(e.getKey());
            for (var p : e.getValue().entrySet()) {
                SweepReport.Stat st = SweepReport.Stat.of(p.getValue());
                double x = PlotAxes.dodge(p.getKey(), k, series.size(), log);
                double err = bars ? st.std() : 0;
                ys.add(x, st.mean(), st.mean() - err, st.mean() + err);
                lo = Math.min(lo, st.mean() - err);
                hi = Math.max(hi, st.mean() + err);
                csv.append(SweepRuns.csvCell(e.getKey())).append(',').append(SweepRuns.fmt(p.getKey())).append(',')
                        .append(st.mean()).append(',').append(st.std()).append(',').append(st.n()).append('\n');
            }
            data.addSeries(ys);
            k++;
        }
        XYErrorRenderer renderer = new XYErrorRenderer();
        renderer.setDrawXError(false);
        renderer.setDrawYError(bars);
        renderer.setDefaultLinesVisible(true);
        renderer.setErrorStroke(new BasicStroke(1.5f));
        renderer.setCapLength(6);
        PlotFigure.paint(renderer, series.size(), true);
        NumberAxis yAxis = new NumberAxis("best dev accuracy");
        double[] lengths = series.values().stream().flatMap(m -> m.keySet().stream()).mapToDouble(Double::doubleValue)
                .distinct().sorted().toArray();
        XYPlot plot = new XYPlot(data, PlotAxes.lengthAxis(log, minX, maxX, lengths), yAxis, renderer);
        double majority = s.majority();
        baseline(plot, majority);
        double[] range = PlotAxes.yRange(lo, hi, majority);
        PlotAxes.readableTicks(yAxis, range[0], range[1]);
        JFreeChart chart = PlotFigure.chart("Best dev accuracy by prompt length", s.caption() + (bars ? "; error bars: std over "
                + seeds + " seeds" : "; 1 seed, no error bars"), plot, true);
        PlotFigure.save(new PlotFigure.Figure(null, null, List.of(List.of(chart)), WIDTH, HEIGHT, null), base);
        AtomicFiles.writeString(base.resolveSibling(base.getFileName() + ".csv"), csv.toString());
    }

    /** At most this many lines in one panel; more settings are split into small multiples. */
    static final int MAX_LINES = 7;

    /**
     * Training loss (EMA-smoothed, with the chance level ln C of a C-class verbalizer) and dev accuracy
     * (with the majority class) against step, mean over seeds per group. Up to {@link #MAX_LINES} groups:
     * one loss and one accuracy panel. More: small multiples, one column per value of the varying key
     * with the most values (tokens, say), the other keys' values as lines in each panel; one legend for
     * all. False when no run logged anything.
     */
    static boolean trainingCurves(SweepReport.Setting s, Path base) throws IOException {
        List<String> keys = s.keys();
        String panelKey = null;
        if (s.groups().size() > MAX_LINES && keys.size() > 1) {
            int most = 0;
            for (String k : keys) {
                long n = s.groups().values().stream().map(g -> SweepRuns.text(g.get(0).point().get(k))).distinct().count();
                if (n > most) {
                    most = (int) n;
                    panelKey = k;
                }
            }
        }
        String pk = panelKey;
        List<String> lineKeys = keys.stream().filter(k -> !k.equals(pk)).toList();
        // panel value → line name → the group's runs; every panel gets every line (empty where absent) so colours agree
        Map<String, Map<String, List<SweepReport.Row>>> panels = new TreeMap<>(SweepRuns::naturalCompare);
        List<String> lineNames = new ArrayList<>();
        for (List<SweepReport.Row> g : s.groups().values()) {
            String panel = pk == null ? "" : pk + " " + SweepRuns.text(g.get(0).point().get(pk));
            String line = legendName(g.get(0), lineKeys);
            panels.computeIfAbsent(panel, x -> new TreeMap<>(SweepRuns::naturalCompare)).put(line, g);
            if (!lineNames.contains(line)) {
                lineNames.add(line);
            }
        }
        lineNames.sort(SweepRuns::naturalCompare);
        StringBuilder csv = new StringBuilder("series,step,mean_loss_ema,mean_dev_accuracy,n\n");
        List<JFreeChart> lossRow = new ArrayList<>();
        List<JFreeChart> accRow = new ArrayList<>();
        boolean anyLoss = false;
        boolean anyAcc = false;
        boolean oneRunEach = s.groups().values().stream().allMatch(g -> g.size() == 1);
        List<NumberAxis> accAxes = new ArrayList<>();
        List<NumberAxis> lossAxes = new ArrayList<>();
        List<XYSeriesCollection> allLosses = new ArrayList<>();
        List<XYSeriesCollection> allAccuracies = new ArrayList<>();
        for (var panel : panels.entrySet()) {
            XYSeriesCollection losses = new XYSeriesCollection();
            XYSeriesCollection accuracies = new XYSeriesCollection();
            for (String line : lineNames) {
                XYSeries ls = new XYSeries(line);
                XYSeries as = new XYSeries(line);
                List<SweepReport.Row> g = panel.getValue().get(line);
                if (g != null) {
                    String name = panel.getKey().isEmpty() ? line : panel.getKey() + ", " + line;
                    TreeMap<Double, List<Double>> byStep = new TreeMap<>();
                    TreeMap<Double, List<Double>> devByStep = new TreeMap<>();
                    for (SweepReport.Row r : g) {
                        double ema = Double.NaN;
                        for (double[] p : r.losses()) {
                            ema = Double.isNaN(ema) ? p[1] : SweepReport.EMA * ema + (1 - SweepReport.EMA) * p[1];
                            byStep.computeIfAbsent(p[0], x -> new ArrayList<>()).add(ema);
                        }
                        for (double[] p : r.devAccuracy()) {
                            devByStep.computeIfAbsent(p[0], x -> new ArrayList<>()).add(p[1]);
                        }
                    }
                    means(byStep, ls, csv, name, true);
                    means(devByStep, as, csv, name, false);
                }
                anyLoss |= ls.getItemCount() > 0;
                anyAcc |= as.getItemCount() > 0;
                losses.addSeries(ls);
                accuracies.addSeries(as);
            }
            allLosses.add(losses);
            allAccuracies.add(accuracies);
            String title = panel.getKey().isEmpty() ? null : panel.getKey();
            XYLineAndShapeRenderer lossLines = new XYLineAndShapeRenderer(true, false);
            PlotFigure.paint(lossLines, losses.getSeriesCount(), false);
            NumberAxis lossAxis = new NumberAxis("training loss");
            lossAxes.add(lossAxis);
            XYPlot lossPlot = new XYPlot(losses, new NumberAxis("step"), lossAxis, lossLines);
            chance(lossPlot, s.chanceLoss());
            lossRow.add(PlotFigure.chart(title == null ? "Training loss" : "loss, " + title, null, lossPlot, false));
            XYLineAndShapeRenderer accLines = new XYLineAndShapeRenderer(true, true);
            PlotFigure.paint(accLines, accuracies.getSeriesCount(), true);
            NumberAxis y = new NumberAxis("dev accuracy");
            accAxes.add(y);
            XYPlot accPlot = new XYPlot(accuracies, new NumberAxis("step (0: the initial prompt)"), y, accLines);
            baseline(accPlot, s.majority());
            accRow.add(PlotFigure.chart(title == null ? "Dev accuracy" : "dev accuracy, " + title, null, accPlot, false));
        }
        if (!anyLoss) {
            return false;
        }
        double[] accSpan = span(allAccuracies);
        double[] range = PlotAxes.yRange(accSpan[0], accSpan[1], s.majority());
        for (NumberAxis y : accAxes) { // one scale across panels: they are compared side by side
            PlotAxes.readableTicks(y, range[0], range[1]);
        }
        double chance = s.chanceLoss();
        double[] lossSpan = span(allLosses);
        double top = Double.isNaN(chance) ? lossSpan[1] : Math.max(lossSpan[1], chance);
        double bottom = Double.isNaN(chance) ? lossSpan[0] : Math.min(lossSpan[0], chance);
        double pad = Math.max(1e-3, (top - bottom) * 0.08);
        for (NumberAxis y : lossAxes) { // the chance level always in view
            PlotAxes.readableTicks(y, bottom - pad, top + pad);
        }
        boolean multiples = pk != null;
        List<List<JFreeChart>> rows = new ArrayList<>();
        if (multiples) { // a column per value of the panel key: losses above, accuracies below
            rows.add(lossRow);
            if (anyAcc) {
                rows.add(accRow);
            }
        } else { // loss and accuracy side by side
            rows.add(anyAcc ? List.of(lossRow.get(0), accRow.get(0)) : List.of(lossRow.get(0)));
        }
        String what = oneRunEach ? "one run per line" : "mean over seeds per line";
        String caption = s.caption() + "; loss smoothed (EMA " + SweepReport.EMA + "); " + what;
        int w = multiples ? Math.max(300, 1400 / lossRow.size()) : WIDTH / 2 + 80;
        LegendTitle legend = new LegendTitle(((XYPlot) lossRow.get(0).getPlot()).getRenderer());
        legend.setItemFont(CAPTION);
        legend.setFrame(BlockBorder.NONE);
        PlotFigure.save(new PlotFigure.Figure(multiples ? "Training curves by " + pk : "Training curves", caption, rows, w,
                multiples ? 300 : HEIGHT - 60, legend), base);
        AtomicFiles.writeString(base.resolveSibling(base.getFileName() + ".csv"), csv.toString());
        return true;
    }

    /**
     * The mean over seeds at each step into a series, each point also a line of the curves' CSV
     * (series,step,mean_loss_ema,mean_dev_accuracy,n: the value in the loss or the accuracy column).
     */
    private static void means(TreeMap<Double, List<Double>> byStep, XYSeries into, StringBuilder csv, String name, boolean loss) {
        for (var p : byStep.entrySet()) {
            double m = SweepReport.Stat.of(p.getValue()).mean();
            into.add(p.getKey().doubleValue(), m);
            csv.append(SweepRuns.csvCell(name)).append(',').append(SweepRuns.fmt(p.getKey())).append(loss ? "," : ",,").append(m)
                    .append(loss ? ",," : ",").append(p.getValue().size()).append('\n');
        }
    }

    /** The smallest and largest y of every non-empty series of the collections. */
    private static double[] span(List<XYSeriesCollection> collections) {
        double lo = Double.MAX_VALUE;
        double hi = -Double.MAX_VALUE;
        for (XYSeriesCollection c : collections) {
            for (Object o : c.getSeries()) {
                XYSeries x = (XYSeries) o;
                if (x.getItemCount() > 0) {
                    lo = Math.min(lo, x.getMinY());
                    hi = Math.max(hi, x.getMaxY());
                }
            }
        }
        return new double[] {lo, hi};
    }

    /** The loss of guessing (ln C for C classes under the verbalizer objective) as a dashed line, labelled. */
    private static void chance(XYPlot plot, double chance) {
        if (Double.isNaN(chance)) {
            return;
        }
        ValueMarker m = marker(chance, String.format(Locale.ROOT, "chance (ln %d = %.3f)", Math.round(Math.exp(chance)), chance),
                RectangleAnchor.TOP_RIGHT, TextAnchor.BOTTOM_RIGHT);
        plot.addRangeMarker(m);
    }

    /** The majority-class accuracy as a dashed grey line across the plot, labelled. */
    private static void baseline(XYPlot plot, double majority) {
        if (Double.isNaN(majority)) {
            return;
        }
        ValueMarker m = marker(majority, String.format(Locale.ROOT, "majority class (%.3f)", majority),
                RectangleAnchor.BOTTOM_RIGHT, TextAnchor.TOP_RIGHT);
        plot.addRangeMarker(m);
    }

    /** A reference level as a dashed grey line across the plot, labelled on a light background. */
    private static ValueMarker marker(double value, String label, RectangleAnchor anchor, TextAnchor text) {
        ValueMarker m = new ValueMarker(value, Color.GRAY, PlotFigure.dashed(1.5f, 6f, 4f));
        m.setLabel(label);
        m.setLabelFont(CAPTION);
        m.setLabelPaint(Color.DARK_GRAY);
        m.setLabelBackgroundColor(new Color(255, 255, 255, 200));
        m.setLabelAnchor(anchor);
        m.setLabelTextAnchor(text);
        return m;
    }

    /** "init: random" for one key; "tokens 5, init random" for several. */
    static String legendName(SweepReport.Row r, List<String> keys) {
        if (keys.isEmpty()) {
            return "all runs";
        }
        if (keys.size() == 1) {
            return keys.get(0) + ": " + SweepRuns.text(r.point().get(keys.get(0)));
        }
        List<String> parts = new ArrayList<>();
        for (String k : keys) {
            parts.add(k + " " + SweepRuns.text(r.point().get(k)));
        }
        return String.join(", ", parts);
    }

    /** Whether the run's model says its weights are random (the benchmark models and the demo do). */
    static boolean randomWeights(String model) {
        if (model.equals("softprompt-demo") || model.equals("demo")) {
            return true;
        }
        Path cfg = Path.of(model).resolve("config.json");
        try {
            return Files.isRegularFile(cfg) && Json.MAPPER.readTree(cfg.toFile()).path("random_weights").asBoolean(false);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
