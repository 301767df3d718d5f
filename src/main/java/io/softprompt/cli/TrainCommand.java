package io.softprompt.cli;

import io.softprompt.data.DataSource;
import io.softprompt.data.Encoder;
import io.softprompt.data.Example;
import io.softprompt.data.Task;
import io.softprompt.data.TsvReader;
import io.softprompt.eval.Metrics;
import io.softprompt.hub.ModelLocator;
import io.softprompt.model.LoadedModel;
import io.softprompt.prompt.PromptFile;
import io.softprompt.prompt.PromptInit;
import io.softprompt.prompt.SoftPrompt;
import io.softprompt.train.Objective;
import io.softprompt.train.TrainConfig;
import io.softprompt.train.Trainer;
import io.softprompt.util.Json;
import io.softprompt.util.Rss;
import io.softprompt.util.UserException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
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

/** softprompt train: learn an N×D prompt for a task on a frozen model, write it as a .sp file. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a soft prompt on a frozen model and write it to a .sp file.",
            "Without --model: models/gpt2 if present, else the hub's gpt2 if reachable, else a tiny built-in "
                    + "demo model (untrained; for a first look at the pipeline)."})
public final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--task", defaultValue = "sst2", paramLabel = "NAME|FILE",
            description = "Built-in task name or a task .json (default: ${DEFAULT-VALUE}).")
    String task;

    @Option(names = "--train", paramLabel = "FILE", description = "Training TSV (default: the task's sample).")
    Path trainFile;

    @Option(names = "--dev", paramLabel = "FILE", description = "Dev TSV for evaluation and best-prompt selection.")
    Path devFile;

    @Option(names = "--tokens", defaultValue = "20", paramLabel = "N",
            description = "Prompt length N (default: ${DEFAULT-VALUE}; Lester et al.: gains flatten beyond ~20).")
    int tokens;

    @Option(names = "--init", defaultValue = "vocab", paramLabel = "METHOD",
            description = "random | vocab | text | labels (default: ${DEFAULT-VALUE}).")
    String init;

    @Option(names = "--init-text", paramLabel = "TEXT", description = "Text whose embeddings start the prompt (--init text).")
    String initText;

    @Option(names = "--objective", defaultValue = "verbalizer", paramLabel = "KIND",
            description = "verbalizer (CE over label tokens) | lm (full-vocabulary CE) (default: ${DEFAULT-VALUE}). "
                    + "Text-to-text tasks always train on the target's tokens.")
    String objective;

    @Option(names = "--steps", paramLabel = "N", description = "Optimizer steps (default: 200 unless --epochs).")
    Integer steps;

    @Option(names = "--epochs", paramLabel = "E", description = "Passes over the training data (instead of --steps).")
    Integer epochs;

    @Option(names = "--batch-size", defaultValue = "8", paramLabel = "B", description = "Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--lr", defaultValue = "0.03", paramLabel = "LR", description = "AdamW learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--warmup", paramLabel = "STEPS", description = "Linear warmup steps, then constant (default: 10%% of steps).")
    Integer warmup;

    @Option(names = "--weight-decay", defaultValue = "1e-5", paramLabel = "W", description = "Default: ${DEFAULT-VALUE}.")
    double weightDecay;

    @Option(names = "--seed", defaultValue = "42", paramLabel = "S", description = "Seeds init and data order (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--max-length", paramLabel = "T",
            description = "Longest input in tokens, template included; longer text is cut "
                    + "(default: 128, or what the model's positions leave after the prompt).")
    Integer maxLength;

    @Option(names = "--eval-every", defaultValue = "50", paramLabel = "STEPS", description = "Default: ${DEFAULT-VALUE}.")
    int evalEvery;

    @Option(names = "--eval-batch-size", defaultValue = "32", paramLabel = "B", description = "Default: ${DEFAULT-VALUE}.")
    int evalBatchSize;

    @Option(names = "--pad-to", defaultValue = "0", hidden = true, description = "Pad every batch to this length (benchmarks).")
    int padTo;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE.sp", description = "Where the prompt goes (default: <task>.sp).")
    Path output;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        long start = System.nanoTime();
        validateFlags();
        PromptInit initMethod = PromptInit.parse(init);
        Objective.parse(objective);

        // ---- task and data (checked before the model loads: bad input fails fast) ----
        Task t = Task.resolve(task);
        DataSource trainSrc = trainFile != null ? DataSource.file(trainFile) : t.defaultData(true);
        DataSource devSrc = devFile != null ? DataSource.file(devFile) : (trainFile != null ? null : t.defaultData(false));
        if (trainSrc == null) {
            throw new UserException("--train: task " + t.name() + " names no training data; pass --train FILE");
        }
        List<Example> trainRows = TsvReader.read(trainSrc, t, true);
        List<Example> devRows = devSrc == null ? List.of() : TsvReader.read(devSrc, t, true);
        Path out_ = output != null ? output : Path.of(t.name() + ".sp");

        // ---- model ----
        ModelLocator.Located where = modelOptions.locate(null, err);
        try (LoadedModel model = ModelOptions.load(where)) {
            int maxPos = model.lm().maxPositions();
            if (maxLength != null && tokens + maxLength > maxPos) {
                throw new UserException("--tokens " + tokens + " + --max-length " + maxLength + " exceeds the model's "
                        + maxPos + " positions; lower one of them");
            }
            if (tokens + 2 > maxPos) {
                throw new UserException("--tokens " + tokens + " leaves no room for text in the model's " + maxPos
                        + " positions");
            }
            int maxLength = this.maxLength != null ? this.maxLength : Math.min(128, maxPos - tokens);
            Encoder enc = new Encoder(model.tokenizer(), t, maxLength, model.lm());
            List<Encoder.Encoded> train = enc.encodeAll(trainRows);
            List<Encoder.Encoded> dev = enc.encodeAll(devRows);
            int totalSteps = steps != null ? steps
                    : epochs != null ? (int) Math.ceil((double) epochs * train.size() / batchSize) : 200;
            int warm = warmup != null ? warmup : totalSteps / 10;
            TrainConfig cfg = new TrainConfig(t.name(), where.name(), trainSrc.name(), devSrc == null ? null : devSrc.name(),
                    tokens, initMethod.id(), initText, objective.toLowerCase(Locale.ROOT), totalSteps, epochs, batchSize, lr,
                    warm, weightDecay, seed, maxLength, evalEvery, evalBatchSize, padTo, "adamw");
            float[] initValues = initMethod.values(model.lm(), model.tokenizer(), tokens, seed, initText, enc.labelTokens());

            err.printf(Locale.ROOT, "training a %d-token prompt for task %s on %s (%s, d=%d): %d train, %d dev examples, %d steps%n",
                    tokens, t.name(), where.name(), model.lm().modelType(), model.lm().hiddenSize(), train.size(), dev.size(),
                    totalSteps);
            Progress progress = new Progress(err, Terminal.isInteractive());
            Trainer.Result r = Trainer.train(cfg, model.lm(), enc, train, dev, initValues, progress);
            progress.finish();

            // ---- the prompt file ----
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put(PromptFile.MODEL_TYPE, model.lm().modelType());
            meta.put(PromptFile.MODEL_NAME, where.name());
            meta.put(PromptFile.VOCAB_SIZE, Integer.toString(model.lm().vocabSize()));
            meta.put(PromptFile.MODEL_FINGERPRINT, model.fingerprint());
            meta.put(PromptFile.TOKENIZER, model.tokenizer().identity());
            meta.put(PromptFile.INIT, initMethod.id());
            meta.put(PromptFile.TASK, t.name());
            meta.put(PromptFile.TEMPLATE, t.template());
            meta.put(PromptFile.TEXT_COLUMN, t.textColumn());
            meta.put(PromptFile.LABEL_COLUMN, t.labelColumn());
            meta.put(PromptFile.VERBALIZER, Json.write(t.verbalizer()));
            meta.put(PromptFile.TASK_TYPE, t.type());
            meta.put(PromptFile.TARGET_COLUMN, t.targetColumn());
            meta.put(PromptFile.TRAIN_CONFIG, Json.write(cfg));
            Map<String, Object> metrics = new LinkedHashMap<>();
            metrics.put("best_step", r.bestStep());
            if (r.bestDev() != null) {
                metrics.put("dev", r.bestDev().toMap());
            }
            meta.put(PromptFile.METRICS, Json.write(metrics));
            meta.put(PromptFile.CREATED, Instant.now().toString());
            meta.put(PromptFile.SOFTWARE, new Main.ManifestVersion().getVersion()[0]);
            PromptFile.write(out_, new SoftPrompt(r.bestPrompt(), tokens, model.lm().hiddenSize(), meta));

            double wall = (System.nanoTime() - start) / 1e9;
            Metrics best = r.bestDev();
            err.printf(Locale.ROOT, "wrote %s (best dev accuracy %s at step %d)%s%n", out_,
                    best == null ? "n/a" : String.format(Locale.ROOT, "%.4f", best.accuracy()), r.bestStep(),
                    where.demo() ? " -- demo model: untrained, the accuracy means nothing" : "");
            if (common.json) {
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("output", out_.toString());
                j.put("model", where.name());
                j.put("demo_model", where.demo());
                j.put("task", t.name());
                j.put("tokens", tokens);
                j.put("steps", r.steps());
                j.put("best_step", r.bestStep());
                j.put("best_dev_accuracy", best == null ? null : best.accuracy());
                j.put("best_dev_macro_f1", best == null || !Double.isFinite(best.macroF1()) ? null : best.macroF1());
                j.put("final_loss", r.lastLoss());
                j.put("train_examples_per_sec", finite(r.trainExamplesPerSec()));
                j.put("eval_examples_per_sec", finite(r.evalExamplesPerSec()));
                j.put("wall_seconds", wall);
                j.put("peak_rss_mb", Rss.peakMb());
                out.println(Json.write(j));
            }
        }
        return 0;
    }

    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }

    private void validateFlags() {
        if (tokens < 1) {
            throw new UserException("--tokens must be at least 1 (got " + tokens + ")");
        }
        if (steps != null && epochs != null) {
            throw new UserException("--steps and --epochs cannot be used together");
        }
        if (steps != null && steps < 1) {
            throw new UserException("--steps must be at least 1 (got " + steps + ")");
        }
        if (epochs != null && epochs < 1) {
            throw new UserException("--epochs must be at least 1 (got " + epochs + ")");
        }
        if (batchSize < 1) {
            throw new UserException("--batch-size must be at least 1 (got " + batchSize + ")");
        }
        if (evalBatchSize < 1) {
            throw new UserException("--eval-batch-size must be at least 1 (got " + evalBatchSize + ")");
        }
        if (!(lr > 0) || !Double.isFinite(lr)) {
            throw new UserException("--lr must be a positive number (got " + lr + ")");
        }
        if (weightDecay < 0) {
            throw new UserException("--weight-decay must not be negative (got " + weightDecay + ")");
        }
        if (warmup != null && warmup < 0) {
            throw new UserException("--warmup must not be negative (got " + warmup + ")");
        }
        if (maxLength != null && maxLength < 2) {
            throw new UserException("--max-length must be at least 2 (got " + maxLength + ")");
        }
        if (evalEvery < 1) {
            throw new UserException("--eval-every must be at least 1 (got " + evalEvery + ")");
        }
        if ("text".equalsIgnoreCase(init) && (initText == null || initText.isBlank())) {
            throw new UserException("--init text needs --init-text \"...\"");
        }
    }
}
