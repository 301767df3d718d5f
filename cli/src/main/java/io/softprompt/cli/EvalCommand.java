package io.softprompt.cli;

import io.softprompt.data.DataSource;
import io.softprompt.data.Encoder;
import io.softprompt.data.Task;
import io.softprompt.eval.Evaluator;
import io.softprompt.eval.Metrics;
import io.softprompt.hub.ModelLocator;
import io.softprompt.infer.Ensemble;
import io.softprompt.infer.Member;
import io.softprompt.scoring.Scorer;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
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

/** softprompt eval: accuracy, macro-F1 and confusion matrix of a prompt (or an ensemble) on labelled data. */
@Command(exitCodeListHeading = ExitCodes.HEADING, exitCodeList = {ExitCodes.OK, ExitCodes.BUG, ExitCodes.BAD_INPUT},
        name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Evaluate a trained prompt on labelled data (TSV or JSON lines).",
            "Data: TSV with a header naming the task's columns, or JSON lines (.jsonl). Classification tasks report accuracy, macro-F1 and the confusion matrix; "
                + "text-to-text tasks the exact match of greedy generations.",
            "Several --prompt files of one task with --ensemble vote|mean are scored in the same batched passes."})
public final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    PromptOptions promptOptions;

    @Mixin
    PromptOptions.Fit fit;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--data", paramLabel = "FILE",
            description = "Labelled TSV, CSV or JSONL (default: the dev file the prompt was trained with, else the task's "
                    + "dev sample).")
    Path data;

    @Mixin
    DataOptions dataOptions;

    @Mixin
    ScoringOptions scoring;

    @Option(names = "--ensemble", paramLabel = "vote|mean",
            description = "Combine several --prompt files of one task: majority vote or mean probability. "
                    + "All members run in the same batched forward pass.")
    String ensemble;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (scoring.batchSize() < 1) {
            throw new UserException("--batch-size must be at least 1 (got " + scoring.batchSize() + ")");
        }
        Ensemble how = ensemble == null ? null : Ensemble.parse(ensemble);
        if (how == null && promptOptions.prompts.size() > 1) {
            throw new UserException("several --prompt files need --ensemble vote|mean");
        }
        try (PromptOptions.Session s = promptOptions.open(modelOptions, err, fit)) {
            Member first = s.first();
            DataSource src = PromptOptions.devData(first, data);
            List<Encoder.Encoded> rows = first.encoder().encodeAll(dataOptions.read(src, first.task()));
            Evaluator.Result r;
            List<Map<String, Object>> members = null;
            if (how != null) {
                Ensembles.checkOneTask(s);
                members = new ArrayList<>();
                r = ensemble(s, how, rows, members);
            } else if (first.task().textToText()) {
                r = Evaluator.exactMatch(s.model().lm(), s.model().tokenizer(), first.prompt().values(),
                        first.prompt().tokens(), first.prompt().site(), rows);
            } else {
                try (Scorer scorer = new Scorer(s.model().lm(), scoring.prefixCache())) {
                    r = Evaluator.classify(scorer, first.slot(), rows, scoring.batchSize());
                }
            }
            print(out, s, src, r, how, members);
            if (s.demo()) {
                err.println("note: " + ModelLocator.DEMO_CAVEAT);
            }
        }
        return 0;
    }

    private Evaluator.Result ensemble(PromptOptions.Session s, Ensemble how, List<Encoder.Encoded> rows,
            List<Map<String, Object>> figures) {
        List<Scorer.Slot> slots = Ensembles.slots(s);
        long t0 = System.nanoTime();
        float[][][] probs;
        try (Scorer scorer = new Scorer(s.model().lm(), scoring.prefixCache())) {
            probs = Ensemble.memberProbabilities(scorer, slots, rows, scoring.batchSize());
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        int classes = s.first().task().labels().size();
        int[] gold = new int[rows.size()];
        int[] pred = new int[rows.size()];
        int[][] memberPred = new int[slots.size()][rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            gold[i] = rows.get(i).label();
            pred[i] = how.combine(probs[i]).label();
            for (int k = 0; k < slots.size(); k++) {
                memberPred[k][i] = Scorer.argmax(probs[i][k]);
            }
        }
        for (int k = 0; k < slots.size(); k++) {
            Map<String, Object> mf = new LinkedHashMap<>();
            mf.put("prompt", s.members().get(k).source());
            mf.put("accuracy", Metrics.of(gold, memberPred[k], classes).accuracy());
            figures.add(mf);
        }
        return new Evaluator.Result(Metrics.of(gold, pred, classes), rows.size() / Math.max(secs, 1e-9), secs);
    }

    private void print(PrintWriter out, PromptOptions.Session s, DataSource src, Evaluator.Result r, Ensemble how,
            List<Map<String, Object>> members) {
        Metrics m = r.metrics();
        Task task = s.first().task();
        if (common.json) {
            Map<String, Object> j = new LinkedHashMap<>(m.toMap());
            if (how != null) {
                j.put("ensemble", how.name().toLowerCase(Locale.ROOT));
                j.put("members", members);
            }
            if (!task.textToText()) {
                j.put("labels", task.labels());
            }
            if (!task.textToText()) {
                j.put("majority_accuracy", m.majorityAccuracy());
            }
            j.put("examples_per_sec", r.examplesPerSec());
            j.put("data", src.name());
            j.put("model", s.model().name());
            out.println(Json.write(j));
            return;
        }
        out.printf(Locale.ROOT, "data        %s (%d examples)%n", src.name(), m.examples());
        if (task.textToText()) {
            out.printf(Locale.ROOT, "exact match %.4f%n", m.accuracy());
            out.printf(Locale.ROOT, "speed       %.1f examples/s%n", r.examplesPerSec());
            return;
        }
        if (how != null) {
            out.printf(Locale.ROOT, "ensemble    %s of %d prompts%n", how.name().toLowerCase(Locale.ROOT), members.size());
            for (Map<String, Object> mf : members) {
                out.printf(Locale.ROOT, "  member    %.4f  %s%n", (Double) mf.get("accuracy"), mf.get("prompt"));
            }
        }
        out.printf(Locale.ROOT, "accuracy    %.4f  (always the most frequent class: %.4f)%n", m.accuracy(),
                m.majorityAccuracy());
        out.printf(Locale.ROOT, "macro-F1    %.4f%n", m.macroF1());
        out.printf(Locale.ROOT, "speed       %.1f examples/s%n", r.examplesPerSec());
        out.println("confusion   (rows: gold, columns: predicted)");
        // each class as its label and verbalizer word ("0 (terrible)"): label ids alone say little
        List<String> labels = new java.util.ArrayList<>();
        for (int i = 0; i < task.labels().size(); i++) {
            String word = task.words().get(i).strip();
            labels.add(word.isEmpty() || word.equals(task.labels().get(i)) ? task.labels().get(i)
                    : task.labels().get(i) + " (" + word + ")");
        }
        int width = Math.max(10, labels.stream().mapToInt(String::length).max().orElse(0) + 2);
        StringBuilder head = new StringBuilder(" ".repeat(width + 4));
        for (String l : labels) {
            head.append(String.format(Locale.ROOT, "%" + width + "s", l));
        }
        out.println(head);
        for (int i = 0; i < labels.size(); i++) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%" + (width + 4) + "s", labels.get(i)));
            for (long c : m.confusion()[i]) {
                row.append(String.format(Locale.ROOT, "%" + width + "d", c));
            }
            out.println(row);
        }
    }
}
