package io.softprompt.cli;

import ai.djl.ndarray.NDArray;
import io.softprompt.api.SoftPrompt;
import io.softprompt.data.Task;
import io.softprompt.hub.EmbeddedModel;
import io.softprompt.hub.ModelLocator;
import io.softprompt.loader.LoadedModel;
import io.softprompt.loader.Placement;
import io.softprompt.sweep.SweepRunner;
import io.softprompt.train.DataParallel;
import io.softprompt.train.ForwardingListener;
import io.softprompt.train.RunDir;
import io.softprompt.train.TrainConfig;
import io.softprompt.train.TrainJob;
import io.softprompt.train.Trainer;
import io.softprompt.util.Json;
import io.softprompt.util.ParentWatch;
import io.softprompt.util.UserException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * softprompt train: the flags become a {@link TrainConfig} (defaults, then --config, then the command
 * line), and {@link TrainJob} does the rest. The training flags themselves live in {@link TrainFlags}.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        defaultValueProvider = TrainFlags.Defaults.class, modelTransformer = TrainFlags.class,
        description = {"Train a soft prompt on a frozen model and write it to a .sp file.",
            "Without --model: models/gpt2 if present, else the hub's gpt2 if reachable, else the embedded "
                    + "sentiment-lm (a 4-layer GPT-2 trained here to hold a sentiment skill behind a cue, not a "
                    + "pretrained language model), which trains the sst2 task on its own SST-2 data. The default "
                    + TrainConfig.DEFAULT_STEPS + " steps train a deep prompt there to about its cue's accuracy; "
                    + "--config configs/train-sentiment-lm-deep.json is the recipe that learns most.",
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
    /** Flags that may accompany --resume (the rest would change the run's configuration). */
    /** Flags that may accompany --pack-member. */
    static final Set<String> WITH_PACK = Set.of("--pack-member", "--token-budget", "--models-dir", "--device", "--dtype",
            "--verbose", "--json",
            "--debug-step-delay-ms", "--parent-pid");

    static final Set<String> WITH_RESUME = Set.of("--resume", "--model", "--models-dir", "--device", "--dtype", "--task",
            "--verbose", "--json",
            "--debug-nan-at", "--debug-step-delay-ms", "--parent-pid");

    @Spec
    CommandSpec spec;

    /** For the loaded model, where each step's loss and gradient are computed when not here (softprompt-spark), or null. */
    private final Function<LoadedModel, DataParallel.Distributor> distributor;

    public TrainCommand() {
        this(null);
    }

    /**
     * The train command of another front end (softprompt-spark), which computes each step's loss and
     * gradient with the distributor it makes for the loaded model; everything else is this command's.
     */
    public TrainCommand(Function<LoadedModel, DataParallel.Distributor> distributor) {
        this.distributor = distributor;
    }

    @Mixin
    CommonOptions common;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--config", paramLabel = "FILE.json", order = 0,
            description = "Flags as a JSON object (\"batch_size\": 8 sets --batch-size); command-line flags win. "
                    + "A run folder's config.json is one.")
    Path config;

    @Option(names = "--resume", paramLabel = "RUN_DIR", order = 0,
            description = "Continue a run from its last checkpoint with its own configuration.")
    Path resume;


    @Option(names = "--run-dir", paramLabel = "DIR", description = "The run folder (default: the output's name with .run).")
    Path runDir;

    @Option(names = "--force", description = "Replace an existing output, or a finished or unfinished run in the run folder.")
    boolean force;

    @Option(names = "--debug-nan-at", hidden = true, defaultValue = "0", description = "Test hook: make step N's loss NaN.")
    int debugNanAt;

    @Option(names = "--debug-step-delay-ms", hidden = true, defaultValue = "0", description = "Test hook: sleep per step.")
    long debugStepDelayMs;

    @Option(names = "--pack-member", hidden = true, paramLabel = "RUN_DIR",
            description = "Train these run folders as one pack over one model (sweep --pack): each resumes from its "
                    + "checkpoint, or starts from its " + SweepRunner.CONFIG_FILE + ".")
    List<Path> packMembers = new ArrayList<>();

    @Option(names = "--token-budget", hidden = true, defaultValue = "0", paramLabel = "TOKENS",
            description = "With --pack-member: at most this many rows x positions per forward pass (0: no limit).")
    int tokenBudget;

    @Option(names = "--parent-pid", hidden = true, defaultValue = "0",
            description = "Stop at once when this process ends (sweep workers: no orphan keeps writing a run).")
    long parentPid;

    @Override
    public Integer call() {
        if (parentPid > 0) {
            ParentWatch.start(parentPid);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!packMembers.isEmpty()) {
            if (distributor != null) {
                throw new UserException("--pack-member: a distributed run trains alone");
            }
            return new PackTraining(this, out, err).call();
        }
        // ---- the job: checks, task and data, output and run folder, all before a model loads ----
        TrainConfig given = null;
        ModelLocator.Located where = null;
        if (resume == null) {
            given = configuration();
            if (given.initFrom() != null && ModelLocator.isHubId(given.initFrom())) { // an adapter on the hub: cached first
                given = given.toBuilder().initFrom(modelOptions.locator(err).adapter(given.initFrom()).toString()).build();
            }
            given = given.validate();
            Task.resolve(given.task());
            where = modelOptions.locate(given.model(), err, true);
            if (where.embedded() && (given.train() != null || given.dev() != null)) {
                // the Tour's SST-2 files with --model dropped: the embedded model learned from those very rows
                err.println("warning: " + EmbeddedModel.NAME + " was trained on SST-2's training rows (the even ones with "
                        + "their labels): training or scoring on GLUE's SST-2 train measures what it memorised, not what a "
                        + "prompt learns (its own data: the odd rows and the dev set); pass --model DIR|HUB_ID for a "
                        + "pretrained model");
            }
            given = TrainJob.withModelData(given, where.trainData(), where.devData());
        }
        try (TrainJob job = resume != null ? resumeJob() : TrainJob.prepare(given, runDir, force)) {
            TrainConfig cfg = job.config();
            if (where == null) {
                where = modelOptions.locate(cfg.model(), err);
            }
            try (SoftPrompt sp = SoftPrompt.of(modelOptions.load(where))) {
                cfg = job.checkModel(sp.model(), where.name()); // depth auto settled
                if (job.resumedFrom() != null) {
                    err.printf(Locale.ROOT, "resuming %s at step %d%n", job.runDir().dir(), job.resumedFrom().state().step());
                }
                err.printf(Locale.ROOT, "training a %d-token %s for task %s on %s (%s, d=%d, %s): %d train, %d dev "
                        + "examples, %s; run folder %s%n", cfg.tokens(), kind(cfg), job.task().name(),
                        where.name(), sp.model().lm().modelType(), sp.model().lm().hiddenSize(), placement(sp.model()),
                        job.trainExamples(), job.devExamples(), schedule(cfg, job, sp.model()), job.runDir().dir());
                Progress progress = Progress.forTerminal(err);
                if (distributor != null) {
                    job.distribute(distributor.apply(sp.model()));
                }
                TrainJob.Outcome o = job.run(sp.model(), where.name(), debugHooks(progress));
                progress.finish();
                Object acc = o.summary().get("best_dev_accuracy");
                boolean keptInitial = acc != null && o.result().bestStep() == 0 && o.result().steps() > 0;
                Object all = o.summary().get("best_dev_accuracy_all_rows");
                err.printf(Locale.ROOT, "wrote %s (best dev %s %s at step %d%s%s%s)%s%n", o.output(),
                        job.task().textToText() ? "exact match" : "accuracy",
                        acc == null ? "n/a" : String.format(Locale.ROOT, "%.4f", (Double) acc), o.result().bestStep(),
                        all == null ? "" : String.format(Locale.ROOT, " on %d sampled rows; %.4f on all %d dev rows",
                                cfg.evalSamples(), (Double) all, o.summary().get("dev_rows")),
                        o.result().stoppedEarly() ? ", stopped early at step " + o.result().steps() : "",
                        keptInitial ? "; no evaluation beat the initial prompt, so it is the one kept" : "",
                        where.demo() ? " -- " + ModelLocator.DEMO_CAVEAT : where.embedded() ? " -- " + EmbeddedModel.CAVEAT : "");
                if (o.summary().get("activation_cache") instanceof java.util.Map<?, ?> ac) { // a --prompt-layers run's frozen states
                    err.printf(Locale.ROOT, "activation cache: %s rows' states kept (%.1f MB in memory, %.1f MB spilled to the "
                            + "run folder and deleted), read %s times, computed %s times%n", ac.get("rows"), (Double) ac.get("memory_mb"),
                            (Double) ac.get("spilled_mb"), ac.get("hits"), ac.get("misses"));
                }
                if (where.embedded() && config == null && o.result().steps() < TrainConfig.DEFAULT_STEPS
                        && job.task().name().equals("sst2")) { // the recipe is SST-2's: no other task is told to use it
                    err.printf(Locale.ROOT, "note: %d steps are a smoke test; for real learning on %s train with --config "
                            + "configs/train-sentiment-lm-deep.json (1,500 steps: about 0.67 dev accuracy, "
                            + "docs/learning.md)%n", o.result().steps(), EmbeddedModel.NAME);
                }
                if (common.json) {
                    out.println(Json.write(o.summary()));
                }
            }
        }
        return 0;
    }

    /** What the run trains: "prompt", "deep prompt", "prompt (residual reparameterisation)", ... */
    static String kind(TrainConfig cfg) {
        String k = cfg.site().noun();
        if (cfg.prefixProjection()) {
            return k + " (prefix projection)";
        }
        return cfg.reparam() == null || cfg.reparam().equals("none") ? k : k + " (" + cfg.reparam() + " reparameterisation)";
    }

    /** Steps, optimizer, peak rate and schedule as the run will use them: "20 steps, adamw lr 0.0300 (2 warm-up steps, then constant)". */
    static String schedule(TrainConfig cfg, TrainJob job, io.softprompt.loader.LoadedModel model) {
        TrainConfig plan = cfg.resolved(job.trainExamples(), model.lm().maxPositions()); // steps and warmup settled
        return String.format(Locale.ROOT, "%d steps, %s lr %s (%s)", plan.steps(), cfg.optimizer(), Progress.lr(cfg.learningRate()),
                plan.warmup() > 0 ? plan.warmup() + " warm-up steps, then " + plan.schedule() : plan.schedule());
    }

    /** "cpu, float32": where the model lives and its weights' precision. */
    static String placement(LoadedModel m) {
        return Placement.name(m.device()) + ", " + m.dtype().toString().toLowerCase(Locale.ROOT);
    }

    /** Defaults, then the --config file, then the flags given on the command line. */
    private TrainConfig configuration() {
        TrainConfig cfg = TrainConfig.defaults();
        if (config != null) {
            cfg = TrainConfig.overlay(cfg, ConfigFile.read(config), config.toString());
        }
        return TrainConfig.overlay(cfg, TrainFlags.given(spec.commandLine().getParseResult()), "command line");
    }

    private TrainJob resumeJob() {
        for (OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
            if (!WITH_RESUME.contains(o.longestName())) {
                throw new UserException(o.longestName() + " cannot be used with --resume: a resumed run keeps its own "
                        + "configuration (" + RunDir.CONFIG + " in the run folder); start a new run to change it");
            }
        }
        TrainJob job = TrainJob.resume(resume);
        String task = spec.commandLine().getParseResult().matchedOptionValue("--task", null);
        if (spec.commandLine().getParseResult().hasMatchedOption("--task") && !sameTask(job.config().task(), task)) {
            job.close();
            throw new UserException("--resume " + resume + ": the run trains task " + job.task().name() + ", not " + task);
        }
        return job;
    }

    private static boolean sameTask(String stored, String given) {
        return stored.equals(given) || stored.equals(Path.of(given).toAbsolutePath().normalize().toString())
                || Task.resolve(stored).name().equals(given);
    }

    /** The hidden test hooks, as a listener around the real one (nothing of them reaches the library). */
    Trainer.Listener debugHooks(Progress progress) {
        if (debugNanAt <= 0 && debugStepDelayMs <= 0) {
            return progress;
        }
        return new ForwardingListener(progress) {
            @Override
            public void onStep(Trainer.Step s) {
                progress.onStep(s);
                if (debugStepDelayMs > 0) {
                    try {
                        Thread.sleep(debugStepDelayMs);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }

            @Override
            public NDArray loss(int step, NDArray loss) {
                return step == debugNanAt ? loss.mul(Float.NaN) : loss;
            }
        };
    }
}
