package io.softprompt.sweep;

import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Dimension;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Shape;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.apache.batik.svggen.SVGGeneratorContext;
import org.apache.batik.svggen.SVGGraphics2D;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.block.BlockBorder;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYErrorRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.chart.util.ShapeUtils;
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
    /** Okabe & Ito (2008), without the yellow that vanishes on white. */
    static final Color[] PALETTE = {new Color(0x0072B2), new Color(0xD55E00), new Color(0x009E73), new Color(0xCC79A7),
        new Color(0xE69F00), new Color(0x56B4E9), new Color(0x000000)};
    static final int WIDTH = 820;
    static final int HEIGHT = 560;
    private static final Font TITLE = new Font(Font.SANS_SERIF, Font.BOLD, 15);
    private static final Font CAPTION = new Font(Font.SANS_SERIF, Font.PLAIN, 12);

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
                double x = dodge(p.getKey(), k, series.size(), log);
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
        paint(renderer, series.size(), true);
        NumberAxis yAxis = new NumberAxis("best dev accuracy");
        XYPlot plot = new XYPlot(data, lengthAxis(log, minX, maxX), yAxis, renderer);
        double majority = s.majority();
        baseline(plot, majority);
        double[] range = yRange(lo, hi, majority);
        yAxis.setRange(range[0], range[1]);
        JFreeChart chart = chart("Best dev accuracy by prompt length", s.caption() + (bars ? "; error bars: std over "
                + seeds + " seeds" : "; 1 seed, no error bars"), plot);
        save(List.of(chart), new int[] {WIDTH}, base);
        AtomicFiles.writeString(base.resolveSibling(base.getFileName() + ".csv"), csv.toString());
    }

    private static ValueAxis lengthAxis(boolean log, double minX, double maxX) {
        if (!log) {
            NumberAxis x = new NumberAxis("prompt length (tokens)");
            x.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
            x.setRange(minX - 0.5, maxX + 0.5);
            return x;
        }
        LogAxis x = new LogAxis("prompt length (tokens, log scale)");
        x.setBase(10);
        x.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        x.setRange(minX / 1.4, maxX * 1.4);
        x.setMinorTickMarksVisible(true);
        return x;
    }

    /**
     * The y axis of an accuracy plot: from below both the data and the majority-class baseline to above
     * the data, at most 1.0, so the baseline is always in view.
     */
    static double[] yRange(double lo, double hi, double majority) {
        double bottom = Double.isNaN(majority) ? lo : Math.min(lo, majority);
        double top = Math.max(hi, Double.isNaN(majority) ? hi : majority);
        double pad = Math.max(0.01, (top - bottom) * 0.1);
        return new double[] {Math.max(0, bottom - pad), Math.min(1.0, top + pad)};
    }

    /**
     * Series k of n drawn a little beside x, so that error bars at the same x never overlap: within
     * ±4% of the point on a log axis, ±0.06 of a unit on a linear one, spread evenly around x.
     */
    static double dodge(double x, int k, int n, boolean log) {
        if (n <= 1) {
            return x;
        }
        double offset = (k - (n - 1) / 2.0) / (n - 1); // -0.5 .. 0.5
        return log ? x * Math.pow(1.08, offset) : x + 0.12 * offset;
    }

    /** Loss (EMA-smoothed) and dev accuracy against step, side by side; false when no run logged anything. */
    static boolean trainingCurves(SweepReport.Setting s, Path base) throws IOException {
        XYSeriesCollection losses = new XYSeriesCollection();
        XYSeriesCollection accuracies = new XYSeriesCollection();
        StringBuilder csv = new StringBuilder("series,step,mean_loss_ema,mean_dev_accuracy,n\n");
        double lo = Double.MAX_VALUE;
        double hi = -Double.MAX_VALUE;
        for (var g : s.groups().entrySet()) {
            TreeMap<Double, List<Double>> byStep = new TreeMap<>();
            TreeMap<Double, List<Double>> devByStep = new TreeMap<>();
            for (SweepReport.Row r : g.getValue()) {
                double ema = Double.NaN;
                for (double[] p : r.losses()) {
                    ema = Double.isNaN(ema) ? p[1] : SweepReport.EMA * ema + (1 - SweepReport.EMA) * p[1];
                    byStep.computeIfAbsent(p[0], x -> new ArrayList<>()).add(ema);
                }
                for (double[] p : r.devAccuracy()) {
                    devByStep.computeIfAbsent(p[0], x -> new ArrayList<>()).add(p[1]);
                }
            }
            String name = legendName(g.getValue().get(0), s.keys());
            XYSeries ls = new XYSeries(name);
            for (var p : byStep.entrySet()) {
                double m = SweepReport.Stat.of(p.getValue()).mean();
                ls.add(p.getKey().doubleValue(), m);
                csv.append(SweepRuns.csvCell(name)).append(',').append(SweepRuns.fmt(p.getKey())).append(',').append(m)
                        .append(",,").append(p.getValue().size()).append('\n');
            }
            XYSeries as = new XYSeries(name);
            for (var p : devByStep.entrySet()) {
                double m = SweepReport.Stat.of(p.getValue()).mean();
                as.add(p.getKey().doubleValue(), m);
                lo = Math.min(lo, m);
                hi = Math.max(hi, m);
                csv.append(SweepRuns.csvCell(name)).append(',').append(SweepRuns.fmt(p.getKey())).append(",,").append(m)
                        .append(',').append(p.getValue().size()).append('\n');
            }
            losses.addSeries(ls);
            accuracies.addSeries(as);
        }
        if (losses.getSeries().stream().allMatch(x -> ((XYSeries) x).getItemCount() == 0)) {
            return false;
        }
        XYLineAndShapeRenderer lossLines = new XYLineAndShapeRenderer(true, false);
        paint(lossLines, losses.getSeriesCount(), false);
        XYPlot lossPlot = new XYPlot(losses, new NumberAxis("step"), autoRange(new NumberAxis("training loss")), lossLines);
        List<JFreeChart> panels = new ArrayList<>();
        panels.add(chart("Training loss", "EMA " + SweepReport.EMA + " over logged steps, mean over seeds", lossPlot));
        if (accuracies.getSeries().stream().anyMatch(x -> ((XYSeries) x).getItemCount() > 0)) {
            XYLineAndShapeRenderer accLines = new XYLineAndShapeRenderer(true, true);
            paint(accLines, accuracies.getSeriesCount(), true);
            NumberAxis y = new NumberAxis("dev accuracy");
            XYPlot accPlot = new XYPlot(accuracies, new NumberAxis("step (0: the initial prompt)"), y, accLines);
            double majority = s.majority();
            baseline(accPlot, majority);
            double[] range = yRange(lo, hi, majority);
            y.setRange(range[0], range[1]);
            panels.add(chart("Dev accuracy", s.caption() + "; mean over seeds", accPlot));
        }
        int[] widths = new int[panels.size()];
        Arrays.fill(widths, panels.size() == 1 ? WIDTH : WIDTH / 2 + 80);
        save(panels, widths, base);
        AtomicFiles.writeString(base.resolveSibling(base.getFileName() + ".csv"), csv.toString());
        return true;
    }

    private static NumberAxis autoRange(NumberAxis a) {
        a.setAutoRangeIncludesZero(false);
        return a;
    }

    /** The majority-class accuracy as a dashed grey line across the plot, labelled. */
    private static void baseline(XYPlot plot, double majority) {
        if (Double.isNaN(majority)) {
            return;
        }
        ValueMarker m = new ValueMarker(majority, Color.GRAY, dashed(1.5f, 6f, 4f));
        m.setLabel(String.format(Locale.ROOT, "majority class (%.3f)", majority));
        m.setLabelFont(CAPTION);
        m.setLabelPaint(Color.DARK_GRAY);
        m.setLabelBackgroundColor(new Color(255, 255, 255, 200));
        m.setLabelAnchor(RectangleAnchor.BOTTOM_RIGHT);
        m.setLabelTextAnchor(TextAnchor.TOP_RIGHT);
        plot.addRangeMarker(m);
    }

    private static void paint(XYLineAndShapeRenderer r, int n, boolean shapes) {
        for (int i = 0; i < n; i++) {
            Style st = style(i);
            r.setSeriesPaint(i, st.colour());
            r.setSeriesStroke(i, st.stroke());
            r.setSeriesShape(i, st.shape());
            r.setSeriesShapesVisible(i, shapes);
        }
    }

    /** How series i is drawn: a palette colour, and past the palette's length a new dash and marker. */
    record Style(Color colour, BasicStroke stroke, Shape shape) {}

    /** One line style and one marker per cycle through the palette: solid/circle, dashed/square, ... */
    private static final BasicStroke[] STROKES = {new BasicStroke(2f), dashed(2f, 8f, 4f), dashed(2f, 2f, 3f),
        dashed(2f, 10f, 3f, 2f, 3f)};
    private static final Shape[] SHAPES = {new Ellipse2D.Double(-4, -4, 8, 8), new Rectangle2D.Double(-4, -4, 8, 8),
        ShapeUtils.createUpTriangle(4.5f), ShapeUtils.createDiamond(4.5f)};

    static Style style(int i) {
        int cycle = (i / PALETTE.length) % STROKES.length;
        return new Style(PALETTE[i % PALETTE.length], STROKES[cycle], SHAPES[cycle]);
    }

    private static BasicStroke dashed(float width, float... dash) {
        return new BasicStroke(width, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, dash, 0f);
    }

    private static JFreeChart chart(String title, String caption, XYPlot plot) {
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xDDDDDD));
        plot.setRangeGridlinePaint(new Color(0xDDDDDD));
        plot.setOutlinePaint(Color.GRAY);
        JFreeChart c = new JFreeChart(title, TITLE, plot, true);
        c.addSubtitle(new TextTitle(caption, CAPTION));
        c.setBackgroundPaint(Color.WHITE);
        c.getLegend().setFrame(BlockBorder.NONE);
        c.getLegend().setItemFont(CAPTION);
        return c;
    }

    /** The panels side by side, as PNG and as SVG with text elements. */
    static void save(List<JFreeChart> panels, int[] widths, Path base) throws IOException {
        int w = Arrays.stream(widths).sum();
        BufferedImage img = new BufferedImage(w, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        draw(g, panels, widths);
        g.dispose();
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(img, "png", png);
        AtomicFiles.write(base.resolveSibling(base.getFileName() + ".png"), o -> o.write(png.toByteArray()));

        Document doc;
        try {
            doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().getDOMImplementation()
                    .createDocument("http://www.w3.org/2000/svg", "svg", null);
        } catch (ParserConfigurationException e) {
            throw new IOException("no XML document builder: " + e.getMessage(), e);
        }
        SVGGraphics2D svg = new SVGGraphics2D(SVGGeneratorContext.createDefault(doc), false); // false: text as <text>
        svg.setSVGCanvasSize(new Dimension(w, HEIGHT));
        draw(svg, panels, widths);
        AtomicFiles.write(base.resolveSibling(base.getFileName() + ".svg"), o -> {
            Writer out = new OutputStreamWriter(o, StandardCharsets.UTF_8);
            svg.stream(out, true);
            out.flush();
        });
    }

    private static void draw(Graphics2D g, List<JFreeChart> panels, int[] widths) {
        int x = 0;
        for (int i = 0; i < panels.size(); i++) {
            panels.get(i).draw(g, new Rectangle2D.Double(x, 0, widths[i], HEIGHT));
            x += widths[i];
        }
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
