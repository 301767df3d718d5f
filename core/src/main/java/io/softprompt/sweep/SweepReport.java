package io.softprompt.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.train.RunDir;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * softprompt report: every run folder under a sweep's output, as
 *
 * <pre>
 *   runs.csv                       one row per run: its grid values and outcome
 *   summary.md                     mean ± std over seeds of best dev accuracy per grid point
 *   accuracy-vs-length.png/.svg    best dev accuracy against prompt length, one line per
 *                                  initialisation, error bars = std over seeds (Lester et al. Fig. 3)
 *   accuracy-vs-length.csv         the plotted numbers
 *   training-curves.png/.svg/.csv  training loss against step, mean over seeds per grid point
 * </pre>
 *
 * Plots are drawn with XChart (PNG through Java2D, SVG through VectorGraphics2D).
 */
public final class SweepReport {
    /** A finished (or unfinished) run as the report sees it. */
    public record Row(String id, Map<String, JsonNode> point, JsonNode config, JsonNode outcome, List<double[]> losses) {
        public boolean finished() {
            return outcome != null;
        }

        public double accuracy() {
            return outcome == null || outcome.get("best_dev_accuracy") == null || outcome.get("best_dev_accuracy").isNull()
                    ? Double.NaN : outcome.get("best_dev_accuracy").asDouble();
        }
    }

    /** Mean, sample standard deviation and count. */
    public record Stat(double mean, double std, int n) {
        static Stat of(List<Double> v) {
            double m = v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
            double ss = 0;
            for (double x : v) {
                ss += (x - m) * (x - m);
            }
            return new Stat(m, v.size() > 1 ? Math.sqrt(ss / (v.size() - 1)) : 0.0, v.size());
        }
    }

    private SweepReport() {}

    public static List<String> gridKeys(Path runs, List<Row> rows) throws IOException {
        Path sweep = runs.resolve("sweep.json");
        if (Files.isRegularFile(sweep)) {
            List<String> keys = new ArrayList<>();
            Json.MAPPER.readTree(sweep.toFile()).path("grid").fieldNames().forEachRemaining(keys::add);
            return keys;
        }
        // no sweep.json: the keys whose values differ between runs
        Set<String> keys = new LinkedHashSet<>();
        for (Row r : rows) {
            r.config().fieldNames().forEachRemaining(k -> {
                for (Row o : rows) {
                    if (!String.valueOf(o.config().get(k)).equals(String.valueOf(r.config().get(k)))
                            && !Set.of("output", "train", "dev").contains(k)) {
                        keys.add(k);
                    }
                }
            });
        }
        return new ArrayList<>(keys);
    }

    public static List<Row> scan(Path runs) throws IOException {
        if (!Files.isDirectory(runs)) {
            throw new UserException(runs + ": not a folder");
        }
        List<Path> dirs;
        try (Stream<Path> s = Files.list(runs)) {
            dirs = s.filter(d -> Files.isRegularFile(d.resolve(RunDir.CONFIG))).sorted().toList();
        }
        if (dirs.isEmpty()) {
            throw new UserException(runs + ": holds no run folders (none has " + RunDir.CONFIG + ")");
        }
        List<Row> rows = new ArrayList<>();
        for (Path d : dirs) {
            JsonNode cfg = Json.MAPPER.readTree(d.resolve(RunDir.CONFIG).toFile());
            JsonNode fin = Files.isRegularFile(d.resolve(RunDir.FINAL)) ? Json.MAPPER.readTree(d.resolve(RunDir.FINAL).toFile()) : null;
            List<double[]> losses = new ArrayList<>();
            if (Files.isRegularFile(d.resolve(RunDir.METRICS))) {
                for (String l : Files.readAllLines(d.resolve(RunDir.METRICS))) {
                    JsonNode n = Json.MAPPER.readTree(l);
                    losses.add(new double[] {n.get("step").asDouble(), n.get("loss").asDouble()});
                }
            }
            rows.add(new Row(d.getFileName().toString(), new LinkedHashMap<>(), cfg, fin, losses));
        }
        return rows;
    }

    public static void write(Path runs, Path out) throws IOException {
        List<Row> scanned = scan(runs);
        List<String> keys = gridKeys(runs, scanned);
        List<Row> rows = new ArrayList<>();
        for (Row r : scanned) {
            Map<String, JsonNode> point = new LinkedHashMap<>();
            for (String k : keys) {
                point.put(k, r.config().get(k));
            }
            rows.add(new Row(r.id(), point, r.config(), r.outcome(), r.losses()));
        }
        Files.createDirectories(out);
        String model = rows.get(0).config().path("model").asText("?");
        boolean random = randomWeights(model);
        List<String> groupKeys = keys.stream().filter(k -> !k.equals("seed")).toList();

        // ---- runs.csv ----
        StringBuilder csv = new StringBuilder("run");
        for (String k : keys) {
            csv.append(',').append(k);
        }
        csv.append(",finished,best_dev_accuracy,best_dev_macro_f1,best_step,steps,stopped_early,final_loss,"
                + "train_examples_per_sec,wall_seconds,model\n");
        for (Row r : rows) {
            csv.append(csvCell(r.id()));
            for (String k : keys) {
                csv.append(',').append(csvCell(text(r.point().get(k))));
            }
            JsonNode f = r.outcome();
            csv.append(',').append(r.finished());
            for (String k : List.of("best_dev_accuracy", "best_dev_macro_f1", "best_step", "steps", "stopped_early",
                    "final_loss", "train_examples_per_sec", "wall_seconds")) {
                csv.append(',').append(f == null || f.get(k) == null || f.get(k).isNull() ? "" : f.get(k).asText());
            }
            csv.append(',').append(csvCell(r.config().path("model").asText(""))).append('\n');
        }
        AtomicFiles.writeString(out.resolve("runs.csv"), csv.toString());

        // ---- summary.md: mean ± std over seeds ----
        Map<String, List<Row>> groups = new TreeMap<>(SweepReport::naturalCompare);
        for (Row r : rows) {
            groups.computeIfAbsent(groupName(r, groupKeys), g -> new ArrayList<>()).add(r);
        }
        StringBuilder md = new StringBuilder("# Sweep report\n\n");
        md.append("Runs: ").append(rows.size()).append(" in `").append(runs).append("` (")
                .append(rows.stream().filter(Row::finished).count()).append(" finished). Model: `").append(model).append("`");
        md.append(random ? " — **random weights: the accuracies are noise, this shows the pipeline, not prompt tuning**.\n\n"
                : ".\n\n");
        md.append("| ");
        for (String k : groupKeys) {
            md.append(k).append(" | ");
        }
        md.append("seeds | best dev accuracy (mean ± std) |\n|");
        md.append("---|".repeat(groupKeys.size() + 2)).append('\n');
        for (List<Row> g : groups.values()) {
            Stat st = Stat.of(g.stream().filter(Row::finished).map(Row::accuracy).filter(d -> !d.isNaN()).toList());
            md.append("| ");
            for (String k : groupKeys) {
                md.append(text(g.get(0).point().get(k))).append(" | ");
            }
            md.append(st.n()).append(" | ").append(st.n() == 0 ? "—" : String.format(Locale.ROOT, "%.4f ± %.4f", st.mean(), st.std()))
                    .append(" |\n");
        }
        List<String> unfinished = rows.stream().filter(r -> !r.finished()).map(Row::id).toList();
        if (!unfinished.isEmpty()) {
            md.append("\nUnfinished runs (not in the means): ").append(String.join(", ", unfinished)).append('\n');
        }

        // ---- accuracy against prompt length, one line per initialisation ----
        if (keys.contains("tokens")) {
            List<String> seriesKeys = groupKeys.stream().filter(k -> !k.equals("tokens")).toList();
            Map<String, TreeMap<Double, List<Double>>> series = new TreeMap<>(SweepReport::naturalCompare);
            for (Row r : rows) {
                if (!r.finished() || Double.isNaN(r.accuracy())) {
                    continue;
                }
                String name = seriesKeys.isEmpty() ? "all" : groupName(r, seriesKeys);
                series.computeIfAbsent(name, s -> new TreeMap<>())
                        .computeIfAbsent(r.point().get("tokens").asDouble(), t -> new ArrayList<>()).add(r.accuracy());
            }
            XYChart chart = new XYChartBuilder().width(800).height(500).title("Best dev accuracy by prompt length"
                    + (random ? " (random-weight model)" : "")).xAxisTitle("prompt length (tokens)").yAxisTitle("best dev accuracy")
                    .build();
            style(chart);
            StringBuilder data = new StringBuilder("series,tokens,mean,std,n\n");
            double min = Double.MAX_VALUE;
            double max = 0;
            for (var e : series.entrySet()) {
                int n = e.getValue().size();
                double[] x = new double[n];
                double[] y = new double[n];
                double[] err = new double[n];
                int i = 0;
                for (var p : e.getValue().entrySet()) {
                    Stat st = Stat.of(p.getValue());
                    x[i] = p.getKey();
                    y[i] = st.mean();
                    err[i] = st.std();
                    min = Math.min(min, x[i]);
                    max = Math.max(max, x[i]);
                    data.append(csvCell(e.getKey())).append(',').append(fmt(x[i])).append(',').append(st.mean()).append(',')
                            .append(st.std()).append(',').append(st.n()).append('\n');
                    i++;
                }
                chart.addSeries(e.getKey(), x, y, err).setMarker(SeriesMarkers.CIRCLE);
            }
            chart.getStyler().setXAxisLogarithmic(max / Math.max(min, 1e-9) >= 10);
            saveChart(chart, out.resolve("accuracy-vs-length"));
            AtomicFiles.writeString(out.resolve("accuracy-vs-length.csv"), data.toString());
            md.append("\n![accuracy against prompt length](accuracy-vs-length.png)\n");
        } else {
            md.append("\n(no `tokens` in the grid: no accuracy-against-length plot)\n");
        }

        // ---- training curves: loss against step, mean over seeds ----
        XYChart curves = new XYChartBuilder().width(800).height(500).title("Training loss (mean over seeds)")
                .xAxisTitle("step").yAxisTitle("loss").build();
        style(curves);
        StringBuilder cdata = new StringBuilder("series,step,mean_loss,n\n");
        for (var g : groups.entrySet()) {
            TreeMap<Double, List<Double>> byStep = new TreeMap<>();
            for (Row r : g.getValue()) {
                for (double[] p : r.losses()) {
                    byStep.computeIfAbsent(p[0], s -> new ArrayList<>()).add(p[1]);
                }
            }
            if (byStep.isEmpty()) {
                continue;
            }
            double[] x = new double[byStep.size()];
            double[] y = new double[byStep.size()];
            int i = 0;
            for (var p : byStep.entrySet()) {
                Stat st = Stat.of(p.getValue());
                x[i] = p.getKey();
                y[i++] = st.mean();
                cdata.append(csvCell(g.getKey())).append(',').append(fmt(p.getKey())).append(',').append(st.mean()).append(',')
                        .append(st.n()).append('\n');
            }
            curves.addSeries(g.getKey(), x, y).setMarker(SeriesMarkers.NONE);
        }
        if (!curves.getSeriesMap().isEmpty()) {
            saveChart(curves, out.resolve("training-curves"));
            AtomicFiles.writeString(out.resolve("training-curves.csv"), cdata.toString());
            md.append("\n![training curves](training-curves.png)\n");
        }
        AtomicFiles.writeString(out.resolve("summary.md"), md.toString());
    }

    private static void style(XYChart c) {
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        c.getStyler().setErrorBarsColorSeriesColor(true);
        c.getStyler().setMarkerSize(6);
    }

    private static void saveChart(XYChart chart, Path base) throws IOException {
        byte[] png = BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        AtomicFiles.write(base.resolveSibling(base.getFileName() + ".png"), o -> o.write(png));
        ByteArrayOutputStream svg = new ByteArrayOutputStream();
        VectorGraphicsEncoder.saveVectorGraphic(chart, svg, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
        AtomicFiles.write(base.resolveSibling(base.getFileName() + ".svg"), o -> o.write(svg.toByteArray()));
    }

    /** Whether the run's model folder says its weights are random (our benchmark models do). */
    static boolean randomWeights(String model) {
        Path cfg = Path.of(model).resolve("config.json");
        if (model.equals("softprompt-demo") || model.equals("demo")) {
            return true;
        }
        try {
            return Files.isRegularFile(cfg) && Json.MAPPER.readTree(cfg.toFile()).path("random_weights").asBoolean(false);
        } catch (IOException e) {
            return false;
        }
    }

    static String groupName(Row r, List<String> keys) {
        if (keys.isEmpty()) {
            return "all";
        }
        StringBuilder sb = new StringBuilder();
        for (String k : keys) {
            if (sb.length() > 0) {
                sb.append(", ");
            }
            sb.append(k).append('=').append(text(r.point().get(k)));
        }
        return sb.toString();
    }

    static String text(JsonNode n) {
        return n == null || n.isNull() ? "" : n.isTextual() ? n.asText() : n.toString();
    }

    static String fmt(double x) {
        return x == Math.rint(x) ? Long.toString((long) x) : Double.toString(x);
    }

    static String csvCell(String s) {
        return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }

    /** Orders "tokens=5" before "tokens=20". */
    static int naturalCompare(String a, String b) {
        Iterator<String> x = List.of(a.split("(?<=\\D)(?=\\d)|(?<=\\d)(?=\\D)")).iterator();
        Iterator<String> y = List.of(b.split("(?<=\\D)(?=\\d)|(?<=\\d)(?=\\D)")).iterator();
        while (x.hasNext() && y.hasNext()) {
            String p = x.next();
            String q = y.next();
            int c = p.chars().allMatch(Character::isDigit) && q.chars().allMatch(Character::isDigit)
                    ? new BigInteger(p).compareTo(new BigInteger(q)) : p.compareTo(q);
            if (c != 0) {
                return c;
            }
        }
        return Boolean.compare(x.hasNext(), y.hasNext());
    }
}
