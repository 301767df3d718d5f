package io.softprompt.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.train.RunDir;
import io.softprompt.train.TrainConfig;
import io.softprompt.train.TrainJob;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Hashing;
import io.softprompt.util.Json;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
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

    /**
     * trainCommand starts {@code softprompt train} in a child process (the caller knows how: this
     * package sits below the command line); the runner appends each run's flags, then extraArgs.
     */
    public SweepRunner(Path out, int workers, PrintWriter err, List<String> trainCommand, List<String> extraArgs) {
        this.out = out;
        this.workers = workers;
        this.err = err;
        this.trainCommand = List.copyOf(trainCommand);
        this.extraArgs = extraArgs;
    }

    public Outcome run(SweepPlan plan, List<SweepPlan.Run> runs) throws IOException, InterruptedException {
        Files.createDirectories(out);
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("name", plan.name());
        meta.put("base", plan.base());
        meta.put("grid", plan.grid());
        AtomicFiles.writeString(out.resolve("sweep.json"), Json.pretty(meta) + "\n");
        ConcurrentLinkedQueue<SweepPlan.Run> queue = new ConcurrentLinkedQueue<>(runs);
        List<String> finished = Collections.synchronizedList(new ArrayList<>());
        List<String> skipped = Collections.synchronizedList(new ArrayList<>());
        List<String> failed = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger done = new AtomicInteger();
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors() / workers);
        err.printf(Locale.ROOT, "sweep %s: %d runs in %s, %d worker(s) x %d thread(s)%n", plan.name(), runs.size(), out,
                workers, threads);
        err.flush();
        List<Thread> pool = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            Thread t = new Thread(() -> {
                for (SweepPlan.Run r; (r = queue.poll()) != null; ) {
                    try {
                        String what = runOne(plan, r, threads);
                        (what.equals("skip") ? skipped : what.equals("finish") ? finished : failed).add(r.id());
                    } catch (IOException e) {
                        failed.add(r.id());
                        event(r.id(), "fail", Map.of("error", e.toString()));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                    int n = done.incrementAndGet();
                    synchronized (err) {
                        err.printf(Locale.ROOT, "[%d/%d] %s%n", n, runs.size(), r.id());
                        err.flush();
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
        TrainConfig cfg = TrainJob.check(TrainConfig.overlay(TrainConfig.defaults(), r.config(), source));
        return "sha256:" + HexFormat.of().formatHex(Hashing.sha256().digest(Json.write(cfg).getBytes(StandardCharsets.UTF_8)));
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

    private String runOne(SweepPlan plan, SweepPlan.Run r, int threads) throws IOException, InterruptedException {
        Path dir = out.resolve(r.id());
        String fp = fingerprint(r, "run " + r.id());
        State state = state(r, fp);
        if (state == State.FINISHED) {
            event(r.id(), "skip", Map.of());
            return "skip";
        }
        if (state == State.CHANGED) { // the caller refused these unless it was told to start them afresh
            for (String f : List.of(RunDir.CHECKPOINT, RunDir.FINAL, RunDir.METRICS, RunDir.BEST, RunDir.CONFIG, RUN_RECORD,
                    "prompt.sp", "train.log")) {
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
        AtomicFiles.writeString(dir.resolve(RUN_RECORD), Json.pretty(record) + "\n");
        List<String> cmd = new ArrayList<>(trainCommand);
        String event;
        if (state == State.INTERRUPTED && Files.isRegularFile(dir.resolve(RunDir.CHECKPOINT))) {
            cmd.addAll(List.of("--resume", dir.toString()));
            event = "resume";
        } else {
            Path cfg = dir.resolve("sweep-config.json");
            AtomicFiles.writeString(cfg, Json.pretty(r.config()) + "\n");
            cmd.addAll(List.of("--config", cfg.toString(), "--run-dir", dir.toString(), "-o", dir.resolve("prompt.sp").toString(),
                    "--force"));
            event = "start";
        }
        cmd.addAll(List.of("--parent-pid", Long.toString(ProcessHandle.current().pid())));
        cmd.addAll(extraArgs);
        event(r.id(), event, Map.of());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("train.log").toFile()));
        pb.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
        pb.environment().put("MKL_NUM_THREADS", Integer.toString(threads));
        pb.environment().put("MALLOC_ARENA_MAX", "2");
        long t0 = System.nanoTime();
        Process p = pb.start();
        int code = p.waitFor();
        double secs = (System.nanoTime() - t0) / 1e9;
        if (code == 0 && Files.isRegularFile(dir.resolve(RunDir.FINAL))) {
            JsonNode fin = Json.MAPPER.readTree(dir.resolve(RunDir.FINAL).toFile());
            Map<String, Object> extra = new LinkedHashMap<>();
            extra.put("seconds", secs);
            extra.put("best_dev_accuracy", fin.get("best_dev_accuracy"));
            event(r.id(), "finish", extra);
            return "finish";
        }
        List<String> log = Files.readAllLines(dir.resolve("train.log"));
        String last = log.isEmpty() ? "" : log.get(log.size() - 1);
        event(r.id(), "fail", Map.of("exit_code", code, "message", last));
        synchronized (err) {
            err.printf(Locale.ROOT, "run %s failed (exit %d): %s%n", r.id(), code, last);
        }
        return "fail";
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
            throw new UncheckedIOException(ex);
        }
    }
}
