package io.softprompt.train;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import io.softprompt.util.Outputs;
import io.softprompt.util.UserException;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A run folder: what a training run leaves behind, each file written so that a kill at any moment
 * leaves a usable state, and one process at a time (an OS file lock on {@code .lock}, released when
 * the process ends however it ends, so a killed run never blocks its own resume).
 *
 * <pre>
 *   config.json              the effective configuration (a valid --config file)
 *   checkpoint.safetensors   the latest checkpoint (atomic: temp file + rename)
 *   checkpoint.prev.safetensors  the one before it (a killed pack resumes all its members at one step)
 *   metrics.jsonl            one JSON object per logged step (appended, flushed per line)
 *   best.sp                  the best prompt so far (atomic)
 *   final.json               the outcome; present only when the run finished
 *   .lock                    held while a process trains here; holds its PID
 * </pre>
 */
public final class RunDir implements AutoCloseable {
    public static final String CONFIG = "config.json";
    public static final String CHECKPOINT = "checkpoint.safetensors";
    public static final String PREVIOUS = "checkpoint.prev.safetensors";
    public static final String METRICS = "metrics.jsonl";
    public static final String BEST = "best.sp";
    public static final String FINAL = "final.json";
    public static final String LOCK = ".lock";
    /** Temp files of {@link AtomicFiles}: ".NAME.tmp-PID". */
    private static final Pattern TEMP = Pattern.compile("^\\..+\\.tmp-(\\d+)$");

    private final Path dir;
    private EventFile events;
    private FileChannel lockChannel;
    private FileLock lock;
    private boolean created; // this run made the folder: closed holding nothing but its lock, it goes again

    private RunDir(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    /**
     * A fresh run in {@code dir}, locked for this process. Refuses a folder holding an unfinished run
     * (it can be resumed) or a finished one (its prompt is someone's finished work) unless
     * {@code force}, and a folder another process trains in, whatever {@code force} says.
     */
    public static RunDir create(Path dir, boolean force) {
        RunDir r = new RunDir(dir);
        if (Files.exists(r.dir) && !Files.isDirectory(r.dir)) {
            throw new UserException("{{run_dir}} " + dir + ": exists and is not a folder");
        }
        try {
            r.created = !Files.exists(r.dir);
            Files.createDirectories(r.dir);
        } catch (IOException e) {
            throw new UserException("{{run_dir}} " + dir + ": cannot create: " + AtomicFiles.reason(e));
        }
        r.lock();
        try {
            if (!force && r.finished()) {
                throw new UserException("{{run_dir}} " + dir + ": holds a finished run (" + FINAL + "); pass {{force}} to "
                        + "train again over it, or choose another {{output}}/{{run_dir}}");
            }
            if (!force && Files.isRegularFile(r.checkpoint())) {
                throw new UserException("{{run_dir}} " + dir + ": holds an unfinished run; continue it with {{resume}} " + dir
                        + ", or pass {{force}} to start over");
            }
            String started = r.startedFile();
            if (!force && started != null) {
                throw new UserException("{{run_dir}} " + dir + ": holds an unfinished run that stopped before its first "
                        + "checkpoint (" + started + "); pass {{force}} to start it over");
            }
            for (String f : List.of(CHECKPOINT, PREVIOUS, METRICS, BEST, FINAL, CONFIG)) {
                Files.deleteIfExists(r.dir.resolve(f));
            }
            r.removeStaleTemps();
        } catch (IOException e) {
            r.close();
            throw new UserException("{{run_dir}} " + dir + ": cannot prepare: " + AtomicFiles.reason(e));
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
        return r;
    }

    /** An existing run to resume, locked for this process; temp files a killed process left are removed. */
    public static RunDir open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new UserException("{{resume}} " + dir + ": not a folder");
        }
        RunDir r = new RunDir(dir);
        if (!Files.isRegularFile(r.checkpoint())) {
            if (r.startedFile() != null) {
                throw new UserException("{{resume}} " + dir + ": the run stopped before its first checkpoint, so there is "
                        + "nothing to resume; run the same train command again with {{force}} to start it over (a lower "
                        + "{{checkpoint_every}} saves sooner)");
            }
            throw new UserException("{{resume}} " + dir + ": not a run folder (no " + CHECKPOINT + ")");
        }
        r.lock();
        try {
            r.removeStaleTemps();
        } catch (IOException e) {
            r.close();
            throw new UserException("{{resume}} " + dir + ": cannot clean up: " + AtomicFiles.reason(e));
        }
        return r;
    }

    /**
     * Takes the folder's lock or refuses naming the process that holds it. The lock is the OS's (fcntl
     * on Linux): it goes with the process, so a SIGKILLed run leaves only a file whose lock is free.
     */
    private void lock() {
        Path file = dir.resolve(LOCK);
        try {
            lockChannel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            try {
                lock = lockChannel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // this very JVM holds it (a second job in-process)
            }
            if (lock == null) {
                String holder = new String(Files.readAllBytes(file), StandardCharsets.US_ASCII).strip();
                lockChannel.close();
                lockChannel = null;
                throw new UserException(dir + ": another process is training in this run folder (PID "
                        + (holder.isEmpty() ? "unknown" : holder) + "); wait for it to end or use another {{run_dir}}");
            }
            lockChannel.truncate(0);
            lockChannel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            lockChannel.force(false);
        } catch (IOException e) {
            close();
            throw new UserException(dir + ": cannot lock the run folder: " + AtomicFiles.reason(e));
        }
    }

    /**
     * Releases the lock (the .lock file stays; its lock is what counts), except that a folder this run
     * made and left holding nothing but its lock (a run refused before it wrote anything: a model that
     * will not load, say) is removed, so a refusal leaves nothing behind.
     */
    @Override
    public void close() {
        if (events != null) {
            try {
                events.close();
            } catch (IOException ignored) {
                // every record was flushed as it was written
            }
            events = null;
        }
        try {
            if (lock != null) {
                lock.release();
            }
            if (lockChannel != null) {
                lockChannel.close();
            }
        } catch (IOException ignored) {
            // the lock goes with the channel or the process anyway
        } finally {
            lock = null;
            lockChannel = null;
        }
        if (created) {
            created = false;
            try (Stream<Path> s = Files.list(dir)) {
                if (s.allMatch(p -> p.getFileName().toString().equals(LOCK))) {
                    Files.deleteIfExists(dir.resolve(LOCK));
                    Files.deleteIfExists(dir);
                }
            } catch (IOException ignored) {
                // an empty folder left behind is harmless: the next run in it starts fresh
            }
        }
    }

    /** Deletes ".NAME.tmp-PID" files whose process is gone (a run killed mid-write left them). */
    void removeStaleTemps() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                Matcher m = TEMP.matcher(p.getFileName().toString());
                if (m.matches() && Files.isRegularFile(p)
                        && !ProcessHandle.of(Long.parseLong(m.group(1))).map(ProcessHandle::isAlive).orElse(false)) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** A file a started run leaves before its first checkpoint (config.json, metrics.jsonl, best.sp), or null. */
    private String startedFile() {
        for (String f : List.of(CONFIG, METRICS, BEST, PREVIOUS)) {
            if (Files.exists(dir.resolve(f))) {
                return f;
            }
        }
        return null;
    }

    public Path dir() {
        return dir;
    }

    public Path checkpoint() {
        return dir.resolve(CHECKPOINT);
    }

    public Path best() {
        return dir.resolve(BEST);
    }

    public Path metrics() {
        return dir.resolve(METRICS);
    }

    public Path config() {
        return dir.resolve(CONFIG);
    }

    public boolean finished() {
        return Files.isRegularFile(dir.resolve(FINAL));
    }

    public void writeConfig(TrainConfig cfg) {
        write(config(), Json.pretty(cfg));
    }

    public void writeFinal(Map<String, Object> outcome) {
        write(dir.resolve(FINAL), Json.pretty(outcome));
    }

    /** Writes the checkpoint; the one it replaces becomes {@link #PREVIOUS} (a valid checkpoint exists throughout). */
    public void saveCheckpoint(Checkpoint c) {
        try {
            if (Files.isRegularFile(checkpoint())) {
                Path tmp = dir.resolve("." + PREVIOUS + ".tmp-" + ProcessHandle.current().pid());
                Files.copy(checkpoint(), tmp, StandardCopyOption.REPLACE_EXISTING);
                AtomicFiles.move(tmp, dir.resolve(PREVIOUS));
            }
            c.write(checkpoint());
        } catch (IOException e) {
            throw new UserException("cannot write checkpoint " + checkpoint() + ": " + AtomicFiles.reason(e), e);
        }
    }

    /**
     * Refuses a checkpoint whose config is not the one this run folder started with (config.json):
     * a checkpoint copied in from another run, or a config.json edited by hand.
     */
    public void checkAgainstConfig(Checkpoint c) {
        Path file = config();
        if (!Files.isRegularFile(file)) {
            return;
        }
        JsonNode recorded;
        JsonNode saved;
        try {
            saved = Json.MAPPER.readTree(Json.write(c.config())); // as config.json spells it, numbers and all
            recorded = Json.MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new UserException(file + ": " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j
                    ? Json.describe(j) : "cannot read: " + AtomicFiles.reason(e)));
        }
        if (recorded == null || !recorded.equals(saved)) {
            throw new UserException(checkpoint() + ": its config contradicts the run's " + file + " (a checkpoint from "
                    + "another run?); start afresh with {{force}} or restore the run's own files");
        }
    }

    public Checkpoint loadCheckpoint() {
        return Checkpoint.read(checkpoint());
    }

    /** The checkpoint before the latest, or null when there is none. */
    public Checkpoint loadPrevious() {
        Path p = dir.resolve(PREVIOUS);
        return Files.isRegularFile(p) ? Checkpoint.read(p) : null;
    }

    /**
     * Mirrors every line {@link #log} writes into a TensorBoard event file in {@code logDir} (a new
     * file per process, so a resumed run adds one), headed by the run's configuration as text.
     */
    public void reportToTensorBoard(Path logDir, String configText) {
        try {
            events = new EventFile(logDir);
            events.text(0, "config", configText);
        } catch (IOException e) {
            throw Outputs.failed("{{logging_dir}}", logDir, e);
        }
    }

    /** The line's numbers as scalars: train/KEY, and dev/KEY for the evaluation's figures. */
    private void mirror(Map<String, Object> line) throws IOException {
        long step = ((Number) line.get("step")).longValue();
        for (Map.Entry<String, Object> e : line.entrySet()) {
            if (e.getValue() instanceof Number n && !e.getKey().equals("step")) {
                events.scalar(step, "train/" + e.getKey(), n.doubleValue());
            } else if (e.getKey().equals("dev") && e.getValue() instanceof Map<?, ?> dev) {
                for (Map.Entry<?, ?> d : dev.entrySet()) {
                    if (d.getValue() instanceof Number n) {
                        events.scalar(step, "dev/" + d.getKey(), n.doubleValue());
                    }
                }
            }
        }
    }

    /** Appends one JSON line and flushes it: a kill loses at most the line being written. */
    public void log(Map<String, Object> line) {
        if (events != null) {
            try {
                mirror(line);
            } catch (IOException e) {
                throw Outputs.failed("", events.file(), e);
            }
        }
        try (BufferedWriter w = Files.newBufferedWriter(metrics(), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND)) {
            w.write(Json.write(line));
            w.write('\n');
        } catch (IOException e) {
            throw new UserException("cannot append to " + metrics() + ": " + AtomicFiles.reason(e), e);
        }
    }

    /**
     * On resume: drops log lines past the checkpoint's step (they will be logged again) and any torn
     * last line, so the log reads as one uninterrupted run.
     */
    public void truncateMetricsAfter(int step) {
        Path m = metrics();
        if (!Files.isRegularFile(m)) {
            return;
        }
        try {
            List<String> keep = new ArrayList<>();
            for (String line : Files.readAllLines(m, StandardCharsets.UTF_8)) {
                try {
                    JsonNode n = Json.MAPPER.readTree(line);
                    if (n != null && n.has("step") && n.get("step").asInt() <= step) {
                        keep.add(line);
                    }
                } catch (IOException torn) {
                    // a line cut by the kill: dropped
                }
            }
            AtomicFiles.writeString(m, keep.isEmpty() ? "" : String.join("\n", keep) + "\n");
        } catch (IOException e) {
            throw new UserException("cannot rewrite " + m + ": " + AtomicFiles.reason(e), e);
        }
    }

    private static void write(Path file, String content) {
        Outputs.replaceString("", file, content + "\n");
    }
}
