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
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.ArrayList;
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
import org.jfree.chart.axis.AxisState;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTick;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.axis.ValueTick;
import org.jfree.chart.block.BlockBorder;
import org.jfree.chart.block.RectangleConstraint;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYErrorRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.RectangleEdge;
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
        double[] lengths = series.values().stream().flatMap(m -> m.keySet().stream()).mapToDouble(Double::doubleValue)
                .distinct().sorted().toArray();
        XYPlot plot = new XYPlot(data, lengthAxis(log, minX, maxX, lengths), yAxis, renderer);
        double majority = s.majority();
        baseline(plot, majority);
        double[] range = yRange(lo, hi, majority);
        readableTicks(yAxis, range[0], range[1]);
        JFreeChart chart = chart("Best dev accuracy by prompt length", s.caption() + (bars ? "; error bars: std over "
                + seeds + " seeds" : "; 1 seed, no error bars"), plot, true);
        save(new Figure(null, null, List.of(List.of(chart)), WIDTH, HEIGHT, null), base);
        AtomicFiles.writeString(base.resolveSibling(base.getFileName() + ".csv"), csv.toString());
    }

    /** The prompt-length axis, ticked at the grid's lengths only (1, 5, 20, 50: never 10⁰, 10¹). */
    private static ValueAxis lengthAxis(boolean log, double minX, double maxX, double[] lengths) {
        ValueAxis x;
        if (log) {
            x = new TickedLogAxis("prompt length (tokens, log scale)", lengths);
            x.setRange(minX / 1.4, maxX * 1.4);
        } else {
            x = new TickedNumberAxis("prompt length (tokens)", lengths);
            x.setRange(minX - 0.5, maxX + 0.5);
        }
        return x;
    }

    /** Tick marks and labels at given values only, on a bottom axis. */
    private static List<ValueTick> ticksAt(double[] at) {
        List<ValueTick> t = new ArrayList<>();
        for (double v : at) {
            t.add(new NumberTick(v, SweepRuns.fmt(v), TextAnchor.TOP_CENTER, TextAnchor.CENTER, 0.0));
        }
        return t;
    }

    /** A log axis ticked at given values. */
    static final class TickedLogAxis extends LogAxis {
        private final double[] at;

        TickedLogAxis(String label, double[] at) {
            super(label);
            this.at = at.clone();
            setBase(10);
            setMinorTickMarksVisible(false);
        }

        @Override
        @SuppressWarnings("rawtypes")
        public List refreshTicks(Graphics2D g2, AxisState state, Rectangle2D dataArea, RectangleEdge edge) {
            return ticksAt(at);
        }
    }

    /** A linear axis ticked at given values. */
    static final class TickedNumberAxis extends NumberAxis {
        private final double[] at;

        TickedNumberAxis(String label, double[] at) {
            super(label);
            this.at = at.clone();
        }

        @Override
        @SuppressWarnings("rawtypes")
        public List refreshTicks(Graphics2D g2, AxisState state, Rectangle2D dataArea, RectangleEdge edge) {
            return ticksAt(at);
        }
    }

    /**
     * A readable tick step for an axis spanning {@code span}: 1, 2, 2.5 or 5 times a power of ten, the
     * smallest giving at most 8 intervals (an accuracy axis from 0.49 to 0.63 gets 0.02, not 0.005).
     */
    static double niceStep(double span) {
        if (!(span > 0) || !Double.isFinite(span)) {
            return 0.1;
        }
        double p = Math.pow(10, Math.floor(Math.log10(span / 8)));
        for (double m : new double[] {1, 2, 2.5, 5, 10}) {
            if (span / (m * p) <= 8) {
                return m * p;
            }
        }
        return 10 * p;
    }

    /** An accuracy axis over [lo, hi] with a readable step and as many decimals as the step needs. */
    private static void readableTicks(NumberAxis y, double lo, double hi) {
        y.setRange(lo, hi);
        double step = niceStep(hi - lo);
        int decimals = 0; // as many as the step needs: 0.02 → 2, 0.025 → 3
        while (decimals < 6 && Math.abs(step * Math.pow(10, decimals) - Math.rint(step * Math.pow(10, decimals))) > 1e-9) {
            decimals++;
        }
        y.setTickUnit(new NumberTickUnit(step, new DecimalFormat("0." + "0".repeat(Math.max(1, decimals)),
                DecimalFormatSymbols.getInstance(Locale.ROOT))));
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
            paint(lossLines, losses.getSeriesCount(), false);
            NumberAxis lossAxis = new NumberAxis("training loss");
            lossAxes.add(lossAxis);
            XYPlot lossPlot = new XYPlot(losses, new NumberAxis("step"), lossAxis, lossLines);
            chance(lossPlot, s.chanceLoss());
            lossRow.add(chart(title == null ? "Training loss" : "loss, " + title, null, lossPlot, false));
            XYLineAndShapeRenderer accLines = new XYLineAndShapeRenderer(true, true);
            paint(accLines, accuracies.getSeriesCount(), true);
            NumberAxis y = new NumberAxis("dev accuracy");
            accAxes.add(y);
            XYPlot accPlot = new XYPlot(accuracies, new NumberAxis("step (0: the initial prompt)"), y, accLines);
            baseline(accPlot, s.majority());
            accRow.add(chart(title == null ? "Dev accuracy" : "dev accuracy, " + title, null, accPlot, false));
        }
        if (!anyLoss) {
            return false;
        }
        double[] accSpan = span(allAccuracies);
        double[] range = yRange(accSpan[0], accSpan[1], s.majority());
        for (NumberAxis y : accAxes) { // one scale across panels: they are compared side by side
            readableTicks(y, range[0], range[1]);
        }
        double chance = s.chanceLoss();
        double[] lossSpan = span(allLosses);
        double top = Double.isNaN(chance) ? lossSpan[1] : Math.max(lossSpan[1], chance);
        double bottom = Double.isNaN(chance) ? lossSpan[0] : Math.min(lossSpan[0], chance);
        double pad = Math.max(1e-3, (top - bottom) * 0.08);
        for (NumberAxis y : lossAxes) { // the chance level always in view
            readableTicks(y, bottom - pad, top + pad);
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
        save(new Figure(multiples ? "Training curves by " + pk : "Training curves", caption, rows, w,
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
        ValueMarker m = new ValueMarker(value, Color.GRAY, dashed(1.5f, 6f, 4f));
        m.setLabel(label);
        m.setLabelFont(CAPTION);
        m.setLabelPaint(Color.DARK_GRAY);
        m.setLabelBackgroundColor(new Color(255, 255, 255, 200));
        m.setLabelAnchor(anchor);
        m.setLabelTextAnchor(text);
        return m;
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

    private static JFreeChart chart(String title, String caption, XYPlot plot, boolean legend) {
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xDDDDDD));
        plot.setRangeGridlinePaint(new Color(0xDDDDDD));
        plot.setOutlinePaint(Color.GRAY);
        JFreeChart c = new JFreeChart(title, TITLE, plot, legend);
        if (caption != null) {
            c.addSubtitle(new TextTitle(caption, CAPTION));
        }
        c.setBackgroundPaint(Color.WHITE);
        if (legend) {
            c.getLegend().setFrame(BlockBorder.NONE);
            c.getLegend().setItemFont(CAPTION);
        }
        return c;
    }

    /**
     * A figure: an optional title and caption across the top, rows of equally sized panels, and an
     * optional legend across the bottom (one for all panels, whose lines share colours).
     */
    record Figure(String title, String caption, List<List<JFreeChart>> rows, int panelWidth, int panelHeight,
            LegendTitle legend) {
        static final int HEADER = 56;
        static final int FOOTER = 48;

        int width() {
            return panelWidth * rows.stream().mapToInt(List::size).max().orElse(1);
        }

        int height() {
            return (title == null ? 0 : HEADER) + panelHeight * rows.size() + (legend == null ? 0 : FOOTER);
        }

        void draw(Graphics2D g) {
            g.setPaint(Color.WHITE);
            g.fill(new Rectangle2D.Double(0, 0, width(), height()));
            int y = 0;
            if (title != null) {
                place(g, new TextTitle(title, TITLE), new Rectangle2D.Double(0, 6, width(), 24));
                place(g, new TextTitle(caption, CAPTION), new Rectangle2D.Double(0, 30, width(), 22));
                y = HEADER;
            }
            for (List<JFreeChart> row : rows) {
                for (int i = 0; i < row.size(); i++) {
                    row.get(i).draw(g, new Rectangle2D.Double(i * panelWidth, y, panelWidth, panelHeight));
                }
                y += panelHeight;
            }
            if (legend != null) {
                place(g, legend, new Rectangle2D.Double(0, y + 4, width(), FOOTER - 8));
            }
        }

        /** A title laid out at its own size (a title draws nothing before it is arranged), centred in the area. */
        private static void place(Graphics2D g, org.jfree.chart.title.Title t, Rectangle2D area) {
            org.jfree.chart.ui.Size2D size = t.arrange(g, RectangleConstraint.NONE.toRangeWidth(
                    new org.jfree.data.Range(0, area.getWidth())));
            double w = Math.min(size.getWidth(), area.getWidth());
            t.draw(g, new Rectangle2D.Double(area.getX() + (area.getWidth() - w) / 2, area.getY(), w, area.getHeight()));
        }
    }

    /** A figure as PNG and as SVG with text elements. */
    static void save(Figure f, Path base) throws IOException {
        int w = f.width();
        int h = f.height();
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        f.draw(g);
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
        svg.setSVGCanvasSize(new Dimension(w, h));
        f.draw(svg);
        AtomicFiles.write(base.resolveSibling(base.getFileName() + ".svg"), o -> {
            Writer out = new OutputStreamWriter(o, StandardCharsets.UTF_8);
            svg.stream(out, true);
            out.flush();
        });
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
