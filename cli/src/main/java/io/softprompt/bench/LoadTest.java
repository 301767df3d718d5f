package io.softprompt.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.data.DataSource;
import io.softprompt.data.Example;
import io.softprompt.data.Task;
import io.softprompt.data.TsvReader;
import io.softprompt.serve.ServeMetrics;
import io.softprompt.util.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A bounded load test against {@code softprompt serve} (a command that prints figures):
 *
 * <pre>
 *   LoadTest rows SST2_DEV_TSV N TASK1,TASK2 OUT.jsonl     write N sentences x tasks as infer --input rows
 *   LoadTest run URL ROWS.jsonl EXPECTED.jsonl THREADS REQUESTS MAX_ITEMS
 * </pre>
 *
 * {@code run} sends REQUESTS requests of 1..MAX_ITEMS mixed-task items from THREADS client threads,
 * then reports throughput, latency percentiles, errors, and every answer that differs from
 * {@code infer --input}'s (EXPECTED) in label or by more than 1e-4 in a probability. Exit code 1 on
 * any error or mismatch.
 */
public final class LoadTest {
    private LoadTest() {}

    public static void main(String[] args) throws Exception {
        if (args[0].equals("rows")) {
            Task sst2 = Task.resolve("sst2");
            List<Example> dev = TsvReader.read(DataSource.file(Path.of(args[1])), sst2, true);
            int n = Math.min(Integer.parseInt(args[2]), dev.size());
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < n; i++) {
                for (String t : args[3].split(",")) {
                    sb.append(Json.write(Map.of("task", t, "text", dev.get(i).text(), "id", t + "-" + i))).append('\n');
                }
            }
            Files.writeString(Path.of(args[4]), sb);
            return;
        }
        String url = args[1];
        List<JsonNode> rows = new ArrayList<>();
        for (String l : Files.readAllLines(Path.of(args[2]))) {
            rows.add(Json.MAPPER.readTree(l));
        }
        Map<String, JsonNode> expected = new HashMap<>();
        for (String l : Files.readAllLines(Path.of(args[3]))) {
            JsonNode j = Json.MAPPER.readTree(l);
            expected.put(j.get("id").asText(), j);
        }
        int threads = Integer.parseInt(args[4]);
        int requests = Integer.parseInt(args[5]);
        int maxItems = Integer.parseInt(args[6]);
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        waitHealthy(client, url);
        AtomicInteger errors = new AtomicInteger();
        AtomicInteger mismatches = new AtomicInteger();
        AtomicInteger items = new AtomicInteger();
        double[] latency = new double[requests];
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> futures = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int r = 0; r < requests; r++) {
            int req = r;
            futures.add(pool.submit(() -> {
                int k = 1 + req % maxItems;
                List<JsonNode> part = new ArrayList<>();
                for (int j = 0; j < k; j++) {
                    part.add(rows.get((req * maxItems + j * 7) % rows.size()));
                }
                String body = Json.write(Map.of("items", part));
                long s = System.nanoTime();
                try {
                    HttpResponse<String> resp = client.send(HttpRequest.newBuilder(URI.create(url + "/v1/predict"))
                            .timeout(Duration.ofSeconds(120)).header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                    latency[req] = (System.nanoTime() - s) / 1e6;
                    if (resp.statusCode() != 200) {
                        errors.incrementAndGet();
                        System.err.println("HTTP " + resp.statusCode() + ": " + resp.body());
                        return null;
                    }
                    for (JsonNode got : Json.MAPPER.readTree(resp.body()).get("results")) {
                        items.incrementAndGet();
                        if (!same(expected.get(got.get("id").asText()), got)) {
                            mismatches.incrementAndGet();
                            System.err.println("differs from infer: " + got + " vs " + expected.get(got.get("id").asText()));
                        }
                    }
                } catch (Exception e) {
                    errors.incrementAndGet();
                    System.err.println("request failed: " + e);
                }
                return null;
            }));
        }
        for (Future<?> f : futures) {
            f.get();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        pool.shutdown();
        double[] sorted = latency.clone();
        Arrays.sort(sorted);
        HttpResponse<String> m = client.send(HttpRequest.newBuilder(URI.create(url + "/metrics")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        JsonNode metrics = Json.MAPPER.readTree(m.body());
        System.out.printf(Locale.ROOT, "load         %d requests (1-%d mixed-task items each, %d items) from %d client threads%n",
                requests, maxItems, items.get(), threads);
        System.out.printf(Locale.ROOT, "duration     %.1f s%n", secs);
        System.out.printf(Locale.ROOT, "throughput   %.1f requests/s, %.1f items/s%n", requests / secs, items.get() / secs);
        System.out.printf(Locale.ROOT, "latency      p50 %.0f ms, p99 %.0f ms, max %.0f ms%n", ServeMetrics.percentile(sorted, 0.5),
                ServeMetrics.percentile(sorted, 0.99), sorted[sorted.length - 1]);
        System.out.printf(Locale.ROOT, "batches      %s (server: mean size %.1f)%n", metrics.get("batches").get("count"),
                metrics.get("batches").get("mean_size").asDouble());
        System.out.printf(Locale.ROOT, "errors       %d%n", errors.get());
        System.out.printf(Locale.ROOT, "vs infer     %d of %d answers differ%n", mismatches.get(), items.get());
        System.exit(errors.get() == 0 && mismatches.get() == 0 ? 0 : 1);
    }

    static boolean same(JsonNode expected, JsonNode got) {
        if (expected == null || !expected.get("label").equals(got.get("label"))) {
            return false;
        }
        var it = expected.get("probabilities").fields();
        while (it.hasNext()) {
            var e = it.next();
            if (Math.abs(e.getValue().asDouble() - got.get("probabilities").get(e.getKey()).asDouble()) > 1e-4) {
                return false;
            }
        }
        return true;
    }

    static void waitHealthy(HttpClient client, String url) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(url + "/health")).GET().build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (Exception e) {
                // not up yet
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException(url + " did not become healthy within 180 s");
    }
}
