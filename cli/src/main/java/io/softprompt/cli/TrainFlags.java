package io.softprompt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.softprompt.train.TrainConfig;
import io.softprompt.util.Json;
import java.nio.file.Path;
import java.util.Set;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;

/**
 * The training flags: one per {@link TrainConfig} key ({@code --batch-size} is {@code batch_size}).
 * Their defaults are {@link TrainConfig#defaults()} (shown in the help by {@link Defaults}), so the
 * library and the command line cannot disagree; only the flags the user gave are read back
 * ({@link #given}), over the defaults and any --config file.
 */
public final class TrainFlags {
    @Option(names = "--task", paramLabel = "NAME|FILE", description = "Built-in task name or a task .json (default: ${DEFAULT-VALUE}).")
    String task;

    @Option(names = "--train", paramLabel = "FILE", description = "Training TSV/JSONL (default: the task's sample).")
    Path trainFile;

    @Option(names = "--dev", paramLabel = "FILE", description = "Dev TSV/JSONL for evaluation, best-prompt selection "
            + "and early stopping.")
    Path devFile;

    @Option(names = "--tokens", paramLabel = "N",
            description = "Prompt length N (default: ${DEFAULT-VALUE}; Lester et al.: gains flatten beyond ~20).")
    int tokens;

    @Option(names = "--init", paramLabel = "METHOD", description = "random | vocab | text | labels (default: ${DEFAULT-VALUE}; "
            + "transfer with --init-from).")
    String init;

    @Option(names = "--init-text", paramLabel = "TEXT", description = "Text whose embeddings start the prompt (--init text).")
    String initText;

    @Option(names = "--init-from", paramLabel = "FILE.sp",
            description = "Start from another prompt of the same model (prompt transfer, Vu et al. 2022): its rows, "
                    + "truncated or tiled to --tokens; refused across models (hidden size, fingerprint).")
    Path initFrom;

    @Option(names = "--objective", paramLabel = "KIND",
            description = "verbalizer (CE over label tokens) | lm (full-vocabulary CE) (default: ${DEFAULT-VALUE}). "
                    + "Text-to-text tasks always train on the target's tokens.")
    String objective;

    @Option(names = "--steps", paramLabel = "N",
            description = "Optimizer steps (default: 200 unless --epochs; 0 writes the initialised prompt untrained).")
    Integer steps;

    @Option(names = "--epochs", paramLabel = "E", description = "Passes over the training data (instead of --steps).")
    Integer epochs;

    @Option(names = "--batch-size", paramLabel = "B", description = "Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--grad-accum", paramLabel = "M",
            description = "Micro-batches of --batch-size rows per optimizer step: a step sees B x M rows, in M passes "
                    + "(default: ${DEFAULT-VALUE}).")
    int gradAccum;

    @Option(names = "--group-by-length", description = "Length-grouped sampling (as the HF Trainer's option): batches "
            + "of similar lengths, less padding; each epoch's order still a pure function of the seed.")
    boolean groupByLength;

    @Option(names = "--optimizer", paramLabel = "NAME",
            description = "adamw | adafactor (Lester et al.: Adafactor, lr 0.3, decay rate 0.8, factored, "
                    + "update clipping 1.0) (default: ${DEFAULT-VALUE}).")
    String optimizer;

    @Option(names = "--lr", paramLabel = "LR", description = "Peak learning rate (default: 0.03 for adamw, 0.3 for adafactor).")
    Double lr;

    @Option(names = "--schedule", paramLabel = "KIND",
            description = "constant | linear | cosine, each after --warmup (default: ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--warmup", paramLabel = "STEPS", description = "Linear warmup steps (default: 10%% of steps).")
    Integer warmup;

    @Option(names = "--weight-decay", paramLabel = "W", description = "Default: ${DEFAULT-VALUE}.")
    double weightDecay;

    @Option(names = "--clip-norm", paramLabel = "MAX", description = "Clip the gradient's global L2 norm to MAX (default: off).")
    Double clipNorm;

    @Option(names = "--seed", paramLabel = "S", description = "Seeds init and data order (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--max-length", paramLabel = "T",
            description = "Longest input in tokens, template included; longer text is cut "
                    + "(default: 128, or what the model's positions leave after the prompt).")
    Integer maxLength;

    @Option(names = "--eval-every", paramLabel = "STEPS", description = "Default: ${DEFAULT-VALUE}.")
    int evalEvery;

    @Option(names = "--eval-batch-size", paramLabel = "B", description = "Default: ${DEFAULT-VALUE}.")
    int evalBatchSize;

    @Option(names = "--patience", paramLabel = "EVALS",
            description = "Stop when this many evaluations in a row bring no better dev accuracy (default: off).")
    Integer patience;

    @Option(names = "--checkpoint-every", paramLabel = "STEPS",
            description = "Save a checkpoint this often, and at the end (default: ${DEFAULT-VALUE}; 0: only at the end).")
    int checkpointEvery;

    @Option(names = "--log-every", paramLabel = "STEPS",
            description = "Append a line to metrics.jsonl this often (default: ${DEFAULT-VALUE}).")
    int logEvery;

    @Option(names = "--anchor-text", paramLabel = "TEXT",
            description = "Keep the prompt near this text's embeddings: adds γ·‖P − E(text)‖²/N to the loss "
                    + "(Khashabi et al. 2021).")
    String anchorText;

    @Option(names = "--anchor-weight", paramLabel = "γ",
            description = "Weight of the anchor term; needs --anchor-text (default: " + TrainConfig.ANCHOR_WEIGHT + ").")
    Double anchorWeight;

    @Option(names = "--pad-to", hidden = true, description = "Pad every batch to this length (benchmarks).")
    int padTo;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE.sp", description = "Where the prompt goes (default: <task>.sp).")
    Path output;

    /** The training keys the user set on the command line (any mixin's option named like a key, --model too). */
    static ObjectNode given(ParseResult parsed) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        Set<String> keys = TrainConfig.keys();
        for (OptionSpec o : parsed.matchedOptions()) {
            String key = key(o);
            if (keys.contains(key)) {
                Object v = o.getValue();
                JsonNode value = v instanceof Path p ? Json.MAPPER.getNodeFactory().textNode(p.toString())
                        : Json.MAPPER.valueToTree(v);
                n.set(key, value);
            }
        }
        return n;
    }

    /** --batch-size → batch_size. */
    static String key(OptionSpec o) {
        return o.longestName().replaceFirst("^--?", "").replace('-', '_');
    }

    /** The help's defaults, from {@link TrainConfig#defaults()}. */
    public static final class Defaults implements IDefaultValueProvider {
        private static final JsonNode DEFAULTS = Json.MAPPER.valueToTree(TrainConfig.defaults());

        @Override
        public String defaultValue(ArgSpec arg) {
            if (!(arg instanceof OptionSpec o)) {
                return null;
            }
            JsonNode v = DEFAULTS.get(key(o));
            return v == null || v.isNull() ? null : v.asText();
        }
    }
}
