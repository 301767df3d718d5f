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

    /**
     * The same figures in the Prometheus text exposition format (version 0.0.4): counters end in
     * _total, latency is a summary over the last requests' window.
     */
    public synchronized String prometheus(int queued, int connections, int droppedSlow) {
        StringBuilder sb = new StringBuilder();
        counter(sb, "softprompt_requests_total", "POST /v1/predict requests", requests.get());
        counter(sb, "softprompt_items_total", "items scored", items.get());
        counter(sb, "softprompt_errors_4xx_total", "requests answered 4xx", clientErrors.get());
        counter(sb, "softprompt_errors_5xx_total", "requests answered 5xx other than 503", serverErrors.get());
        counter(sb, "softprompt_rejected_total", "requests answered 503 (queue full or too many connections)", rejected.get());
        counter(sb, "softprompt_batches_total", "forward passes", batches.get());
        counter(sb, "softprompt_batched_items_total", "items in those forward passes", batchedItems.get());
        counter(sb, "softprompt_connections_dropped_slow_total", "connections dropped for missing the read deadline",
                droppedSlow);
        gauge(sb, "softprompt_queued_items", "items waiting for a batch", queued);
        gauge(sb, "softprompt_connections", "exchanges being served", connections);
        int n = (int) Math.min(latencyCount, WINDOW);
        double[] l = Arrays.copyOf(latencies, n);
        Arrays.sort(l);
        sb.append("# HELP softprompt_latency_ms POST /v1/predict latency in milliseconds (last ").append(WINDOW)
                .append(" requests)\n# TYPE softprompt_latency_ms summary\n");
        for (double q : new double[] {0.5, 0.9, 0.99}) {
            Double v = percentile(l, q);
            sb.append("softprompt_latency_ms{quantile=\"").append(q).append("\"} ")
                    .append(v == null ? "NaN" : Double.toString(v)).append('\n');
        }
        double sum = 0;
        for (double v : l) {
            sum += v;
        }
        sb.append("softprompt_latency_ms_sum ").append(sum).append('\n');
        sb.append("softprompt_latency_ms_count ").append(n).append('\n');
        return sb.toString();
    }

    private static void counter(StringBuilder sb, String name, String help, long value) {
        sb.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" counter\n")
                .append(name).append(' ').append(value).append('\n');
    }

    private static void gauge(StringBuilder sb, String name, String help, long value) {
        sb.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" gauge\n")
                .append(name).append(' ').append(value).append('\n');
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
