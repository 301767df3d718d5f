package io.softprompt.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.train.RunDir;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Outputs;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
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
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * softprompt report: every run folder under a folder (a sweep's output, or run folders made any
 * other way), as
 *
 * <pre>
 *   runs.csv                       one row per run: its grid values and outcome
 *   summary.md                     per setting, mean ± std over seeds of initial and best dev accuracy
 *   accuracy-vs-length.png/.svg    best dev accuracy against prompt length, a line per value of the other
 *                                  varying keys (initialisation, say), error bars = std over seeds, the
 *                                  majority-class baseline as a line (Lester et al. Fig. 3)
 *   accuracy-vs-length.csv         the plotted numbers
 *   training-curves.png/.svg/.csv  training loss (EMA-smoothed) and dev accuracy against step, side by
 *                                  side, mean over seeds per group
 * </pre>
 *
 * Which runs are seeds of one point: runs are first split into settings by what they were trained on
 * (model, task, train and dev data): runs of different settings are never pooled. Within a setting
 * runs are grouped by the keys that vary between them and are grid keys of a sweep (sweep.json, or
 * each run's sweep-run.json); without any sweep record, by the varying training keys, never by paths
 * (output, data, model), derived values (a warmup that is 10% of steps) or bookkeeping
 * (checkpoint_every, log_every). What remains to tell runs of a group apart is the seed.
 */
public final class SweepReport {
    /** Keys that name what was trained on: runs differing in them are different settings, never seeds of one point. */
    static final List<String> IDENTITY = List.of("model", "task", "train", "dev");
    /** Keys that never group runs: the output, bookkeeping that cannot change the result, the seed. */
    static final Set<String> NOT_GROUPING = Set.of("output", "seed", "checkpoint_every", "log_every", "eval_batch_size",
            "pad_to");
    /** The smoothing of the plotted training loss: an exponential moving average over logged points. */
    static final double EMA = 0.9;

    /** A run as the report sees it: its folder name, config, final.json (null: unfinished), logged points. */
    public record Row(String id, JsonNode config, JsonNode outcome, List<double[]> losses, List<double[]> devAccuracy,
            Set<String> gridKeys, Map<String, JsonNode> point) {
        public boolean finished() {
            return outcome != null;
        }

        public double accuracy() {
            return value("best_dev_accuracy");
        }

        public double initialAccuracy() {
            return value("initial_dev_accuracy");
        }

        public double majority() {
            return value("dev_majority_accuracy");
        }

        double value(String key) {
            return outcome == null || outcome.get(key) == null || outcome.get(key).isNull() ? Double.NaN
                    : outcome.get(key).asDouble();
        }

        Row at(Map<String, JsonNode> p) {
            return new Row(id, config, outcome, losses, devAccuracy, gridKeys, p);
        }

        /** The run's setting: what it was trained on. */
        String setting() {
            StringBuilder sb = new StringBuilder();
            for (String k : IDENTITY) {
                sb.append(k).append('=').append(text(config.get(k))).append('\n');
            }
            return sb.toString();
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

    /** The runs of one setting, the keys that group them, and the groups (name → runs) in natural order. */
    public record Setting(String label, List<Row> rows, List<String> keys, Map<String, List<Row>> groups) {
        /** The dev majority-class accuracy of this setting's data (NaN when no run recorded it). */
        double majority() {
            return rows.stream().mapToDouble(Row::majority).filter(d -> !Double.isNaN(d)).max().orElse(Double.NaN);
        }

        /** What every plot's caption says: the model, the task, the steps. */
        String caption() {
            JsonNode c = rows.get(0).config();
            Set<String> steps = new LinkedHashSet<>();
            rows.forEach(r -> steps.add(text(r.config().get("steps"))));
            return shortName(text(c.get("model"))) + ", " + shortName(text(c.get("task"))) + ", " + String.join("/", steps)
                    + " steps";
        }
    }

    /** What a report wrote. */
    public record Summary(int runs, int settings, List<String> files) {}

    private SweepReport() {}

    /** The names a report wrote before reports carried a manifest (what --force may replace in such a folder). */
    static final Set<String> LEGACY_FILES = legacyFiles();

    private static Set<String> legacyFiles() {
        Set<String> names = new LinkedHashSet<>(List.of("summary.md", "runs.csv"));
        for (String base : List.of("accuracy-vs-length", "training-curves")) {
            for (int i = 0; i <= 9; i++) {
                for (String ext : List.of(".png", ".svg", ".csv")) {
                    names.add(base + (i == 0 ? "" : "-" + i) + ext);
                }
            }
        }
        return Set.copyOf(names);
    }

    /**
     * Writes the report of the runs under {@code runs} as the folder {@code out}, through
     * {@link Outputs#folder}: built beside it and swapped in whole; an existing report folder is
     * replaced only with force, and never a folder holding files the report did not write.
     */
    public static Summary write(Path runs, Path out, boolean force) {
        Outputs.checkFolder("--out", out, force, LEGACY_FILES);
        List<Setting> settings;
        try {
            settings = settings(scan(runs));
        } catch (IOException e) {
            throw new UserException(runs + ": cannot read: " + AtomicFiles.reason(e));
        }
        Summary[] done = new Summary[1];
        Outputs.folder("--out", out, force, LEGACY_FILES, stage -> done[0] = write(runs, settings, stage));
        return done[0];
    }

    private static Summary write(Path runs, List<Setting> settings, Path out) throws IOException {
        List<String> files = new ArrayList<>();
        List<Row> all = settings.stream().flatMap(s -> s.rows().stream()).toList();
        writeCsv(out, settings, files);
        StringBuilder md = new StringBuilder("# Sweep report\n\n");
        md.append("Runs: ").append(all.size()).append(" in `").append(runs).append("` (")
                .append(all.stream().filter(Row::finished).count()).append(" finished)");
        md.append(settings.size() > 1 ? "; " + settings.size() + " settings (different models or data: never pooled)" : "")
                .append(".\n");
        for (int i = 0; i < settings.size(); i++) {
            Setting s = settings.get(i);
            String suffix = settings.size() == 1 ? "" : "-" + (i + 1);
            summarize(md, s, settings.size() > 1 ? "## Setting " + (i + 1) + ": " + s.label() : null);
            if (s.keys().contains("tokens")) {
                String name = "accuracy-vs-length" + suffix;
                ReportPlots.accuracyVsLength(s, out.resolve(name));
                files.addAll(List.of(name + ".png", name + ".svg", name + ".csv"));
                md.append("\n![accuracy against prompt length](").append(name).append(".png)\n");
            } else {
                md.append("\n(no `tokens` among the keys that vary: no accuracy-against-length plot)\n");
            }
            String curves = "training-curves" + suffix;
            if (ReportPlots.trainingCurves(s, out.resolve(curves))) {
                files.addAll(List.of(curves + ".png", curves + ".svg", curves + ".csv"));
                md.append("\n![training curves](").append(curves).append(".png)\n\nLoss smoothed with an exponential "
                        + "moving average (weight ").append(EMA).append(" on the past) over the logged steps; dev accuracy "
                        + "at each evaluation, step 0 the initial prompt; both the mean over seeds.\n");
            }
        }
        AtomicFiles.writeString(out.resolve("summary.md"), md.toString());
        files.add(0, "summary.md");
        return new Summary(all.size(), settings.size(), files);
    }

    private static void summarize(StringBuilder md, Setting s, String heading) {
        if (heading != null) {
            md.append('\n').append(heading).append('\n');
        }
        double majority = s.majority();
        md.append("\nModel, task, data: ").append(s.label().replace("\n", "; ")).append(". ");
        md.append(Double.isNaN(majority) ? "" : String.format(Locale.ROOT, "Dev majority class: %.4f. ", majority));
        if (ReportPlots.randomWeights(text(s.rows().get(0).config().get("model")))) {
            md.append("**Random weights: the accuracies are noise; this shows the pipeline, not prompt tuning.**");
        }
        md.append("\n\n| ");
        for (String k : s.keys()) {
            md.append(k).append(" | ");
        }
        md.append("seeds | best dev accuracy (mean ± std) | initial dev accuracy (mean ± std) |\n|");
        md.append("---|".repeat(s.keys().size() + 3)).append('\n');
        for (List<Row> g : s.groups().values()) {
            List<Row> done = g.stream().filter(Row::finished).toList();
            Stat best = Stat.of(done.stream().map(Row::accuracy).filter(d -> !d.isNaN()).toList());
            Stat init = Stat.of(done.stream().map(Row::initialAccuracy).filter(d -> !d.isNaN()).toList());
            md.append("| ");
            for (String k : s.keys()) {
                md.append(text(g.get(0).point().get(k))).append(" | ");
            }
            md.append(best.n()).append(" | ").append(best.n() == 0 ? "—" : String.format(Locale.ROOT, "%.4f ± %.4f", best.mean(),
                    best.std())).append(" | ").append(init.n() == 0 ? "—" : String.format(Locale.ROOT, "%.4f ± %.4f", init.mean(),
                    init.std())).append(" |\n");
        }
        List<String> unfinished = s.rows().stream().filter(r -> !r.finished()).map(Row::id).toList();
        if (!unfinished.isEmpty()) {
            md.append("\nUnfinished runs (not in the means): ").append(String.join(", ", unfinished)).append('\n');
        }
    }

    private static void writeCsv(Path out, List<Setting> settings, List<String> files) throws IOException {
        Set<String> keys = new LinkedHashSet<>();
        settings.forEach(s -> keys.addAll(s.keys()));
        StringBuilder csv = new StringBuilder("run");
        for (String k : keys) {
            csv.append(',').append(k);
        }
        csv.append(",seed,setting,finished,best_dev_accuracy,best_dev_macro_f1,initial_dev_accuracy,dev_majority_accuracy,"
                + "best_step,steps,stopped_early,final_loss,train_examples_per_sec,wall_seconds,model\n");
        for (int i = 0; i < settings.size(); i++) {
            for (Row r : settings.get(i).rows()) {
                csv.append(csvCell(r.id()));
                for (String k : keys) {
                    csv.append(',').append(csvCell(text(r.config().get(k))));
                }
                csv.append(',').append(text(r.config().get("seed"))).append(',').append(i + 1).append(',').append(r.finished());
                JsonNode f = r.outcome();
                for (String k : List.of("best_dev_accuracy", "best_dev_macro_f1", "initial_dev_accuracy",
                        "dev_majority_accuracy", "best_step", "steps", "stopped_early", "final_loss", "train_examples_per_sec",
                        "wall_seconds")) {
                    csv.append(',').append(f == null || f.get(k) == null || f.get(k).isNull() ? "" : f.get(k).asText());
                }
                csv.append(',').append(csvCell(text(r.config().get("model")))).append('\n');
            }
        }
        AtomicFiles.writeString(out.resolve("runs.csv"), csv.toString());
        files.add("runs.csv");
    }

    /** Every run folder (holding config.json) directly under runs, sorted by name. */
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
        Set<String> sweepGrid = new LinkedHashSet<>();
        Path sweep = runs.resolve("sweep.json");
        if (Files.isRegularFile(sweep)) {
            Json.MAPPER.readTree(sweep.toFile()).path("grid").fieldNames().forEachRemaining(sweepGrid::add);
        }
        List<Row> rows = new ArrayList<>();
        for (Path d : dirs) {
            JsonNode cfg = Json.MAPPER.readTree(d.resolve(RunDir.CONFIG).toFile());
            JsonNode fin = Files.isRegularFile(d.resolve(RunDir.FINAL)) ? Json.MAPPER.readTree(d.resolve(RunDir.FINAL).toFile())
                    : null;
            List<double[]> losses = new ArrayList<>();
            List<double[]> dev = new ArrayList<>();
            if (fin != null && fin.hasNonNull("initial_dev_accuracy")) {
                dev.add(new double[] {0, fin.get("initial_dev_accuracy").asDouble()});
            }
            if (Files.isRegularFile(d.resolve(RunDir.METRICS))) {
                for (String l : Files.readAllLines(d.resolve(RunDir.METRICS))) {
                    JsonNode n;
                    try {
                        n = Json.MAPPER.readTree(l);
                    } catch (IOException torn) {
                        continue; // a line cut by a kill
                    }
                    if (n.hasNonNull("loss")) {
                        losses.add(new double[] {n.get("step").asDouble(), n.get("loss").asDouble()});
                    }
                    if (n.has("dev") && n.get("dev").hasNonNull("accuracy")) {
                        dev.add(new double[] {n.get("step").asDouble(), n.get("dev").get("accuracy").asDouble()});
                    }
                }
            }
            Set<String> grid = new LinkedHashSet<>(sweepGrid);
            Path record = d.resolve(SweepRunner.RUN_RECORD);
            if (Files.isRegularFile(record)) {
                Json.MAPPER.readTree(record.toFile()).path("grid").forEach(k -> grid.add(k.asText()));
            }
            rows.add(new Row(d.getFileName().toString(), cfg, fin, losses, dev, grid, Map.of()));
        }
        return rows;
    }

    /** Runs split by what they were trained on, each setting's grouping keys and groups. */
    public static List<Setting> settings(List<Row> rows) {
        Map<String, List<Row>> bySetting = new LinkedHashMap<>();
        for (Row r : rows) {
            bySetting.computeIfAbsent(r.setting(), k -> new ArrayList<>()).add(r);
        }
        List<Setting> out = new ArrayList<>();
        for (Map.Entry<String, List<Row>> e : bySetting.entrySet()) {
            List<Row> rs = e.getValue();
            List<String> keys = groupingKeys(rs);
            Map<String, List<Row>> groups = new TreeMap<>(SweepReport::naturalCompare);
            List<Row> withPoints = new ArrayList<>();
            for (Row r : rs) {
                Map<String, JsonNode> point = new LinkedHashMap<>();
                for (String k : keys) {
                    point.put(k, r.config().get(k));
                }
                Row p = r.at(point);
                withPoints.add(p);
                groups.computeIfAbsent(groupName(p, keys), g -> new ArrayList<>()).add(p);
            }
            out.add(new Setting(label(rs.get(0)), withPoints, keys, groups));
        }
        out.sort((a, b) -> Integer.compare(b.rows().size(), a.rows().size())); // the main body of runs first
        return out;
    }

    /**
     * The keys that group a setting's runs: grid keys of a sweep when any run has a sweep record,
     * else every training key; in both cases only those whose values differ between the runs, never
     * the setting's identity, paths, bookkeeping, the seed, or a warmup that is just 10% of the steps.
     */
    static List<String> groupingKeys(List<Row> rows) {
        Set<String> grid = new LinkedHashSet<>();
        rows.forEach(r -> grid.addAll(r.gridKeys()));
        Set<String> candidates = new LinkedHashSet<>();
        if (!grid.isEmpty()) {
            candidates.addAll(grid);
        } else {
            rows.forEach(r -> r.config().fieldNames().forEachRemaining(candidates::add));
        }
        candidates.removeAll(IDENTITY);
        candidates.removeAll(NOT_GROUPING);
        if (grid.isEmpty() && rows.stream().allMatch(r -> r.config().path("warmup").asInt(-1)
                == r.config().path("steps").asInt(-2) / 10)) {
            candidates.remove("warmup"); // derived from steps, not chosen
        }
        List<String> keys = new ArrayList<>();
        for (String k : candidates) {
            Set<String> values = new LinkedHashSet<>();
            rows.forEach(r -> values.add(Objects.toString(r.config().get(k))));
            if (values.size() > 1) {
                keys.add(k);
            }
        }
        if (grid.isEmpty()) {
            // a key the others determine is derived (max_length from tokens, warmup from steps): it groups nothing
            for (int i = keys.size() - 1; i >= 0; i--) {
                List<String> others = new ArrayList<>(keys);
                others.remove(i);
                if (!others.isEmpty() && combinations(rows, others) == combinations(rows, keys)) {
                    keys.remove(i);
                }
            }
        }
        return keys;
    }

    private static int combinations(List<Row> rows, List<String> keys) {
        Set<String> seen = new LinkedHashSet<>();
        for (Row r : rows) {
            StringBuilder sb = new StringBuilder();
            keys.forEach(k -> sb.append(Objects.toString(r.config().get(k))).append('\u0000'));
            seen.add(sb.toString());
        }
        return seen.size();
    }

    private static String label(Row r) {
        List<String> parts = new ArrayList<>();
        for (String k : IDENTITY) {
            String v = text(r.config().get(k));
            parts.add(k + " " + (v.isEmpty() ? "(built-in)" : shortName(v)));
        }
        return String.join(", ", parts);
    }

    /** A path's last element (without .json/.tsv), a name as it is. */
    static String shortName(String v) {
        if (v == null || v.isEmpty()) {
            return "";
        }
        String s = Path.of(v).getFileName() == null ? v : Path.of(v).getFileName().toString();
        return s.replaceFirst("\\.(json|tsv|jsonl)$", "");
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
        return s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
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
