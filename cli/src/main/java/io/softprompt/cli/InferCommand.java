package io.softprompt.cli;

import io.softprompt.data.Encoder;
import io.softprompt.data.Lines;
import io.softprompt.infer.Ensemble;
import io.softprompt.infer.Member;
import io.softprompt.scoring.Decoding;
import io.softprompt.scoring.Generator;
import io.softprompt.scoring.Scorer;
import io.softprompt.util.Json;
import io.softprompt.util.Startup;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.io.InputStream;
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
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** softprompt infer: the label and class probabilities of each input, or its generated continuation. */
@Command(exitCodeListHeading = ExitCodes.HEADING, exitCodeList = {ExitCodes.OK, ExitCodes.BUG, ExitCodes.BAD_INPUT, ExitCodes.SOME_ROWS},
        name = "infer", mixinStandardHelpOptions = true, sortOptions = false, modelTransformer = DecodingFlags.class,
        defaultValueProvider = DecodingFlags.Defaults.class,
        description = {"Classify new inputs with trained prompts, or generate continuations.",
            "Prints the label and class probabilities per input, or with --generate (always for text-to-text tasks) "
                    + "the continuation (greedy, or sampled with --do-sample).",
            "Texts come from the arguments, or one per line from standard input; --input FILE.jsonl mixes rows of "
                    + "several tasks (--prompt NAME=FILE) in shared batches. --json prints one JSON object per input."})
public final class InferCommand implements Callable<Integer> {
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

    @Mixin
    ScoringOptions scoring;

    @Option(names = "--generate", description = "Generate text after each input (greedy unless --do-sample; "
            + "key/value cache, inputs batched) instead of classifying it; for decoder LMs and T5. Always on for "
            + "text-to-text tasks.")
    boolean generate;

    @Option(names = "--ensemble", paramLabel = "vote|mean",
            description = "Combine several --prompt files of one task (majority vote or mean probability), "
                    + "all members in one batched forward pass.")
    String ensemble;

    @Option(names = "--input", paramLabel = "FILE.jsonl",
            description = "JSON lines {\"task\": NAME, \"text\": ..., \"id\": ...} for several named prompts "
                    + "(--prompt NAME=FILE): rows of all tasks share each batch; answers come in input order.")
    Path input;

    @Option(names = "--token-budget", paramLabel = "TOKENS",
            description = "With --input: at most this many batch × length tokens per forward pass (default: no limit).")
    Integer tokenBudget;

    @Parameters(arity = "0..*", paramLabel = "TEXT", description = "Inputs; without them, lines of standard input.")
    List<String> texts = new ArrayList<>();

    /** Standard input; tests replace it. */
    InputStream stdin = System.in;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (scoring.batchSize() < 1) {
            throw new UserException("--batch-size must be at least 1 (got " + scoring.batchSize() + ")");
        }
        Decoding decoding = DecodingFlags.decoding(spec.commandLine().getParseResult());
        if (tokenBudget != null && input == null) {
            throw new UserException("--token-budget applies to --input batches; give --input FILE.jsonl");
        }
        if (tokenBudget != null && tokenBudget < 1) {
            throw new UserException("--token-budget must be at least 1 (got " + tokenBudget + ")");
        }
        Ensemble how = ensemble == null ? null : Ensemble.parse(ensemble);
        if (promptOptions.named() || input != null) {
            if (how != null) {
                throw new UserException("--ensemble combines unnamed prompts of one task; NAME=FILE prompts serve "
                        + "several tasks with --input");
            }
            if (input == null) {
                throw new UserException("--prompt NAME=FILE serves several tasks: give the rows with --input FILE.jsonl");
            }
            if (!texts.isEmpty()) {
                throw new UserException("--input and TEXT arguments cannot be used together");
            }
            return MixedTasks.run(promptOptions, fit, modelOptions, input, scoring.batchSize(), tokenBudget == null ? 0 : tokenBudget,
                    decoding, scoring.prefixCache(), out, err);
        }
        if (how == null && promptOptions.prompts.size() > 1) {
            throw new UserException("several --prompt files need --ensemble vote|mean (or NAME=FILE with --input)");
        }
        List<String> all = inputs();
        if (!common.json && all.stream().anyMatch(String::isBlank)) {
            throw new UserException("TEXT argument " + (all.indexOf(all.stream().filter(String::isBlank).findFirst().get()) + 1)
                    + " is blank");
        }
        if (all.stream().noneMatch(String::isBlank)) {
            return answer(all, out, err, decoding, how);
        }
        // --json answers every line of standard input: a blank one gets an error line, as --input's rows do
        java.io.StringWriter buf = new java.io.StringWriter();
        answer(all.stream().filter(t -> !t.isBlank()).toList(), new PrintWriter(buf), err, decoding, how);
        java.util.Iterator<String> answered = buf.toString().lines().iterator();
        for (String text : all) {
            out.println(text.isBlank() ? Json.write(Map.of("text", text, "error", "empty input")) : answered.next());
        }
        out.flush();
        err.println("some lines of standard input were blank; their lines carry \"error\"");
        return MixedTasks.EXIT_SOME_ROWS_FAILED;
    }

    /** Labels or generations for {@code inputs}, one line each. */
    private int answer(List<String> inputs, PrintWriter out, PrintWriter err, Decoding decoding, Ensemble how) {
        if (inputs.isEmpty()) {
            return 0;
        }
        try (PromptOptions.Session s = promptOptions.open(modelOptions, err, fit)) {
            Member m = s.first();
            if (how != null && (generate || m.task().textToText())) {
                throw new UserException("--ensemble combines class probabilities; it does not generate");
            }
            if (generate || m.task().textToText()) {
                generate(s, m, inputs, decoding, out);
                return 0;
            }
            if (DecodingFlags.anyGiven(spec.commandLine().getParseResult())) { // they would be ignored: say so
                throw new UserException("--max-new-tokens, --do-sample, --temperature, --top-k, --top-p, --seed and --stop "
                        + "apply when generating, and task " + m.task().name() + " classifies: add --generate to continue "
                        + "the inputs instead");
            }
            List<Encoder.Encoded> rows = new ArrayList<>();
            for (String text : inputs) {
                rows.add(m.encoder().encode(text, -1));
            }
            float[][] probs = new float[rows.size()][];
            int[] chosen = new int[rows.size()];
            try (Scorer scorer = new Scorer(s.model().lm(), scoring.prefixCache())) {
                if (how != null) {
                    Ensembles.checkOneTask(s);
                    float[][][] member = Ensemble.memberProbabilities(scorer, Ensembles.slots(s), rows, scoring.batchSize());
                    for (int i = 0; i < rows.size(); i++) {
                        Ensemble.Decision dec = how.combine(member[i]);
                        probs[i] = dec.scores();
                        chosen[i] = dec.label();
                    }
                } else {
                    probs = scorer.probabilities(m.slot(), rows, scoring.batchSize());
                    for (int i = 0; i < rows.size(); i++) {
                        chosen[i] = Scorer.argmax(probs[i]);
                    }
                }
            }
            print(out, m, inputs, probs, chosen, how == Ensemble.VOTE ? "votes" : "probabilities", s.members().size());
            Startup.mark("scored");
        }
        return 0;
    }

    /** TEXT arguments, else the lines of standard input (blank ones only with --json, which answers each line). */
    private List<String> inputs() throws IOException {
        List<String> inputs = new ArrayList<>(texts);
        if (inputs.isEmpty()) {
            Lines r = Lines.of(stdin, "standard input"); // not closed: standard input is not ours; lines bounded
            for (String line; (line = r.next()) != null; ) {
                if (!line.isBlank() || common.json) { // --json keeps one output line per input line
                    inputs.add(line);
                }
            }
        }
        if (inputs.stream().allMatch(String::isBlank)) {
            throw new UserException("no input: give TEXT arguments or lines on standard input");
        }
        return inputs;
    }

    private void generate(PromptOptions.Session s, Member m, List<String> inputs, Decoding decoding, PrintWriter out) {
        Generator g = new Generator(s.model().lm(), s.model().tokenizer(), true);
        int size = scoring.batchSize();
        for (int from = 0; from < inputs.size(); from += size) {
            List<String> chunk = inputs.subList(from, Math.min(inputs.size(), from + size));
            List<Generator.Output> outs = g.generate(chunk.stream()
                    .map(text -> m.request(text, decoding)).toList());
            for (int k = 0; k < chunk.size(); k++) {
                Generator.Output o = outs.get(k);
                if (common.json) {
                    Map<String, Object> j = new LinkedHashMap<>();
                    j.put("text", chunk.get(k));
                    j.put("task", m.name());
                    j.put("generated", o.text());
                    j.put("finish_reason", o.finish());
                    j.put("tokens", o.ids().length);
                    if (decoding.sample()) {
                        j.put("seed", decoding.seed());
                    }
                    out.println(Json.write(j));
                } else {
                    out.println(o.text());
                }
            }
            out.flush();
        }
    }

    private void print(PrintWriter out, Member m, List<String> inputs, float[][] probs, int[] chosen, String scoreKey,
            int members) {
        List<String> labels = m.task().labels();
        List<String> words = m.task().words();
        for (int i = 0; i < inputs.size(); i++) {
            int best = chosen[i];
            if (common.json) {
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("text", inputs.get(i));
                j.put("task", m.name());
                j.put("label", labels.get(best));
                j.put("word", words.get(best).strip());
                Map<String, Float> p = new LinkedHashMap<>();
                for (int c = 0; c < labels.size(); c++) {
                    p.put(labels.get(c), probs[i][c]);
                }
                j.put(scoreKey, p);
                out.println(Json.write(j));
            } else {
                StringBuilder sb = new StringBuilder();
                sb.append(labels.get(best)).append(" (").append(words.get(best).strip()).append(")\t");
                if (scoreKey.equals("votes")) { // shares of the members' votes, shown as votes, not probabilities
                    sb.append("votes ");
                    for (int c = 0; c < labels.size(); c++) {
                        sb.append(String.format(Locale.ROOT, "%s=%d/%d ", labels.get(c), Math.round(probs[i][c] * members),
                                members));
                    }
                } else {
                    for (int c = 0; c < labels.size(); c++) {
                        sb.append(String.format(Locale.ROOT, "%s=%.4f ", labels.get(c), probs[i][c]));
                    }
                }
                sb.append("\t").append(inputs.get(i));
                out.println(sb);
            }
        }
        out.flush();
    }
}
