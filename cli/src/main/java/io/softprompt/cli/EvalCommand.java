package io.softprompt.cli;

import io.softprompt.data.DataSource;
import io.softprompt.data.Encoder;
import io.softprompt.data.TsvReader;
import io.softprompt.eval.Evaluator;
import io.softprompt.eval.Metrics;
import io.softprompt.infer.Predictor;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** softprompt eval: accuracy, macro-F1 and confusion matrix of a prompt on labelled data. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Evaluate a trained prompt on labelled data (TSV with the task's columns).")
public final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    PromptOptions promptOptions;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--data", paramLabel = "FILE",
            description = "Labelled TSV (default: the dev file the prompt was trained with, else the task's dev sample).")
    Path data;

    @Option(names = "--batch-size", defaultValue = "32", paramLabel = "B", description = "Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--ensemble", paramLabel = "vote|mean",
            description = "Combine several --prompt files of one task: majority vote or mean probability. "
                    + "All members run in the same batched forward pass.")
    String ensemble;

    /** The dev file recorded in the prompt's training config, when it still exists. */
    private static DataSource trainedDev(io.softprompt.prompt.SoftPrompt sp) {
        String cfg = sp.meta(io.softprompt.prompt.PromptFile.TRAIN_CONFIG);
        if (cfg == null) {
            return null;
        }
        try {
            var dev = Json.MAPPER.readTree(cfg).get("dev");
            if (dev != null && dev.isTextual() && java.nio.file.Files.isRegularFile(Path.of(dev.asText()))) {
                return DataSource.file(Path.of(dev.asText()));
            }
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
        return null;
    }

    /** The dev data of a built-in (or ./configs) task of that name, or null. */
    private static DataSource builtInDev(String taskName) {
        try {
            return io.softprompt.data.Task.resolve(taskName).defaultData(false);
        } catch (UserException e) {
            return null;
        }
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (batchSize < 1) {
            throw new UserException("--batch-size must be at least 1 (got " + batchSize + ")");
        }
        io.softprompt.infer.Ensemble how = ensemble == null ? null : io.softprompt.infer.Ensemble.parse(ensemble);
        if (how == null && promptOptions.prompts.size() > 1) {
            throw new UserException("several --prompt files need --ensemble vote|mean");
        }
        try (PromptOptions.Session s = promptOptions.open(modelOptions, err)) {
            DataSource src = data != null ? DataSource.file(data) : trainedDev(s.prompt());
            if (src == null) {
                src = builtInDev(s.task().name());
            }
            if (src == null) {
                throw new UserException("--data: the prompt's task names no dev data; pass --data FILE");
            }
            List<Encoder.Encoded> rows = s.encoder().encodeAll(TsvReader.read(src, s.task(), true));
            Evaluator.Result r;
            List<Map<String, Object>> memberFigures = null;
            if (how != null) {
                Ensembles.checkOneTask(s);
                List<io.softprompt.infer.BatchScorer.Slot> slots = Ensembles.slots(s);
                io.softprompt.infer.BatchScorer scorer = new io.softprompt.infer.BatchScorer(s.model().lm());
                long t0 = System.nanoTime();
                float[][][] probs = io.softprompt.infer.Ensemble.memberProbabilities(scorer, slots, rows, batchSize);
                double secs = (System.nanoTime() - t0) / 1e9;
                int classes = s.task().labels().size();
                int[] gold = new int[rows.size()];
                int[] pred = new int[rows.size()];
                int[][] memberPred = new int[slots.size()][rows.size()];
                for (int i = 0; i < rows.size(); i++) {
                    gold[i] = rows.get(i).label();
                    pred[i] = how.combine(probs[i]).label();
                    for (int k = 0; k < slots.size(); k++) {
                        memberPred[k][i] = Predictor.argmax(probs[i][k]);
                    }
                }
                r = new Evaluator.Result(Metrics.of(gold, pred, classes), rows.size() / Math.max(secs, 1e-9), secs);
                memberFigures = new java.util.ArrayList<>();
                for (int k = 0; k < slots.size(); k++) {
                    Map<String, Object> mf = new LinkedHashMap<>();
                    mf.put("prompt", s.members().get(k).file().toString());
                    mf.put("accuracy", Metrics.of(gold, memberPred[k], classes).accuracy());
                    memberFigures.add(mf);
                }
            } else if (s.task().textToText()) {
                r = Evaluator.exactMatch(s.model().lm(), s.model().tokenizer(), s.prompt().values(), s.prompt().tokens(), rows);
            } else {
                Predictor predictor = new Predictor(s.model().lm(), s.encoder().labels(), batchSize);
                r = Evaluator.evaluate(predictor, s.prompt().values(), s.prompt().tokens(), rows, s.task().labels().size());
            }
            Metrics m = r.metrics();
            if (common.json) {
                Map<String, Object> j = new LinkedHashMap<>(m.toMap());
                if (how != null) {
                    j.put("ensemble", how.name().toLowerCase(Locale.ROOT));
                    j.put("members", memberFigures);
                }
                if (!s.task().textToText()) {
                    j.put("labels", s.task().labels());
                }
                j.put("examples_per_sec", r.examplesPerSec());
                j.put("data", src.name());
                j.put("model", s.model().name());
                out.println(Json.write(j));
            } else if (s.task().textToText()) {
                out.printf(Locale.ROOT, "data        %s (%d examples)%n", src.name(), m.examples());
                out.printf(Locale.ROOT, "exact match %.4f%n", m.accuracy());
                out.printf(Locale.ROOT, "speed       %.1f examples/s%n", r.examplesPerSec());
            } else {
                out.printf(Locale.ROOT, "data        %s (%d examples)%n", src.name(), m.examples());
                if (how != null) {
                    out.printf(Locale.ROOT, "ensemble    %s of %d prompts%n", how.name().toLowerCase(Locale.ROOT), memberFigures.size());
                    for (Map<String, Object> mf : memberFigures) {
                        out.printf(Locale.ROOT, "  member    %.4f  %s%n", (Double) mf.get("accuracy"), mf.get("prompt"));
                    }
                }
                out.printf(Locale.ROOT, "accuracy    %.4f%n", m.accuracy());
                out.printf(Locale.ROOT, "macro-F1    %.4f%n", m.macroF1());
                out.printf(Locale.ROOT, "speed       %.1f examples/s%n", r.examplesPerSec());
                out.println("confusion   (rows: gold, columns: predicted)");
                List<String> labels = s.task().labels();
                StringBuilder head = new StringBuilder(String.format("%14s", ""));
                for (String l : labels) {
                    head.append(String.format("%10s", l));
                }
                out.println(head);
                for (int i = 0; i < labels.size(); i++) {
                    StringBuilder row = new StringBuilder(String.format("%14s", labels.get(i)));
                    for (long c : m.confusion()[i]) {
                        row.append(String.format("%10d", c));
                    }
                    out.println(row);
                }
            }
            if (s.demo()) {
                err.println("note: demo model (random weights): the accuracy means nothing");
            }
        }
        return 0;
    }
}
