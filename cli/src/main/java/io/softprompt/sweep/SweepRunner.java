package io.softprompt.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.train.RunDir;
import io.softprompt.train.TrainConfig;
import io.softprompt.train.TrainJob;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Hashing;
import io.softprompt.util.Json;
import io.softprompt.util.Outputs;
import io.softprompt.util.UserException;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs a sweep's runs, each as a {@code softprompt train} child process in its own run folder
 * {@code OUT/<id>/}: a finished run (final.json) is skipped, an interrupted one (a checkpoint, no
 * final.json) resumed, any other started afresh. K workers run K children at once; each child gets
 * cores / K PyTorch threads (OMP_NUM_THREADS, MKL_NUM_THREADS), so K runs share the machine without
 * oversubscribing it. Children watch the sweep's process and stop with it, so killing the sweep
 * leaves no orphan writing to a run folder. Every event goes to OUT/sweep.jsonl.
 */
public final class SweepRunner {
    /** What happened to each run: finished, skipped (already finished), failed. */
    public record Outcome(List<String> finished, List<String> skipped, List<String> failed) {}

    private final Path out;
    private final int workers;
    private final PrintWriter err;
    private final List<String> trainCommand;
    private final List<String> extraArgs;
    private final int pack;
    private final int tokenBudget;

    /**
     * trainCommand starts {@code softprompt train} in a child process (the caller knows how: this
     * package sits below the command line); the runner appends each run's flags, then extraArgs.
     */
    public SweepRunner(Path out, int workers, PrintWriter err, List<String> trainCommand, List<String> extraArgs) {
        this(out, workers, 1, 0, err, trainCommand, extraArgs);
    }

    /**
     * As above, with runs trained in packs of up to {@code pack} per child (runs that share model and
     * max length; see {@link #packs}), each forward pass at most tokenBudget rows × positions (0: no limit).
     */
    public SweepRunner(Path out, int workers, int pack, int tokenBudget, PrintWriter err, List<String> trainCommand,
            List<String> extraArgs) {
        this.out = out;
        this.workers = workers;
        this.pack = pack;
        this.tokenBudget = tokenBudget;
        this.err = err;
        this.trainCommand = List.copyOf(trainCommand);
        this.extraArgs = extraArgs;
    }

    /**
     * Refuses an --out folder that holds something other than a sweep (no sweep.json, yet files): a
     * sweep writes sweep.json, sweep.jsonl and a folder per run there, and must not mix them into (or
     * reset run folders inside) a folder of the user's.
     */
    public static void checkOut(Path out) {
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new UserException("--out " + out + ": exists and is not a folder");
        }
        Path abs = out.toAbsolutePath().normalize();
        Outputs.probe("--out", out, Files.isDirectory(abs) ? abs : abs.getParent());
        if (!Files.isDirectory(out) || Files.isRegularFile(out.resolve("sweep.json"))) {
            return;
        }
        try (Stream<Path> s = Files.list(out)) {
            var other = s.map(p -> p.getFileName().toString()).sorted().findFirst();
            if (other.isPresent()) {
                throw new UserException("--out " + out + ": holds " + UserException.quote(other.get()) + " but no sweep.json, "
                        + "so it is not a sweep's folder; choose a new or empty folder");
            }
        } catch (IOException e) {
            throw new UserException("--out " + out + ": cannot list: " + AtomicFiles.reason(e));
        }
    }

    public Outcome run(SweepPlan plan, List<SweepPlan.Run> runs) throws IOException, InterruptedException {
        Files.createDirectories(out);
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("name", plan.name());
        meta.put("base", plan.base());
        meta.put("grid", plan.grid());
        Outputs.replaceString("--out", out.resolve("sweep.json"), Json.pretty(meta) + "\n");
        List<String> finished = Collections.synchronizedList(new ArrayList<>());
        List<String> skipped = Collections.synchronizedList(new ArrayList<>());
        List<String> failed = Collections.synchronizedList(new ArrayList<>());
        // a unit is what one child trains: one run, or a pack of runs sharing model and max length
        List<List<SweepPlan.Run>> units = new ArrayList<>();
        List<SweepPlan.Run> toTrain = new ArrayList<>();
        for (SweepPlan.Run r : runs) {
            if (state(r, fingerprint(r, "run " + r.id())) == State.FINISHED) {
                event(r.id(), "skip", Map.of());
                skipped.add(r.id());
            } else {
                toTrain.add(r);
            }
        }
        if (pack > 1) {
            units.addAll(packs(toTrain, pack));
        } else {
            toTrain.forEach(r -> units.add(List.of(r)));
        }
        ConcurrentLinkedQueue<List<SweepPlan.Run>> queue = new ConcurrentLinkedQueue<>(units);
        AtomicInteger done = new AtomicInteger(skipped.size());
        AtomicInteger ranHere = new AtomicInteger();
        long started = System.nanoTime();
        SweepProgress best = new SweepProgress();
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors() / workers);
        err.printf(Locale.ROOT, "sweep %s: %d runs in %s (%d already finished), %d worker(s) x %d thread(s)%s%n", plan.name(),
                runs.size(), out, skipped.size(), workers, threads,
                pack > 1 ? ", " + units.size() + " pack(s) of up to " + pack : "");
        err.flush();
        List<Thread> pool = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            Thread t = new Thread(() -> {
                for (List<SweepPlan.Run> unit; (unit = queue.poll()) != null; ) {
                    Map<String, String> what;
                    try {
                        what = unit.size() == 1 && pack <= 1 ? Map.of(unit.get(0).id(), runOne(plan, unit.get(0), threads))
                                : runPack(plan, unit, threads);
                    } catch (IOException e) {
                        what = new LinkedHashMap<>();
                        for (SweepPlan.Run r : unit) {
                            what.put(r.id(), "fail");
                            event(r.id(), "fail", Map.of("error", e.toString()));
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                    for (SweepPlan.Run r : unit) {
                        String outcome = what.get(r.id());
                        (outcome.equals("finish") ? finished : failed).add(r.id());
                        int n = done.incrementAndGet();
                        int ran = ranHere.incrementAndGet();
                        double eta = (System.nanoTime() - started) / 1e9 / ran * (runs.size() - n);
                        Double acc = outcome.equals("finish") ? SweepProgress.bestAccuracy(out.resolve(r.id())) : null;
                        synchronized (err) {
                            err.println(SweepProgress.line(n, runs.size(), r.id(), outcome, acc, best.offer(r.id(), acc), eta));
                            err.flush();
                        }
                    }
                }
            }, "sweep-worker-" + w);
            t.start();
            pool.add(t);
        }
        for (Thread t : pool) {
            t.join();
        }
        return new Outcome(List.copyOf(finished), List.copyOf(skipped), List.copyOf(failed));
    }

    /** The file in each run folder that records which configuration the run was started with. */
    public static final String RUN_RECORD = "sweep-run.json";

    /**
     * The fingerprint of a run's full effective configuration (defaults, base, grid point; validated
     * and with every path resolved, as train records it): SHA-256 of its JSON.
     */
    public static String fingerprint(SweepPlan.Run r, String source) {
        TrainConfig cfg = effective(r, source);
        return "sha256:" + HexFormat.of().formatHex(Hashing.sha256().digest(Json.write(cfg).getBytes(StandardCharsets.UTF_8)));
    }

    /** A run's full effective configuration: defaults, base and grid point, checked as train checks it. */
    static TrainConfig effective(SweepPlan.Run r, String source) {
        return TrainJob.check(TrainConfig.overlay(TrainConfig.defaults(), r.config(), source));
    }

    /** What a run folder holds against the plan: new, finished, interrupted, or changed (another configuration). */
    public enum State { NEW, FINISHED, INTERRUPTED, CHANGED }

    /** A run's state; CHANGED when its folder was started with another configuration than the one now planned. */
    public State state(SweepPlan.Run r, String fingerprint) throws IOException {
        Path dir = out.resolve(r.id());
        boolean started = Files.isRegularFile(dir.resolve(RunDir.CHECKPOINT)) || Files.isRegularFile(dir.resolve(RunDir.FINAL))
                || Files.isRegularFile(dir.resolve(RUN_RECORD));
        if (!started) {
            return State.NEW;
        }
        String recorded = null;
        if (Files.isRegularFile(dir.resolve(RUN_RECORD))) {
            recorded = Json.MAPPER.readTree(dir.resolve(RUN_RECORD).toFile()).path("fingerprint").asText(null);
        }
        if (!fingerprint.equals(recorded)) {
            return State.CHANGED;
        }
        return Files.isRegularFile(dir.resolve(RunDir.FINAL)) ? State.FINISHED : State.INTERRUPTED;
    }

    /**
     * The runs to train grouped into packs of up to {@code size}: runs of one model and one max length
     * together, in grid order (a pack's forward passes are as long as its longest rows allow), as few
     * packs as the size allows and of sizes as even as can be (7 runs in packs of 4: 4 and 3).
     */
    public static List<List<SweepPlan.Run>> packs(List<SweepPlan.Run> runs, int size) {
        Map<String, List<SweepPlan.Run>> groups = new LinkedHashMap<>();
        for (SweepPlan.Run r : runs) {
            TrainConfig c = effective(r, "run " + r.id());
            groups.computeIfAbsent(c.model() + "\u0000" + c.maxLength(), k -> new ArrayList<>()).add(r);
        }
        List<List<SweepPlan.Run>> out = new ArrayList<>();
        for (List<SweepPlan.Run> g : groups.values()) {
            int count = (g.size() + size - 1) / size;   // as few packs as the size allows, their sizes as even as can be
            for (int p = 0, from = 0; p < count; p++) {
                int to = from + g.size() / count + (p < g.size() % count ? 1 : 0);
                out.add(List.copyOf(g.subList(from, to)));
                from = to;
            }
        }
        return out;
    }

    private String runOne(SweepPlan plan, SweepPlan.Run r, int threads) throws IOException, InterruptedException {
        Path dir = out.resolve(r.id());
        boolean resume = prepareFolder(plan, r);
        List<String> cmd = new ArrayList<>(trainCommand);
        if (resume) {
            cmd.addAll(List.of("--resume", dir.toString()));
        } else {
            cmd.addAll(List.of("--config", dir.resolve(CONFIG_FILE).toString(), "--run-dir", dir.toString(), "-o",
                    dir.resolve("prompt.sp").toString(), "--force"));
        }
        cmd.addAll(List.of("--parent-pid", Long.toString(ProcessHandle.current().pid())));
        cmd.addAll(extraArgs);
        event(r.id(), resume ? "resume" : "start", Map.of());
        long t0 = System.nanoTime();
        int code = launch(cmd, dir.resolve("train.log"), threads);
        return conclude(r, code, (System.nanoTime() - t0) / 1e9, dir.resolve("train.log"));
    }

    /** One child trains the runs as a pack; each run's outcome is read from its own folder. */
    private Map<String, String> runPack(SweepPlan plan, List<SweepPlan.Run> unit, int threads)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(trainCommand);
        List<String> ids = unit.stream().map(SweepPlan.Run::id).toList();
        Map<String, Boolean> resumed = new LinkedHashMap<>();
        for (SweepPlan.Run r : unit) {
            resumed.put(r.id(), prepareFolder(plan, r));
            cmd.addAll(List.of("--pack-member", out.resolve(r.id()).toString()));
        }
        if (tokenBudget > 0) {
            cmd.addAll(List.of("--token-budget", Integer.toString(tokenBudget)));
        }
        cmd.addAll(List.of("--parent-pid", Long.toString(ProcessHandle.current().pid())));
        cmd.addAll(extraArgs);
        Path log = out.resolve(PACKS).resolve("pack-" + ids.get(0) + ".log");
        Files.createDirectories(log.getParent());
        for (SweepPlan.Run r : unit) {
            event(r.id(), resumed.get(r.id()) ? "resume" : "start", Map.of("pack", ids));
        }
        long t0 = System.nanoTime();
        int code = launch(cmd, log, threads);
        double secs = (System.nanoTime() - t0) / 1e9;
        Map<String, String> what = new LinkedHashMap<>();
        for (SweepPlan.Run r : unit) {
            Path own = out.resolve(r.id()).resolve("train.log");
            what.put(r.id(), conclude(r, code, secs, Files.isRegularFile(own) && lastLine(own).startsWith("error") ? own : log));
        }
        return what;
    }

    /** Where a packed sweep's child processes log (each run's own progress is in its folder's train.log). */
    public static final String PACKS = "packs";

    /** A fresh run's configuration in its folder (train --config reads it; so does a pack member). */
    public static final String CONFIG_FILE = "sweep-config.json";

    /**
     * Readies a run's folder: a folder started with another configuration is emptied (the caller
     * refused these unless told to start them afresh), the run record written; returns whether the
     * run resumes from a checkpoint (else its configuration file is written for a fresh start).
     */
    private boolean prepareFolder(SweepPlan plan, SweepPlan.Run r) throws IOException {
        Path dir = out.resolve(r.id());
        String fp = fingerprint(r, "run " + r.id());
        State state = state(r, fp);
        if (state == State.CHANGED) {
            for (String f : List.of(RunDir.CHECKPOINT, RunDir.PREVIOUS, RunDir.FINAL, RunDir.METRICS, RunDir.BEST, RunDir.CONFIG,
                    RUN_RECORD, "prompt.sp", "train.log")) {
                Files.deleteIfExists(dir.resolve(f));
            }
            event(r.id(), "reset", Map.of("reason", "configuration changed"));
        }
        Files.createDirectories(dir);
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("fingerprint", fp);
        record.put("sweep", plan.name());
        record.put("grid", plan.grid().keySet());
        record.put("config", r.config());
        Outputs.replaceString("--out", dir.resolve(RUN_RECORD), Json.pretty(record) + "\n");
        if (state == State.INTERRUPTED && Files.isRegularFile(dir.resolve(RunDir.CHECKPOINT))) {
            return true;
        }
        Outputs.replaceString("--out", dir.resolve(CONFIG_FILE), Json.pretty(r.config()) + "\n");
        return false;
    }

    /** Runs a child with its output appended to log and threads PyTorch threads; its exit code. */
    private static int launch(List<String> cmd, Path log, int threads) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
        pb.environment().put("MKL_NUM_THREADS", Integer.toString(threads));
        pb.environment().put("MALLOC_ARENA_MAX", "2");
        return pb.start().waitFor();
    }

    /** A run finished when its final.json is there; else it failed, with log's last line as the reason. */
    private String conclude(SweepPlan.Run r, int code, double secs, Path log) throws IOException {
        Path dir = out.resolve(r.id());
        if (Files.isRegularFile(dir.resolve(RunDir.FINAL))) {
            JsonNode fin = Json.MAPPER.readTree(dir.resolve(RunDir.FINAL).toFile());
            Map<String, Object> extra = new LinkedHashMap<>();
            extra.put("seconds", secs);
            extra.put("best_dev_accuracy", fin.get("best_dev_accuracy"));
            event(r.id(), "finish", extra);
            return "finish";
        }
        String last = lastLine(log);
        event(r.id(), "fail", Map.of("exit_code", code, "message", last));
        synchronized (err) {
            err.printf(Locale.ROOT, "run %s failed (exit %d): %s%n", r.id(), code, last);
        }
        return "fail";
    }

    private static String lastLine(Path log) throws IOException {
        if (!Files.isRegularFile(log)) {
            return "";
        }
        List<String> lines = Files.readAllLines(log);
        return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
    }

    private synchronized void event(String run, String what, Map<String, Object> extra) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("time", Instant.now().toString());
        e.put("run", run);
        e.put("event", what);
        e.putAll(extra);
        try (BufferedWriter w = Files.newBufferedWriter(out.resolve("sweep.jsonl"), StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            w.write(Json.write(e));
            w.write('\n');
        } catch (IOException ex) {
            throw Outputs.failed("--out", out.resolve("sweep.jsonl"), ex);
        }
    }
}
