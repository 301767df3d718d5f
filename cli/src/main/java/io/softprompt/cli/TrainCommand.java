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
import io.softprompt.train.Checkpoint;
import io.softprompt.train.Objective;
import io.softprompt.train.Optimizer;
import io.softprompt.train.RunDir;
import io.softprompt.train.Schedule;
import io.softprompt.train.TrainConfig;
import io.softprompt.train.Trainer;
import io.softprompt.util.Json;
import io.softprompt.util.Rss;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** softprompt train: learn an N×D prompt for a task on a frozen model, write it as a .sp file. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a soft prompt on a frozen model and write it to a .sp file.",
            "Without --model: models/gpt2 if present, else the hub's gpt2 if reachable, else a tiny built-in "
                    + "demo model (untrained; for a first look at the pipeline).",
            "Each run keeps a run folder (default: next to the output, <name>.run/) with config.json, "
                    + "checkpoint.safetensors, metrics.jsonl, best.sp and, once finished, final.json; "
                    + "--resume RUN_DIR continues a killed run exactly."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:success",
            "1:internal error (a bug: rerun with --verbose and report it)",
            "2:bad input: a flag, file or line (the message names it)",
            "3:non-finite loss or gradient: stopped; last good checkpoint and best.sp kept"})
public final class TrainCommand implements Callable<Integer> {
    /** Flags a --config file cannot set. */
    static final Set<String> NOT_IN_CONFIG = Set.of("config", "resume", "help", "version", "verbose", "json", "force",
            "parent_pid");
    /** Flags that may accompany --resume (the rest would change the run's configuration). */
    static final Set<String> WITH_RESUME = Set.of("--resume", "--model", "--models-dir", "--task", "--verbose", "--json",
            "--debug-nan-at", "--debug-step-delay-ms", "--parent-pid");

    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--config", paramLabel = "FILE.json",
            description = "Flags as a JSON object (\"batch_size\": 8 sets --batch-size); command-line flags win. "
                    + "A run folder's config.json is one.")
    Path config;

    @Option(names = "--resume", paramLabel = "RUN_DIR",
            description = "Continue a run from its last checkpoint with its own configuration.")
    Path resume;

    @Option(names = "--task", defaultValue = "sst2", paramLabel = "NAME|FILE",
            description = "Built-in task name or a task .json (default: ${DEFAULT-VALUE}).")
    String task;

    @Option(names = "--train", paramLabel = "FILE", description = "Training TSV/JSONL (default: the task's sample).")
    Path trainFile;

    @Option(names = "--dev", paramLabel = "FILE", description = "Dev TSV/JSONL for evaluation, best-prompt selection "
            + "and early stopping.")
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

    @Option(names = "--steps", paramLabel = "N",
            description = "Optimizer steps (default: 200 unless --epochs; 0 writes the initialised prompt untrained).")
    Integer steps;

    @Option(names = "--epochs", paramLabel = "E", description = "Passes over the training data (instead of --steps).")
    Integer epochs;

    @Option(names = "--batch-size", defaultValue = "8", paramLabel = "B", description = "Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--optimizer", defaultValue = "adamw", paramLabel = "NAME",
            description = "adamw | adafactor (Lester et al.: Adafactor, lr 0.3, decay rate 0.8, factored, "
                    + "update clipping 1.0) (default: ${DEFAULT-VALUE}).")
    String optimizer;

    @Option(names = "--lr", paramLabel = "LR", description = "Peak learning rate (default: 0.03 for adamw, 0.3 for adafactor).")
    Double lr;

    @Option(names = "--schedule", defaultValue = "constant", paramLabel = "KIND",
            description = "constant | linear | cosine, each after --warmup (default: ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--warmup", paramLabel = "STEPS", description = "Linear warmup steps (default: 10%% of steps).")
    Integer warmup;

    @Option(names = "--weight-decay", defaultValue = "1e-5", paramLabel = "W", description = "Default: ${DEFAULT-VALUE}.")
    double weightDecay;

    @Option(names = "--clip-norm", paramLabel = "MAX", description = "Clip the gradient's global L2 norm to MAX (default: off).")
    Double clipNorm;

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

    @Option(names = "--patience", paramLabel = "EVALS",
            description = "Stop when this many evaluations in a row bring no better dev accuracy (default: off).")
    Integer patience;

    @Option(names = "--checkpoint-every", defaultValue = "50", paramLabel = "STEPS",
            description = "Save a checkpoint this often, and at the end (default: ${DEFAULT-VALUE}; 0: only at the end).")
    int checkpointEvery;

    @Option(names = "--log-every", defaultValue = "10", paramLabel = "STEPS",
            description = "Append a line to metrics.jsonl this often (default: ${DEFAULT-VALUE}).")
    int logEvery;

    @Option(names = "--anchor-text", paramLabel = "TEXT",
            description = "Keep the prompt near this text's embeddings: adds γ·‖P − E(text)‖²/N to the loss "
                    + "(Khashabi et al. 2021).")
    String anchorText;

    @Option(names = "--anchor-weight", defaultValue = "0.01", paramLabel = "γ",
            description = "Weight of the anchor term (default: ${DEFAULT-VALUE}).")
    double anchorWeight;

    @Option(names = "--pad-to", defaultValue = "0", hidden = true, description = "Pad every batch to this length (benchmarks).")
    int padTo;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE.sp", description = "Where the prompt goes (default: <task>.sp).")
    Path output;

    @Option(names = "--run-dir", paramLabel = "DIR", description = "The run folder (default: the output's name with .run).")
    Path runDir;

    @Option(names = "--force", description = "Start over in a run folder that holds an unfinished run.")
    boolean force;

    @Option(names = "--debug-nan-at", hidden = true, defaultValue = "0", description = "Test hook: make step N's loss NaN.")
    int debugNanAt;

    @Option(names = "--debug-step-delay-ms", hidden = true, defaultValue = "0", description = "Test hook: sleep per step.")
    long debugStepDelayMs;

    @Option(names = "--parent-pid", hidden = true, defaultValue = "0",
            description = "Stop at once when this process ends (sweep workers: no orphan keeps writing a run).")
    long parentPid;

    @Override
    public Integer call() throws Exception {
        if (parentPid > 0) {
            watchParent(parentPid);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        long start = System.nanoTime();

        // ---- the configuration: a run's own when resuming, else config file + flags ----
        RunDir resumed = null;
        Checkpoint from = null;
        TrainConfig raw;
        if (resume != null) {
            checkResumeFlags();
            resumed = RunDir.open(resume);
            from = resumed.loadCheckpoint();
            raw = from.config();
            if (spec.commandLine().getParseResult().hasMatchedOption("--task") && !sameTask(raw.task(), task)) {
                throw new UserException("--resume " + resume + ": the run trains task " + Task.resolve(raw.task()).name()
                        + ", not " + task);
            }
            if (resumed.finished()) {
                throw new UserException("--resume " + resume + ": the run already finished (" + RunDir.FINAL + ")");
            }
        } else {
            if (config != null) {
                ConfigFile.apply(spec, spec.commandLine().getParseResult(), config, NOT_IN_CONFIG);
            }
            validateFlags();
            raw = fromFlags();
        }
        PromptInit initMethod = PromptInit.parse(raw.init());

        // ---- task and data (checked before the model loads: bad input fails fast) ----
        Task t = Task.resolve(raw.task());
        DataSource trainSrc = raw.train() != null ? DataSource.file(Path.of(raw.train())) : t.defaultData(true);
        DataSource devSrc = raw.dev() != null ? DataSource.file(Path.of(raw.dev()))
                : (raw.train() != null ? null : t.defaultData(false));
        if (trainSrc == null) {
            throw new UserException("--train: task " + t.name() + " names no training data; pass --train FILE");
        }
        List<Example> trainRows = TsvReader.read(trainSrc, t, true);
        List<Example> devRows = devSrc == null ? List.of() : TsvReader.read(devSrc, t, true);
        Path outFile = Path.of(raw.output());
        Path runPath = resumed != null ? resumed.dir() : runDir != null ? runDir : defaultRunDir(outFile);
        RunDir run = resumed != null ? resumed : RunDir.create(runPath, force);

        // ---- model ----
        String modelSpec = modelOptions.model != null ? modelOptions.model : raw.model();
        ModelLocator.Located where = locate(modelSpec, err);
        try (LoadedModel model = ModelOptions.load(where)) {
            if (from != null && from.fingerprint() != null && !from.fingerprint().equals(model.fingerprint())) {
                throw new UserException("--resume " + resume + ": the run was trained on another model (fingerprint "
                        + from.fingerprint() + "; " + where.name() + " has " + model.fingerprint() + ")");
            }
            int maxPos = model.lm().maxPositions();
            if (raw.maxLength() != null && raw.tokens() + raw.maxLength() > maxPos) {
                throw new UserException("--tokens " + raw.tokens() + " + --max-length " + raw.maxLength()
                        + " exceeds the model's " + maxPos + " positions; lower one of them");
            }
            if (raw.tokens() + 2 > maxPos) {
                throw new UserException("--tokens " + raw.tokens() + " leaves no room for text in the model's " + maxPos
                        + " positions");
            }
            TrainConfig cfg = withData(raw, modelRef(where, modelSpec), trainSrc, devSrc).resolved(trainRows.size(), maxPos);
            Encoder enc = new Encoder(model.tokenizer(), t, cfg.maxLength(), model.lm());
            List<Encoder.Encoded> train = enc.encodeAll(trainRows);
            List<Encoder.Encoded> dev = enc.encodeAll(devRows);
            if (from != null) {
                run.truncateMetricsAfter(from.state().step());
            } else {
                run.writeConfig(cfg);
            }
            float[] initValues = initMethod.values(model.lm(), model.tokenizer(), cfg.tokens(), cfg.seed(), cfg.initText(),
                    enc.labelTokens());
            float[] anchor = cfg.anchorText() == null ? null
                    : PromptInit.TEXT.values(model.lm(), model.tokenizer(), cfg.tokens(), cfg.seed(), cfg.anchorText(), null);

            if (from != null) {
                err.printf(Locale.ROOT, "resuming %s at step %d of %d%n", run.dir(), from.state().step(), cfg.steps());
            }
            err.printf(Locale.ROOT, "training a %d-token prompt for task %s on %s (%s, d=%d): %d train, %d dev examples, "
                    + "%d steps, %s lr %s (%s); run folder %s%n",
                    cfg.tokens(), t.name(), where.name(), model.lm().modelType(), model.lm().hiddenSize(), train.size(),
                    dev.size(), cfg.steps(), cfg.optimizer(), cfg.lr(), cfg.schedule(), run.dir());
            Progress progress = new Progress(err, Terminal.isInteractive()) {
                @Override
                public void onBest(int step, float[] prompt, Metrics m) {
                    writePrompt(run.best(), prompt, model, where, t, cfg, initMethod, step, m);
                }
            };
            Trainer.Result r = Trainer.train(cfg, model.lm(), enc, train, dev, initValues, progress,
                    new Trainer.Extras(anchor, run, from, model.fingerprint(), debugNanAt, debugStepDelayMs));
            progress.finish();

            // ---- the prompt file, then the run's outcome ----
            writePrompt(outFile, r.bestPrompt(), model, where, t, cfg, initMethod, r.bestStep(), r.bestDev());
            double wall = (System.nanoTime() - start) / 1e9;
            Metrics best = r.bestDev();
            Map<String, Object> j = new LinkedHashMap<>();
            j.put("output", outFile.toString());
            j.put("run_dir", run.dir().toString());
            j.put("model", where.name());
            j.put("demo_model", where.demo());
            j.put("task", t.name());
            j.put("tokens", cfg.tokens());
            j.put("init", cfg.init());
            j.put("seed", cfg.seed());
            j.put("steps", r.steps());
            j.put("stopped_early", r.stoppedEarly());
            j.put("resumed_from_step", r.resumedFrom() > 0 ? r.resumedFrom() : null);
            j.put("best_step", r.bestStep());
            j.put("best_dev_accuracy", best == null ? null : best.accuracy());
            j.put("best_dev_macro_f1", best == null || !Double.isFinite(best.macroF1()) ? null : best.macroF1());
            j.put("final_loss", r.lastLoss());
            j.put("train_examples_per_sec", finite(r.trainExamplesPerSec()));
            j.put("eval_examples_per_sec", finite(r.evalExamplesPerSec()));
            j.put("wall_seconds", wall);
            j.put("peak_rss_mb", Rss.peakMb());
            run.writeFinal(j);
            err.printf(Locale.ROOT, "wrote %s (best dev accuracy %s at step %d%s)%s%n", outFile,
                    best == null ? "n/a" : String.format(Locale.ROOT, "%.4f", best.accuracy()), r.bestStep(),
                    r.stoppedEarly() ? ", stopped early at step " + r.steps() : "",
                    where.demo() ? " -- demo model: untrained, the accuracy means nothing" : "");
            if (common.json) {
                out.println(Json.write(j));
            }
        }
        return 0;
    }

    private void writePrompt(Path file, float[] values, LoadedModel model, ModelLocator.Located where, Task t,
            TrainConfig cfg, PromptInit initMethod, int bestStep, Metrics dev) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(PromptFile.MODEL_TYPE, model.lm().modelType());
        meta.put(PromptFile.MODEL_NAME, where.name());
        meta.put(PromptFile.VOCAB_SIZE, Integer.toString(model.lm().vocabSize()));
        meta.put(PromptFile.MODEL_FINGERPRINT, model.fingerprint());
        meta.put(PromptFile.TOKENIZER, model.tokenizer().identity());
        meta.put(PromptFile.INIT, initMethod.id());
        meta.putAll(PromptFile.taskMetadata(t));
        meta.put(PromptFile.TRAIN_CONFIG, Json.write(cfg));
        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("best_step", bestStep);
        if (dev != null) {
            metrics.put("dev", dev.toMap());
        }
        meta.put(PromptFile.METRICS, Json.write(metrics));
        meta.put(PromptFile.CREATED, Instant.now().toString());
        meta.put(PromptFile.SOFTWARE, new Main.ManifestVersion().getVersion()[0]);
        try {
            PromptFile.write(file, new SoftPrompt(values, cfg.tokens(), model.lm().hiddenSize(), meta));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** The configuration the flags describe (paths made absolute so that a resume works from anywhere). */
    private TrainConfig fromFlags() {
        String opt = Optimizer.check(optimizer);
        double rate = lr != null ? lr : opt.equals("adafactor") ? 0.3 : 0.03;
        Path outFile = output != null ? output : Path.of(Task.resolve(task).name() + ".sp");
        return new TrainConfig(taskRef(task), modelOptions.model, abs(trainFile), abs(devFile),
                outFile.toAbsolutePath().normalize().toString(), tokens, PromptInit.parse(init).id(), initText,
                Objective.parse(objective).name().toLowerCase(Locale.ROOT), steps, epochs, batchSize, opt, rate,
                Schedule.parse(schedule).id(), warmup, weightDecay, clipNorm, seed, maxLength, evalEvery, evalBatchSize,
                patience, checkpointEvery, logEvery, anchorText, anchorWeight, padTo);
    }

    /**
     * The config with the model as located and the data files as resolved: a task's own files are
     * recorded by absolute path (eval finds the dev set there later), built-in samples stay null.
     */
    private static TrainConfig withData(TrainConfig c, String model, DataSource train, DataSource dev) {
        String trainPath = train.path() != null ? abs(train.path()) : c.train();
        String devPath = dev != null && dev.path() != null ? abs(dev.path()) : c.dev();
        return new TrainConfig(c.task(), model, trainPath, devPath, c.output(), c.tokens(), c.init(), c.initText(),
                c.objective(), c.steps(), c.epochs(), c.batchSize(), c.optimizer(), c.lr(), c.schedule(), c.warmup(),
                c.weightDecay(), c.clipNorm(), c.seed(), c.maxLength(), c.evalEvery(), c.evalBatchSize(), c.patience(),
                c.checkpointEvery(), c.logEvery(), c.anchorText(), c.anchorWeight(), c.padTo());
    }

    private ModelLocator.Located locate(String modelSpec, PrintWriter err) {
        String saved = modelOptions.model;
        modelOptions.model = modelSpec;
        try {
            return modelOptions.locate(null, err);
        } finally {
            modelOptions.model = saved;
        }
    }

    /** How the config names the model: a folder by its absolute path, a hub id or the demo by name. */
    private static String modelRef(ModelLocator.Located where, String spec) {
        if (spec != null && Files.isDirectory(Path.of(spec))) {
            return Path.of(spec).toAbsolutePath().normalize().toString();
        }
        return where.name();
    }

    private static String taskRef(String task) {
        Path p = Path.of(task);
        return task.endsWith(".json") && Files.isRegularFile(p) ? p.toAbsolutePath().normalize().toString() : task;
    }

    private static boolean sameTask(String stored, String given) {
        return stored.equals(given) || stored.equals(taskRef(given)) || Task.resolve(stored).name().equals(given);
    }

    private static String abs(Path p) {
        return p == null ? null : p.toAbsolutePath().normalize().toString();
    }

    static Path defaultRunDir(Path outFile) {
        String name = outFile.getFileName().toString();
        String stem = name.endsWith(".sp") ? name.substring(0, name.length() - 3) : name;
        return outFile.resolveSibling(stem + ".run");
    }

    /** Halts this JVM when the parent process is gone; checkpoints are atomic, so nothing is left half-written. */
    private static void watchParent(long pid) {
        Thread t = new Thread(() -> {
            while (true) {
                if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                    Runtime.getRuntime().halt(137);
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "softprompt-parent-watch");
        t.setDaemon(true);
        t.start();
    }

    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }

    private void checkResumeFlags() {
        for (OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
            if (!WITH_RESUME.contains(o.longestName())) {
                throw new UserException(o.longestName() + " cannot be used with --resume: a resumed run keeps its own "
                        + "configuration (" + RunDir.CONFIG + " in the run folder); start a new run to change it");
            }
        }
    }

    private void validateFlags() {
        if (tokens < 1) {
            throw new UserException("--tokens must be at least 1 (got " + tokens + ")");
        }
        if (steps != null && epochs != null) {
            throw new UserException("--steps and --epochs cannot be used together");
        }
        if (steps != null && steps < 0) {
            throw new UserException("--steps must not be negative (got " + steps + "; 0 writes the initialised prompt)");
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
        if (lr != null && (!(lr > 0) || !Double.isFinite(lr))) {
            throw new UserException("--lr must be a positive number (got " + lr + ")");
        }
        if (weightDecay < 0) {
            throw new UserException("--weight-decay must not be negative (got " + weightDecay + ")");
        }
        if (warmup != null && warmup < 0) {
            throw new UserException("--warmup must not be negative (got " + warmup + ")");
        }
        if (steps != null && warmup != null && warmup > steps) {
            throw new UserException("--warmup " + warmup + " is longer than --steps " + steps);
        }
        if (clipNorm != null && !(clipNorm > 0)) {
            throw new UserException("--clip-norm must be a positive number (got " + clipNorm + ")");
        }
        if (maxLength != null && maxLength < 2) {
            throw new UserException("--max-length must be at least 2 (got " + maxLength + ")");
        }
        if (evalEvery < 1) {
            throw new UserException("--eval-every must be at least 1 (got " + evalEvery + ")");
        }
        if (patience != null && patience < 1) {
            throw new UserException("--patience must be at least 1 (got " + patience + ")");
        }
        if (checkpointEvery < 0) {
            throw new UserException("--checkpoint-every must not be negative (got " + checkpointEvery + ")");
        }
        if (logEvery < 0) {
            throw new UserException("--log-every must not be negative (got " + logEvery + ")");
        }
        if ("text".equalsIgnoreCase(init) && (initText == null || initText.isBlank())) {
            throw new UserException("--init text needs --init-text \"...\"");
        }
        if (initText != null && !"text".equalsIgnoreCase(init)) {
            throw new UserException("--init-text is only used with --init text (got --init " + init + ")");
        }
        if (anchorText != null && anchorText.isBlank()) {
            throw new UserException("--anchor-text must not be empty");
        }
        if (anchorWeight < 0) {
            throw new UserException("--anchor-weight must not be negative (got " + anchorWeight + ")");
        }
        if (patience != null && devFile == null && trainFile != null) {
            throw new UserException("--patience needs a dev set: pass --dev FILE");
        }
    }
}
