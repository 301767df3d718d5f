package io.softprompt.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.train.RunDir;
import io.softprompt.util.Durations;
import io.softprompt.util.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A sweep's progress as its runs end: the best run so far (by best dev accuracy) and the one line
 * printed per run.
 */
final class SweepProgress {
    private String run;
    private double accuracy = Double.NEGATIVE_INFINITY;

    /** Takes a finished run's accuracy (null: none) and returns the best so far as "0.6010 (run)", or null. */
    synchronized String offer(String id, Double acc) {
        if (acc != null && acc > accuracy) {
            accuracy = acc;
            run = id;
        }
        return run == null ? null : String.format(Locale.ROOT, "%.4f (%s)", accuracy, run);
    }

    /**
     * One line per run as it ends: its place, its id, its best dev accuracy (or that it failed), the
     * sweep's best so far and the time left, estimated from the runs this invocation trained.
     */
    static String line(int n, int total, String id, String outcome, Double acc, String best, double etaSeconds) {
        String what = !outcome.equals("finish") ? "FAILED (see its train.log)"
                : acc == null ? "finished" : String.format(Locale.ROOT, "best dev acc %.4f", acc);
        return String.format(Locale.ROOT, "[%d/%d] %s: %s | sweep best %s | ETA %s", n, total, id, what,
                best == null ? "-" : best, n == total ? "0:00" : Durations.clock(etaSeconds));
    }

    /** A finished run's best dev accuracy from its final.json; null when it has none. */
    static Double bestAccuracy(Path dir) {
        try {
            JsonNode v = Json.MAPPER.readTree(dir.resolve(RunDir.FINAL).toFile()).get("best_dev_accuracy");
            return v != null && v.isNumber() ? v.asDouble() : null;
        } catch (IOException e) {
            return null;
        }
    }
}
