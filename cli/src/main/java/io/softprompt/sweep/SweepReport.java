package io.softprompt.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Outputs;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

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
                sb.append(k).append('=').append(SweepRuns.text(config.get(k))).append('\n');
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

        /**
         * The training loss of guessing: ln C when every run trains a C-class task with the verbalizer
         * objective (the loss over the label words); NaN otherwise (lm objective, text-to-text, a task
         * that no longer loads).
         */
        double chanceLoss() {
            double chance = Double.NaN;
            for (Row r : rows) {
                String objective = SweepRuns.text(r.config().get("objective"));
                if (!objective.isEmpty() && !objective.equals("verbalizer") && !objective.equals("null")) {
                    return Double.NaN;
                }
                try {
                    io.softprompt.data.Task t = io.softprompt.data.Task.resolve(SweepRuns.text(r.config().get("task")));
                    if (t.textToText()) {
                        return Double.NaN;
                    }
                    double c = Math.log(t.labels().size());
                    if (!Double.isNaN(chance) && chance != c) {
                        return Double.NaN;
                    }
                    chance = c;
                } catch (RuntimeException e) {
                    return Double.NaN;
                }
            }
            return chance;
        }

        /** What every plot's caption says: the model, the task, the steps. */
        String caption() {
            JsonNode c = rows.get(0).config();
            Set<String> steps = new LinkedHashSet<>();
            rows.forEach(r -> steps.add(SweepRuns.text(r.config().get("steps"))));
            return SweepRuns.shortName(SweepRuns.text(c.get("model"))) + ", " + SweepRuns.shortName(SweepRuns.text(c.get("task")))
                    + ", " + String.join("/", steps)
                    + " steps";
        }
    }

    /** What a report wrote. */
    public record Summary(int runs, int settings, List<String> files) {}

    private SweepReport() {}

    /** The names a report wrote before reports carried a manifest (what --force may replace in such a folder). */
    static final Set<String> LEGACY_FILES = legacyFiles();
    /** An older report folder: its summary and table were always written. */
    static final Outputs.Legacy LEGACY = new Outputs.Legacy(LEGACY_FILES, Set.of("summary.md", "runs.csv"));

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
        Outputs.checkFolder("--out", out, force, LEGACY);
        List<Setting> settings;
        try {
            settings = SweepRuns.settings(SweepRuns.scan(runs));
        } catch (IOException e) {
            throw new UserException(runs + ": cannot read: " + AtomicFiles.reason(e));
        }
        Summary[] done = new Summary[1];
        Outputs.folder("--out", out, force, LEGACY, stage -> done[0] = write(runs, settings, stage));
        return done[0];
    }

    private static Summary write(Path runs, List<Setting> settings, Path out) throws IOException {
        List<String> files = new ArrayList<>();
        List<Row> all = settings.stream().flatMap(s -> s.rows().stream()).toList();
        writeCsv(out, settings, files);
        StringBuilder md = new StringBuilder(all.size() == 1 ? "# Run report\n\n" : "# Sweep report\n\n");
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
                boolean oneRunEach = s.groups().values().stream().allMatch(g -> g.size() == 1);
                md.append("\n![training curves](").append(curves).append(".png)\n\nLoss smoothed with an exponential "
                        + "moving average (weight ").append(EMA).append(" on the past) over the logged steps; dev accuracy "
                        + "at each evaluation, step 0 the initial prompt; ").append(oneRunEach ? "one run per line"
                        : "both the mean over seeds").append(".\n");
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
        if (ReportPlots.randomWeights(SweepRuns.text(s.rows().get(0).config().get("model")))) {
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
                md.append(SweepRuns.text(g.get(0).point().get(k))).append(" | ");
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
                csv.append(SweepRuns.csvCell(r.id()));
                for (String k : keys) {
                    csv.append(',').append(SweepRuns.csvCell(SweepRuns.text(r.config().get(k))));
                }
                csv.append(',').append(SweepRuns.text(r.config().get("seed"))).append(',').append(i + 1).append(',').append(r.finished());
                JsonNode f = r.outcome();
                for (String k : List.of("best_dev_accuracy", "best_dev_macro_f1", "initial_dev_accuracy",
                        "dev_majority_accuracy", "best_step", "steps", "stopped_early", "final_loss", "train_examples_per_sec",
                        "wall_seconds")) {
                    csv.append(',').append(f == null || f.get(k) == null || f.get(k).isNull() ? "" : f.get(k).asText());
                }
                csv.append(',').append(SweepRuns.csvCell(SweepRuns.text(r.config().get("model")))).append('\n');
            }
        }
        AtomicFiles.writeString(out.resolve("runs.csv"), csv.toString());
        files.add("runs.csv");
    }
}
