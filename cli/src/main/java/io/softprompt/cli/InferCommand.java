package io.softprompt.cli;

import io.softprompt.data.Encoder;
import io.softprompt.infer.Generator;
import io.softprompt.infer.Predictor;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
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

/** softprompt infer: label and class probabilities for each input text. */
@Command(name = "infer", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Classify texts with a trained prompt: the label and class probabilities per input.",
            "Texts come from the arguments, or one per line from standard input."})
public final class InferCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    PromptOptions promptOptions;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--batch-size", defaultValue = "32", paramLabel = "B", description = "Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--generate", description = "Generate text after each input (greedy, key/value cache) "
            + "instead of classifying it; for decoder LMs and T5. Always on for text-to-text tasks.")
    boolean generate;

    @Option(names = "--max-new-tokens", defaultValue = "32", paramLabel = "K",
            description = "With --generate: stop after K tokens or at end-of-sequence (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--ensemble", paramLabel = "vote|mean",
            description = "Combine several --prompt files of one task (majority vote or mean probability), "
                    + "all members in one batched forward pass.")
    String ensemble;

    @Option(names = "--input", paramLabel = "FILE.jsonl",
            description = "JSON lines {\"task\": NAME, \"text\": ..., \"id\": ...} for several named prompts "
                    + "(--prompt NAME=FILE): rows of all tasks share each batch; answers come in input order.")
    java.nio.file.Path input;

    @Option(names = "--token-budget", defaultValue = "0", paramLabel = "TOKENS",
            description = "With --input: at most this many batch × length tokens per forward pass (default: no limit).")
    int tokenBudget;

    @Option(names = "--no-prefix-cache", negatable = false,
            description = "With --input on a decoder-only model: run each prompt with every batch instead of "
                    + "caching its keys and values once.")
    boolean noPrefixCache;

    @Parameters(arity = "0..*", paramLabel = "TEXT", description = "Inputs; without them, lines of standard input.")
    List<String> texts = new ArrayList<>();

    /** Standard input; tests replace it. */
    java.io.InputStream stdin = System.in;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (batchSize < 1) {
            throw new UserException("--batch-size must be at least 1 (got " + batchSize + ")");
        }
        if (tokenBudget < 0) {
            throw new UserException("--token-budget must not be negative (got " + tokenBudget + ")");
        }
        io.softprompt.infer.Ensemble how = ensemble == null ? null : io.softprompt.infer.Ensemble.parse(ensemble);
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
            return MixedTasks.run(promptOptions, modelOptions, input, batchSize, tokenBudget, maxNewTokens, !noPrefixCache,
                    out, err);
        }
        if (how == null && promptOptions.prompts.size() > 1) {
            throw new UserException("several --prompt files need --ensemble vote|mean (or NAME=FILE with --input)");
        }
        List<String> inputs = new ArrayList<>(texts);
        if (inputs.isEmpty()) {
            BufferedReader r = new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8));
            String line;
            while ((line = r.readLine()) != null) {
                if (!line.isBlank()) {
                    inputs.add(line);
                }
            }
        }
        if (inputs.isEmpty()) {
            throw new UserException("no input: give TEXT arguments or lines on standard input");
        }
        if (maxNewTokens < 0) {
            throw new UserException("--max-new-tokens must not be negative (got " + maxNewTokens + ")");
        }
        try (PromptOptions.Session s = promptOptions.open(modelOptions, err)) {
            if (how != null && (generate || s.task().textToText())) {
                throw new UserException("--ensemble combines class probabilities; it does not generate");
            }
            if (generate || s.task().textToText()) {
                Generator g = new Generator(s.model().lm(), true);
                for (String text : inputs) {
                    long[] ids = g.generate(s.prompt().values(), s.prompt().tokens(), s.encoder().encodeText(text), maxNewTokens);
                    String gen = s.model().tokenizer().decode(ids);
                    if (common.json) {
                        Map<String, Object> j = new LinkedHashMap<>();
                        j.put("text", text);
                        j.put("generated", gen);
                        j.put("tokens", ids.length);
                        out.println(Json.write(j));
                    } else {
                        out.println(gen);
                    }
                    out.flush();
                }
                return 0;
            }
            List<Encoder.Encoded> rows = new ArrayList<>();
            for (String text : inputs) {
                rows.add(s.encoder().encode(text, -1));
            }
            float[][] probs;
            int[] chosen = new int[rows.size()];
            if (how != null) {
                Ensembles.checkOneTask(s);
                io.softprompt.infer.BatchScorer scorer = new io.softprompt.infer.BatchScorer(s.model().lm());
                float[][][] member = io.softprompt.infer.Ensemble.memberProbabilities(scorer, Ensembles.slots(s), rows, batchSize);
                probs = new float[rows.size()][];
                for (int i = 0; i < rows.size(); i++) {
                    io.softprompt.infer.Ensemble.Decision dec = how.combine(member[i]);
                    probs[i] = dec.scores();
                    chosen[i] = dec.label();
                }
            } else {
                Predictor predictor = new Predictor(s.model().lm(), s.encoder().labels(), batchSize);
                probs = predictor.probabilities(s.prompt().values(), s.prompt().tokens(), rows);
                for (int i = 0; i < rows.size(); i++) {
                    chosen[i] = Predictor.argmax(probs[i]);
                }
            }
            String scoreKey = how == io.softprompt.infer.Ensemble.VOTE ? "votes" : "probabilities";
            List<String> labels = s.task().labels();
            List<String> words = s.task().words();
            for (int i = 0; i < inputs.size(); i++) {
                int best = chosen[i];
                if (common.json) {
                    Map<String, Object> j = new LinkedHashMap<>();
                    j.put("text", inputs.get(i));
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
                    for (int c = 0; c < labels.size(); c++) {
                        sb.append(String.format(Locale.ROOT, "%s=%.4f ", labels.get(c), probs[i][c]));
                    }
                    sb.append("\t").append(inputs.get(i));
                    out.println(sb);
                }
            }
            out.flush();
        }
        return 0;
    }
}
