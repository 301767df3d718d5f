package io.softprompt.train;

import io.softprompt.data.DataFormat;
import io.softprompt.data.DataSource;
import io.softprompt.data.Example;
import io.softprompt.data.Task;
import io.softprompt.data.TsvReader;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.PromptSite;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.util.Outputs;
import io.softprompt.util.UserException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * One training run from configuration to .sp file. {@link #prepare} and {@link #resume} do everything
 * that needs no model (check the configuration, read the task and data, check the output can be
 * written, claim and lock the run folder), so bad input fails before a model is loaded; {@link #run}
 * trains on a loaded model, writes best.sp whenever the dev accuracy improves, then the .sp and
 * final.json. Close the job to release the run folder.
 */
public final class TrainJob implements AutoCloseable {
    /** What a finished run produced: the prompt as written, where, and final.json's figures. */
    public record Outcome(Path output, RunDir run, Prompt prompt, Trainer.Result result, Map<String, Object> summary) {}

    final TrainConfig cfg; // as given: depth auto is settled by checkModel, which returns the settled config
    final Task task;
    final DataSource trainSource;
    final DataSource devSource;
    final List<Example> trainRows;
    final List<Example> devRows;
    final RunDir run;
    Checkpoint from;
    UserException failure;
    DataParallel.Distributor distributor;

    private TrainJob(TrainConfig cfg, Task task, DataSource trainSource, DataSource devSource, List<Example> trainRows,
            List<Example> devRows, RunDir run, Checkpoint from) {
        this.cfg = cfg;
        this.task = task;
        this.trainSource = trainSource;
        this.devSource = devSource;
        this.trainRows = trainRows;
        this.devRows = devRows;
        this.run = run;
        this.from = from;
    }

    /**
     * A fresh run of {@code given}: validated, paths made absolute, data read, the output checked and
     * the run folder ({@code runDir}, default next to the output: {@code x.sp} → {@code x.run/})
     * locked. A finished run or an existing output is replaced only with {@code force}.
     *
     * @param given the config as given
     * @param runDir the run folder, or null for the default
     * @param force replace a finished or unfinished run, or an existing output
     * @return the job, its run folder locked; close it when done
     */
    public static TrainJob prepare(TrainConfig given, Path runDir, boolean force) {
        TrainConfig cfg = check(given);
        Task t = task(cfg);
        DataSource trainSrc = trainSource(cfg, t);
        DataSource devSrc = devSource(cfg, t);
        List<Example> trainRows = TsvReader.read(trainSrc, t, true, DataFormat.parse(cfg.format()));
        List<Example> devRows = devSrc == null ? List.of() : TsvReader.read(devSrc, t, true, DataFormat.parse(cfg.format()));
        Path out = Path.of(cfg.output());
        checkOutput(out, force);
        RunDir run = RunDir.create(runDir != null ? runDir : defaultRunDir(out), force);
        return new TrainJob(cfg, t, trainSrc, devSrc, trainRows, devRows, run, null);
    }

    /**
     * Everything about {@code given} that can be checked without reading the data or loading a model:
     * the values, the task, and that the data files exist; returns the config as {@link #prepare}
     * records it (validated, normalised). A sweep checks every grid point this way before any runs.
     *
     * @param given the config as given
     * @return the config as prepare records it
     */
    public static TrainConfig check(TrainConfig given) {
        given.validate();
        Task t = task(given);
        TrainConfig cfg = given.normalized(t.name());
        DataSource trainSrc = trainSource(cfg, t);
        DataSource devSrc = devSource(cfg, t);
        if (trainSrc == null) {
            throw new UserException("{{train}}: task " + t.name() + " names no training data; pass {{train}} FILE");
        }
        if (cfg.patience() != null && devSrc == null) { // the one place: it needs the task's own dev data, if any
            throw new UserException("{{patience}} needs a dev set: pass {{dev}} FILE");
        }
        for (DataSource d : new DataSource[] {trainSrc, devSrc}) {
            if (d != null && d.path() != null && !Files.isRegularFile(d.path())) {
                throw new UserException(d.name() + ": " + (Files.exists(d.path()) ? "not a file" : "file not found"));
            }
        }
        // refusals that need no model, made here so that no run folder is made for a run that cannot start
        boolean inputTarget = "input".equals(cfg.depth()) || !"none".equals(Reparam.parse(cfg.reparam())) || cfg.prefixProjection();
        if (cfg.initFrom() != null && inputTarget) {
            PromptFile.readSource(Path.of(cfg.initFrom())).requireInput("{{init_from}} " + cfg.initFrom(), "prompt transfer into "
                    + (cfg.prefixProjection() ? "a projected deep prompt (it starts from an input prompt)" : "an input prompt"));
        }
        if (cfg.loggingDir() != null) {
            Outputs.checkWritableFolder("{{logging_dir}}", Path.of(cfg.loggingDir()));
        }
        return cfg;
    }

    /** The run's task: {@code task} as resolved, reading {@code text_column}/{@code label_column} when given. */
    static Task task(TrainConfig cfg) {
        return Task.resolve(cfg.task()).withColumns(cfg.textColumn(), cfg.labelColumn()).framed(cfg.chat(), cfg.system());
    }

    private static DataSource trainSource(TrainConfig cfg, Task t) {
        return cfg.train() != null ? DataSource.file(Path.of(cfg.train())) : t.defaultData(true);
    }

    private static DataSource devSource(TrainConfig cfg, Task t) {
        return cfg.dev() != null ? DataSource.file(Path.of(cfg.dev())) : (cfg.train() != null ? null : t.defaultData(false));
    }

    /**
     * Continues the run in {@code runDir} from its checkpoint, with the configuration it started with.
     *
     * @param runDir the run folder
     * @return the job, its run folder locked; close it when done
     */
    public static TrainJob resume(Path runDir) {
        RunDir run = RunDir.open(runDir);
        try {
            if (run.finished()) {
                throw new UserException("{{resume}} " + runDir + ": the run already finished (" + RunDir.FINAL + ")");
            }
            Checkpoint from = run.loadCheckpoint();
            TrainConfig cfg = from.config();
            Task t = task(cfg);
            DataSource trainSrc = trainSource(cfg, t);
            DataSource devSrc = devSource(cfg, t);
            List<Example> trainRows = TsvReader.read(trainSrc, t, true, DataFormat.parse(cfg.format()));
            List<Example> devRows = devSrc == null ? List.of() : TsvReader.read(devSrc, t, true, DataFormat.parse(cfg.format()));
            if (from.state().cursor() > trainRows.size()) {
                throw new UserException(run.checkpoint() + ": damaged checkpoint: its data position (row "
                        + from.state().cursor() + ") is past the " + trainRows.size() + " training rows of " + trainSrc.name());
            }
            run.checkAgainstConfig(from);
            return new TrainJob(cfg, t, trainSrc, devSrc, trainRows, devRows, run, from);
        } catch (RuntimeException e) {
            run.close();
            throw e;
        }
    }

    /**
     * A model that ships its own SST-2 data (the embedded sentiment-lm) trains on it when the task is
     * sst2 and the user named no data: the built-in sample is a small synthetic stand-in.
     *
     * @param cfg the config
     * @param train the model's own training rows, or null
     * @param dev its own dev rows, or null
     * @return the config, with the model's data when they apply
     */
    public static TrainConfig withModelData(TrainConfig cfg, Path train, Path dev) {
        if (train == null || cfg.train() != null || cfg.dev() != null || !"sst2".equals(Task.resolve(cfg.task()).name())) {
            return cfg;
        }
        return cfg.toBuilder().train(train.toString()).dev(dev == null ? null : dev.toString()).build();
    }

    /**
     * {@code x.sp} → {@code x.run/} beside it.
     *
     * @param output the .sp output
     * @return the run folder beside it
     */
    public static Path defaultRunDir(Path output) {
        String name = output.getFileName().toString();
        String stem = name.endsWith(".sp") ? name.substring(0, name.length() - 3) : name;
        return output.resolveSibling(stem + ".run");
    }

    /**
     * The output must be a file (not a folder), new unless {@code force}, in a folder this process can
     * write: probed by creating a file there, so the OS's reason ("Read-only file system", "Permission
     * denied") comes out before any training, not after.
     */
    static void checkOutput(Path out, boolean force) {
        Outputs.checkFile("{{output}}", out, force);
    }

    /**
     * The config as given, validated and normalised ({@link #checkModel} returns it with depth auto
     * settled for a model).
     *
     * @return the validated, normalised config
     */
    public TrainConfig config() {
        return cfg;
    }

    /**
     * The run's task.
     *
     * @return the task
     */
    public Task task() {
        return task;
    }

    /**
     * The run folder (locked while the job is open).
     *
     * @return the run folder
     */
    public RunDir runDir() {
        return run;
    }

    /**
     * The checkpoint this job continues, or null for a fresh run.
     *
     * @return the checkpoint, or null
     */
    public Checkpoint resumedFrom() {
        return from;
    }

    /**
     * The training rows read.
     *
     * @return how many
     */
    public int trainExamples() {
        return trainRows.size();
    }

    /**
     * The dev rows read.
     *
     * @return how many (0: no dev set)
     */
    public int devExamples() {
        return devRows.size();
    }

    /**
     * Refuses a model this run cannot train on: another model than the checkpoint's (by fingerprint),
     * or too few positions for the prompt and the inputs; returns the job's config on this model, with
     * depth auto settled (the job itself is left as it is).
     *
     * @param model the model
     * @param modelName how the model is named
     * @return the config this job trains with on the model
     */
    public TrainConfig checkModel(LoadedModel model, String modelName) {
        TrainConfig cfg = this.cfg;
        if ("auto".equals(cfg.depth())) { // the init_from prompt is read only then
            cfg = cfg.withDepthFor(model.lm().kind() == LanguageModel.Kind.DECODER, task.textToText(),
                    cfg.initFrom() != null && Files.exists(Path.of(cfg.initFrom()))
                            ? PromptFile.readSource(Path.of(cfg.initFrom())).site() : null);
        }
        if (from != null && from.fingerprint() != null && !from.fingerprint().equals(model.fingerprint())) {
            throw new UserException("{{resume}} " + run.dir() + ": the run was trained on another model (fingerprint "
                    + from.fingerprint() + "; " + modelName + " has " + model.fingerprint() + ")");
        }
        int width = cfg.site().width(model.lm());
        if (from != null && from.promptShape()[1] != width) {
            throw new UserException(run.checkpoint() + ": damaged checkpoint: its prompt is " + from.promptShape()[1]
                    + " wide but a " + cfg.site().noun() + " on " + modelName + " is " + width);
        }
        int maxPos = model.lm().maxPositions();
        if (cfg.maxLength() != null && cfg.tokens() + cfg.maxLength() > maxPos) {
            throw new UserException("{{tokens}} " + cfg.tokens() + " + {{max_length}} " + cfg.maxLength()
                    + " exceeds the model's " + maxPos + " positions; lower one of them");
        }
        if (cfg.tokens() + 2 > maxPos) {
            throw new UserException("{{tokens}} " + cfg.tokens() + " leaves no room for text in the model's " + maxPos + " positions");
        }
        if (task.textToText()) {
            cfg.site().checkGenerates(model.lm(), JobRun.flags(cfg));
        }
        Reparam.of(cfg, model.lm()); // its size, from the shapes alone
        io.softprompt.data.Encoder.check(model.tokenizer(), task, model.lm(), model::chatTemplate);
        return cfg;
    }

    /**
     * Trains on {@code model} (named {@code modelName} in what is written). The listener sees every
     * step and evaluation; best.sp is written at each improvement whatever the listener does.
     *
     * @param model the model
     * @param modelName how the model is named in what is written
     * @param listener sees every step and evaluation
     * @return the prompt as written, where, and the run's figures
     */
    public Outcome run(LoadedModel model, String modelName, Trainer.Listener listener) {
        return JobRun.runPack(List.of(this), model, modelName, List.of(listener), 0).get(0);
    }

    /**
     * Trains several jobs together on one model, sharing each forward pass (a pack, see {@link Trainer});
     * each job's run folder, .sp and final.json read exactly as if it had run alone, and are finished
     * the moment the job leaves the pack. A job whose loss or gradient turned non-finite has no outcome
     * (null at its place) and keeps its last good files; its reason is in {@link #failure()}.
     * tokenBudget (0: none) caps a pass's rows × length. Resumed jobs should be {@link #align}ed first.
     *
     * @param jobs the jobs
     * @param model the model
     * @param modelName how the model is named in what is written
     * @param listeners one listener per job
     * @param tokenBudget the most rows × positions in one forward pass (0: no limit)
     * @return each job's outcome, null for a job that diverged
     */
    public static List<Outcome> runPack(List<TrainJob> jobs, LoadedModel model, String modelName,
            List<Trainer.Listener> listeners, int tokenBudget) {
        return JobRun.runPack(jobs, model, modelName, listeners, tokenBudget);
    }

    /**
     * Lines the resumed jobs of a pack up at one step, so the pack goes on exactly as it would have
     * without the kill: a pack checkpoints all its members together, but a kill between two members'
     * writes leaves them one checkpoint apart; the members ahead then continue from their previous
     * checkpoint, at the others' step. Returns what it did, one line per moved member (empty: nothing).
     *
     * @param jobs the pack's jobs
     * @return one line per member that moved
     */
    public static List<String> align(List<TrainJob> jobs) {
        List<TrainJob> resumed = jobs.stream().filter(j -> j.from != null).toList();
        int common = resumed.stream().mapToInt(j -> j.from.state().step()).min().orElse(0);
        List<String> notes = new ArrayList<>();
        for (TrainJob j : resumed) {
            int at = j.from.state().step();
            if (at == common) {
                continue;
            }
            Checkpoint prev = j.run.loadPrevious();
            if (prev != null && prev.state().step() == common) {
                j.from = prev;
                notes.add(j.run.dir() + ": resumes at step " + common + " with the rest of its pack (its checkpoint at step "
                        + at + " was the pack's next, not written for every member)");
            } else {
                notes.add(j.run.dir() + ": resumes at its own step " + at + " (the pack's other members at " + common
                        + "): equal to its solo run within rounding, not bit for bit the uninterrupted pack");
            }
        }
        return notes;
    }

    /**
     * Computes each step's loss and gradient with {@code d} (data-parallel workers) instead of in this
     * process; the rows drawn, the update, evaluation and checkpoints stay the same, so a run can
     * resume in either mode. Returns this job.
     *
     * @param d the workers
     * @return this job
     */
    public TrainJob distribute(DataParallel.Distributor d) {
        this.distributor = d;
        return this;
    }

    /**
     * Why this job's run stopped in a pack (a non-finite loss or gradient), or null.
     *
     * @return the failure, or null
     */
    public UserException failure() {
        return failure;
    }


    @Override
    public void close() {
        run.close();
    }
}
