package io.softprompt.cli;

import io.softprompt.api.SoftPrompt;
import io.softprompt.hub.ModelLocator;
import io.softprompt.sweep.SweepRunner;
import io.softprompt.train.RunDir;
import io.softprompt.train.TrainConfig;
import io.softprompt.train.TrainJob;
import io.softprompt.train.Trainer;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import picocli.CommandLine.Model.OptionSpec;

/**
 * {@code train --pack-member DIR ...}: the run folders of a sweep's pack trained together over one
 * model ({@link TrainJob#runPack}). Each member resumes from its checkpoint or starts from its
 * {@value SweepRunner#CONFIG_FILE}; each writes its own progress to its own train.log, as a solo
 * run's; this process's standard error gets one line per member as it starts and as it ends.
 */
final class PackTraining {
    private final TrainCommand cmd;
    private final PrintWriter out;
    private final PrintWriter err;
    private ModelLocator.Located where;   // the pack's model, as its first member names it
    private String whereSpec;

    PackTraining(TrainCommand cmd, PrintWriter out, PrintWriter err) {
        this.cmd = cmd;
        this.out = out;
        this.err = err;
    }

    int call() {
        for (OptionSpec o : cmd.spec.commandLine().getParseResult().matchedOptions()) {
            if (!TrainCommand.WITH_PACK.contains(o.longestName())) {
                throw new UserException(o.longestName() + " cannot be used with --pack-member: each member's "
                        + "configuration is its run folder's");
            }
        }
        if (cmd.tokenBudget < 0) {
            throw new UserException("--token-budget must be 0 (no limit) or positive (got " + cmd.tokenBudget + ")");
        }
        List<TrainJob> jobs = new ArrayList<>();
        List<PrintWriter> logs = new ArrayList<>();
        try {
            for (Path dir : cmd.packMembers) {
                jobs.add(member(dir));
            }
            for (String note : TrainJob.align(jobs)) {
                err.println(note);
            }
            try (SoftPrompt sp = SoftPrompt.of(cmd.modelOptions.load(where))) {
                List<Trainer.Listener> listeners = new ArrayList<>();
                List<Progress> progress = new ArrayList<>();
                for (int k = 0; k < jobs.size(); k++) {
                    TrainJob job = jobs.get(k);
                    TrainConfig c = job.checkModel(sp.model(), where.name());
                    PrintWriter log = open(job.runDir().dir().resolve("train.log"));
                    logs.add(log);
                    String line = String.format(Locale.ROOT, "%s a %d-token prompt for task %s on %s (%s) in a pack of %d%s: "
                            + "%d train, %d dev examples, %s; run folder %s",
                            job.resumedFrom() != null ? "resuming at step " + job.resumedFrom().state().step() + ":" : "training",
                            c.tokens(), job.task().name(), where.name(), TrainCommand.placement(sp.model()), jobs.size(),
                            cmd.tokenBudget > 0 ? " (at most " + cmd.tokenBudget + " tokens a pass)" : "",
                            job.trainExamples(), job.devExamples(), TrainCommand.schedule(c, job, sp.model()),
                            job.runDir().dir());
                    log.println(line);
                    log.flush();
                    err.println("[" + name(job) + "] " + line);
                    Progress p = new Progress(log, false, Terminal.DEFAULT_WIDTH);
                    progress.add(p);
                    listeners.add(k == 0 ? cmd.debugHooks(p) : p); // the test hook's delay once per step, not per member
                }
                err.flush();
                List<TrainJob.Outcome> outcomes = TrainJob.runPack(jobs, sp.model(), where.name(), listeners, cmd.tokenBudget);
                int failed = 0;
                for (int k = 0; k < jobs.size(); k++) {
                    TrainJob.Outcome o = outcomes.get(k);
                    progress.get(k).finish();
                    String line;
                    if (o == null) {
                        failed++;
                        line = "error: " + jobs.get(k).failure().message(Flags::flag);
                    } else {
                        Object acc = o.summary().get("best_dev_accuracy");
                        line = String.format(Locale.ROOT, "wrote %s (best dev accuracy %s at step %d%s)", o.output(),
                                acc == null ? "n/a" : String.format(Locale.ROOT, "%.4f", (Double) acc), o.result().bestStep(),
                                o.result().stoppedEarly() ? ", stopped early at step " + o.result().steps() : "");
                        if (cmd.common.json) {
                            out.println(Json.write(o.summary()));
                        }
                    }
                    logs.get(k).println(line);
                    logs.get(k).flush();
                    err.println("[" + name(jobs.get(k)) + "] " + line);
                }
                err.flush();
                out.flush();
                if (failed > 0) {
                    throw new UserException(failed + " of " + jobs.size() + " pack members stopped on a non-finite loss or "
                            + "gradient (see their train.log)", UserException.EXIT_DIVERGED);
                }
            }
        } finally {
            jobs.forEach(TrainJob::close);
            logs.forEach(PrintWriter::close);
        }
        return 0;
    }

    /** A member: resumed from its checkpoint, or started from its configuration file, as a solo sweep run would be. */
    private TrainJob member(Path dir) {
        if (Files.isRegularFile(dir.resolve(RunDir.CHECKPOINT))) {
            TrainJob job = TrainJob.resume(dir);
            try {
                model(job.config().model(), dir);
            } catch (RuntimeException e) {
                job.close();
                throw e;
            }
            return job;
        }
        Path file = dir.resolve(SweepRunner.CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            throw new UserException("--pack-member " + dir + ": neither a checkpoint nor " + SweepRunner.CONFIG_FILE);
        }
        TrainConfig c = TrainConfig.overlay(TrainConfig.defaults(), ConfigFile.read(file), file.toString()).toBuilder()
                .output(dir.resolve("prompt.sp").toString()).build().validate();
        ModelLocator.Located w = model(c.model(), dir);
        return TrainJob.prepare(TrainJob.withModelData(c, w.trainData(), w.devData()), dir, true);
    }

    /** The pack's model: located for the first member; every other member must name the same one. */
    private ModelLocator.Located model(String spec, Path dir) {
        if (where == null) {
            where = cmd.modelOptions.locate(spec, err);
            whereSpec = spec;
            return where;
        }
        boolean same = Objects.equals(spec, whereSpec)
                || cmd.modelOptions.locate(spec, err).folder().toAbsolutePath().normalize()
                        .equals(where.folder().toAbsolutePath().normalize());
        if (!same) {
            throw new UserException("--pack-member " + dir + ": trains on " + spec + ", the pack on " + where.name()
                    + " (a pack shares one model)");
        }
        return where;
    }

    private static String name(TrainJob job) {
        return job.runDir().dir().getFileName().toString();
    }

    private static PrintWriter open(Path file) {
        try {
            return new PrintWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND));
        } catch (IOException e) {
            throw new UserException("cannot write " + file + ": " + AtomicFiles.reason(e), e);
        }
    }
}
