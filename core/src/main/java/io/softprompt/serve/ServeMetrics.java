package io.softprompt.serve;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** Counters and distributions the server reports at GET /metrics. */
public final class ServeMetrics {
    private static final int WINDOW = 10_000;
    final AtomicLong requests = new AtomicLong();
    final AtomicLong items = new AtomicLong();
    final AtomicLong clientErrors = new AtomicLong();
    final AtomicLong serverErrors = new AtomicLong();
    final AtomicLong rejected = new AtomicLong();
    final AtomicLong batches = new AtomicLong();
    final AtomicLong batchedItems = new AtomicLong();
    private final long[] batchSizes = new long[65];
    private final double[] latencies = new double[WINDOW];
    private long latencyCount;
    private int maxBatch;

    synchronized void batch(int size) {
        batches.incrementAndGet();
        batchedItems.addAndGet(size);
        batchSizes[Math.min(size, 64)]++;
        maxBatch = Math.max(maxBatch, size);
    }

    synchronized void latency(double ms) {
        latencies[(int) (latencyCount++ % WINDOW)] = ms;
    }

    public synchronized Map<String, Object> snapshot(int queued) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("requests", requests.get());
        m.put("items", items.get());
        m.put("errors_4xx", clientErrors.get());
        m.put("errors_5xx", serverErrors.get());
        m.put("rejected_503", rejected.get());
        m.put("queued", queued);
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("count", batches.get());
        b.put("mean_size", batches.get() == 0 ? 0 : (double) batchedItems.get() / batches.get());
        b.put("max_size", maxBatch);
        Map<String, Long> hist = new LinkedHashMap<>();
        for (int i = 1; i < batchSizes.length; i++) {
            if (batchSizes[i] > 0) {
                hist.put(i == 64 ? "64+" : Integer.toString(i), batchSizes[i]);
            }
        }
        b.put("sizes", hist);
        m.put("batches", b);
        int n = (int) Math.min(latencyCount, WINDOW);
        double[] l = Arrays.copyOf(latencies, n);
        Arrays.sort(l);
        Map<String, Object> lat = new LinkedHashMap<>();
        lat.put("window", n);
        lat.put("p50", percentile(l, 0.50));
        lat.put("p90", percentile(l, 0.90));
        lat.put("p99", percentile(l, 0.99));
        lat.put("max", n == 0 ? null : l[n - 1]);
        m.put("latency_ms", lat);
        return m;
    }

    /** Nearest-rank percentile of sorted values; null when empty. */
    public static Double percentile(double[] sorted, double q) {
        if (sorted.length == 0) {
            return null;
        }
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }
}
