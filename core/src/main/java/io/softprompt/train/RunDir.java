package io.softprompt.train;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A run folder: what a training run leaves behind, each file written so that a kill at any moment
 * leaves a usable state.
 *
 * <pre>
 *   config.json              the effective configuration (a valid --config file)
 *   checkpoint.safetensors   the latest checkpoint (atomic: temp file + rename)
 *   metrics.jsonl            one JSON object per logged step (appended, flushed per line)
 *   best.sp                  the best prompt so far (atomic)
 *   final.json               the outcome; present only when the run finished
 * </pre>
 */
public final class RunDir {
    public static final String CONFIG = "config.json";
    public static final String CHECKPOINT = "checkpoint.safetensors";
    public static final String METRICS = "metrics.jsonl";
    public static final String BEST = "best.sp";
    public static final String FINAL = "final.json";

    private final Path dir;

    private RunDir(Path dir) {
        this.dir = dir;
    }

    /**
     * A fresh run in {@code dir}. Refuses a folder holding an unfinished run unless {@code force}, so that
     * a second command cannot wipe out a resumable run by accident; a finished run's files are replaced.
     */
    public static RunDir create(Path dir, boolean force) {
        RunDir r = new RunDir(dir);
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new UserException("--run-dir " + dir + ": exists and is not a folder");
        }
        if (!force && Files.isRegularFile(r.checkpoint()) && !r.finished()) {
            throw new UserException("--run-dir " + dir + ": holds an unfinished run; continue it with --resume " + dir
                    + ", or pass --force to start over");
        }
        try {
            Files.createDirectories(dir);
            for (String f : List.of(CHECKPOINT, METRICS, BEST, FINAL, CONFIG)) {
                Files.deleteIfExists(dir.resolve(f));
            }
        } catch (IOException e) {
            throw new UserException("--run-dir " + dir + ": cannot prepare: " + e.getMessage());
        }
        return r;
    }

    /** An existing run to resume. */
    public static RunDir open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new UserException("--resume " + dir + ": not a folder");
        }
        RunDir r = new RunDir(dir);
        if (!Files.isRegularFile(r.checkpoint())) {
            throw new UserException("--resume " + dir + ": not a run folder (no " + CHECKPOINT + ")");
        }
        return r;
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

    public boolean finished() {
        return Files.isRegularFile(dir.resolve(FINAL));
    }

    public void writeConfig(TrainConfig cfg) {
        write(dir.resolve(CONFIG), Json.pretty(cfg));
    }

    public void writeFinal(Map<String, Object> outcome) {
        write(dir.resolve(FINAL), Json.pretty(outcome));
    }

    public void saveCheckpoint(Checkpoint c) {
        try {
            c.write(checkpoint());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + checkpoint(), e);
        }
    }

    public Checkpoint loadCheckpoint() {
        return Checkpoint.read(checkpoint());
    }

    /** Appends one JSON line and flushes it: a kill loses at most the line being written. */
    public void log(Map<String, Object> line) {
        try (BufferedWriter w = Files.newBufferedWriter(metrics(), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND)) {
            w.write(Json.write(line));
            w.write('\n');
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + metrics(), e);
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
            throw new UncheckedIOException("cannot rewrite " + m, e);
        }
    }

    private static void write(Path file, String content) {
        try {
            AtomicFiles.writeString(file, content + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
