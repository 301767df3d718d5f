package io.softprompt.bench;

import io.softprompt.data.DataSource;
import io.softprompt.data.Encoder;
import io.softprompt.data.Example;
import io.softprompt.data.Task;
import io.softprompt.data.TsvReader;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.PromptSite;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.prompt.PromptInit;
import io.softprompt.scoring.Scorer;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;

/**
 * Many prompts at the speed of one? (a command that prints figures, not a test): the same SST-2 dev
 * rows scored with K = 1, 4, 16, 64 distinct prompts mixed in every batch, through the one
 * {@link Scorer} with its prefix cache (as serve and mixed-task infer run): row i under prompt i mod K.
 * K = 1 is one input prompt of N 20 on sst2; for K > 1 the prompts cycle N 10, 20, 30, 20 (mean 20),
 * alternate two tasks (sst2, and a second template with other label words), and every fourth is a deep
 * prompt (random key/value table); the last K = 64 lines vary one thing at a time (input prompts of
 * N 20 on one task; then mixed N, two tasks, or one in four deep), to tell the cost of many prompts
 * from that of mixed lengths, tasks and depths. Every prompt's cache is made before the clock starts (a server
 * keeps them); then each batch (32 rows, length-bucketed) is timed: rows/s over all, and p50/p99 of a
 * batch's latency.
 *
 * <p>Usage:
 *
 * <pre>
 *   PromptsBenchmark MODEL_DIR SST2_DIR [ROWS]                  the scorer lines
 *   PromptsBenchmark write MODEL_DIR OUT_DIR                    the served prompts (m0..m63, s0..s63)
 *   PromptsBenchmark serve URL SST2_DIR ROWS THREADS ITEMS [LINES]   the serve lines (LINES: which, in
 *                                                               which order: default 0-4 then 4-0, each line's mean), against softprompt serve
 * </pre>
 */
public final class PromptsBenchmark {
    private PromptsBenchmark() {}

    /** The K prompts of one line: prompt p's length, task (0 sst2, 1 review) and depth. */
    record Mix(int k, boolean mixedN, boolean twoTasks, boolean someDeep) {
        int tokens(int p) {
            return mixedN ? new int[] {10, 20, 30, 20}[p % 4] : 20;
        }

        int task(int p) {
            return twoTasks ? p % 2 : 0;
        }

        boolean deep(int p) {
            return someDeep && p % 4 == 3;
        }

        /** How many of the K prompts are deep. */
        int deepCount() {
            return (int) IntStream.range(0, k).filter(this::deep).count();
        }

        /** Prompt p's values: the vocabulary init of an input prompt, a random key/value table of a deep one. */
        float[] values(LoadedModel model, Encoder enc, int p) {
            int n = tokens(p);
            if (!deep(p)) {
                return PromptInit.VOCAB.values(model.lm(), model.tokenizer(), n, p + 1, null, enc.labelTokens());
            }
            Random r = new Random(p);
            float[] values = new float[n * model.lm().attention().prefixWidth()];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) r.nextGaussian();
            }
            return values;
        }
    }

    /** K = 1; K = 4, 16, 64 of mixed N, tasks and depth; then K = 64 varying one thing at a time. */
    static final Mix[] MIXES = {new Mix(1, false, false, false), new Mix(4, true, true, true), new Mix(16, true, true, true),
        new Mix(64, true, true, true), new Mix(64, false, false, false), new Mix(64, true, false, false),
        new Mix(64, false, true, false), new Mix(64, false, false, true)};
    static final String[] WHAT = {"one input prompt, N 20", "N 10/20/30, two tasks, deep", "N 10/20/30, two tasks, deep",
        "N 10/20/30, two tasks, deep", "input, N 20, one task", "input, N 10/20/30, one task", "input, N 20, two tasks",
        "N 20, one task, deep"};

    public static void main(String[] args) throws Exception {
        if (args[0].equals("write")) {
            write(Path.of(args[1]), Path.of(args[2]));
            return;
        }
        if (args[0].equals("serve")) {
            int[] lines = args.length > 6 ? Arrays.stream(args[6].split(",")).mapToInt(Integer::parseInt).toArray()
                    : new int[] {0, 1, 2, 3, 4, 4, 3, 2, 1, 0};
            serve(args[1], Path.of(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]), Integer.parseInt(args[5]), lines);
            return;
        }
        Path modelDir = Path.of(args[0]);
        Path sst2 = Path.of(args[1]);
        int limit = args.length > 2 ? Integer.parseInt(args[2]) : 256;
        int batch = 32;
        try (LoadedModel model = LoadedModel.load(modelDir, modelDir.getFileName().toString(), "cpu", "float32")) {
            Task a = Task.resolve("sst2");
            Task b = MixedBenchmark.reviewTask();
            Encoder[] enc = {new Encoder(model.tokenizer(), a, 128, model.lm()), new Encoder(model.tokenizer(), b, 128, model.lm())};
            List<Example> dev = TsvReader.read(DataSource.file(sst2.resolve("dev.tsv")), a, true);
            dev = dev.subList(0, Math.min(limit, dev.size()));
            System.out.printf(Locale.ROOT, "model   %s (%s, d %d; random weights: speed only), %d SST-2 dev rows, batch %d, "
                    + "prefix cache, %d cores%n", modelDir, model.lm().modelType(), model.lm().hiddenSize(), dev.size(), batch,
                    Runtime.getRuntime().availableProcessors());
            double base = 0;
            double baseTokens = 0;
            for (int run = 0; run < MIXES.length; run++) {
                Mix mix = MIXES[run];
                int k = mix.k();
                List<Scorer.Slot> slots = new ArrayList<>();
                int[] task = new int[k];
                for (int p = 0; p < k; p++) {
                    task[p] = mix.task(p);
                    slots.add(new Scorer.Slot(mix.values(model, enc[task[p]], p), mix.tokens(p), enc[task[p]].labels(), mix.deep(p) ? PromptSite.DEEP : PromptSite.INPUT));
                }
                List<Scorer.Item> items = new ArrayList<>();
                for (int i = 0; i < dev.size(); i++) {
                    int p = i % k;
                    items.add(new Scorer.Item(p, enc[task[p]].encode(dev.get(i).text(), dev.get(i).label())));
                }
                try (Scorer s = new Scorer(model.lm(), true)) {
                    List<int[]> batches = s.batches(slots, items, batch, 0);
                    s.score(slots, items, batches); // every prompt's cache made, the native library warm
                    long[] lat = new long[batches.size()];
                    long t0 = System.nanoTime();
                    for (int j = 0; j < batches.size(); j++) {
                        long b0 = System.nanoTime();
                        s.score(slots, items, List.of(batches.get(j)));
                        lat[j] = System.nanoTime() - b0;
                    }
                    double secs = (System.nanoTime() - t0) / 1e9;
                    Arrays.sort(lat);
                    double rate = items.size() / secs;
                    // input tokens (template and text, prompts not counted) per second: a task with a
                    // longer template does more work per row, which rows/s alone blames on the mixing
                    double tokens = items.stream().mapToLong(it -> it.row().ids().length).sum() / secs;
                    if (k == 1) {
                        base = rate;
                        baseTokens = tokens;
                    }
                    System.out.printf(Locale.ROOT, "K=%-3d %-34s %6.2f rows/s (%.2fx K=1)  %5.0f tokens/s (%.2fx)   batch latency p50 %5.0f ms  p99 %5.0f ms%n",
                            k, WHAT[run] + (mix.deepCount() > 0 ? " (" + mix.deepCount() + ")" : ""), rate, rate / base, tokens, tokens / baseTokens,
                            lat[lat.length / 2] / 1e6, lat[Math.min(lat.length - 1, (int) Math.ceil(lat.length * 0.99) - 1)] / 1e6);
                }
            }
        }
    }

    /**
     * The serve lines are the scorer's first five (MIXES[0..4]): K = 1, 4, 16, 64 mixed (files m0..m63: the
     * scorer's mixed prompts), K = 64 input (s0..s63; line 0 serves s0).
     */
    static final int SERVE_LINES = 5;

    static List<String> serveNames(int line) {
        List<String> names = new ArrayList<>();
        for (int p = 0; p < MIXES[line].k(); p++) {
            names.add((line == 0 || line == 4 ? "s" : "m") + p);
        }
        return names;
    }

    /** Writes the served prompts: m0..m63 as the scorer's mixed K = 64, s0..s63 as its K = 64 input, N 20, one task. */
    static void write(Path modelDir, Path out) throws Exception {
        Files.createDirectories(out);
        try (LoadedModel model = LoadedModel.load(modelDir, modelDir.getFileName().toString(), "cpu", "float32")) {
            Task[] tasks = {Task.resolve("sst2"), MixedBenchmark.reviewTask()};
            Encoder[] enc = {new Encoder(model.tokenizer(), tasks[0], 128, model.lm()),
                new Encoder(model.tokenizer(), tasks[1], 128, model.lm())};
            for (int m = 0; m < 2; m++) {
                Mix mix = m == 0 ? MIXES[3] : MIXES[4];
                for (int p = 0; p < mix.k(); p++) {
                    Map<String, String> meta = new LinkedHashMap<>(PromptFile.metadata(model, modelDir.getFileName().toString(),
                            tasks[mix.task(p)], "vocab"));
                    int width = model.lm().hiddenSize();
                    if (mix.deep(p)) {
                        PromptFile.markSite(meta, PromptSite.DEEP, model);
                        width = model.lm().attention().prefixWidth();
                    }
                    Prompt prompt = new Prompt(mix.values(model, enc[mix.task(p)], p), mix.tokens(p), width, meta);
                    PromptFile.write(out.resolve((m == 0 ? "m" : "s") + p + ".sp"), prompt);
                }
            }
        }
    }

    /**
     * The same lines through {@code softprompt serve} under load: the dev rows as requests of
     * {@code items} items (row i under prompt i mod K) from {@code threads} client threads at once;
     * rows/s and p50/p99 of a request's latency. Two untimed passes over every prompt first (the server
     * makes a prompt's cache on its first row and keeps it); then the lines in {@code lines}' order.
     */
    static void serve(String url, Path sst2, int limit, int threads, int items, int[] lines) throws Exception {
        List<Example> dev = TsvReader.read(DataSource.file(sst2.resolve("dev.tsv")), Task.resolve("sst2"), true);
        dev = dev.subList(0, Math.min(limit, dev.size()));
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        LoadTest.waitHealthy(client, url);
        System.out.printf(Locale.ROOT, "serve   %s: %d rows as requests of %d items from %d client threads%n", url, dev.size(), items,
                threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int w = 0; w < 2; w++) { // warm-up: every prompt's cache made, the server's JIT past its first compilations
                for (int line : new int[] {3, 4, 0}) {
                    load(client, pool, url, dev, serveNames(line), items);
                }
            }
            // each line as often as LINES names it (default there and back, 0-4 then 4-0, so that a drift
            // of the machine over the run falls on every line alike); rows/s is the mean over its runs
            double[] rateSum = new double[SERVE_LINES];
            int[] runs = new int[SERVE_LINES];
            List<List<Double>> latencies = new ArrayList<>();
            for (int line = 0; line < SERVE_LINES; line++) {
                latencies.add(new ArrayList<>());
            }
            for (int line : lines) {
                long t0 = System.nanoTime();
                double[] lat = load(client, pool, url, dev, serveNames(line), items);
                rateSum[line] += dev.size() / ((System.nanoTime() - t0) / 1e9);
                runs[line]++;
                for (double l : lat) {
                    latencies.get(line).add(l);
                }
            }
            double base = runs[0] > 0 ? rateSum[0] / runs[0] : Double.NaN;
            for (int line = 0; line < SERVE_LINES; line++) {
                if (runs[line] == 0) {
                    continue;
                }
                double rate = rateSum[line] / runs[line];
                double[] lat = latencies.get(line).stream().mapToDouble(Double::doubleValue).sorted().toArray();
                int k = serveNames(line).size();
                System.out.printf(Locale.ROOT, "K=%-3d %-34s %6.2f rows/s (%.2fx K=1)   request latency p50 %5.0f ms  p99 %5.0f ms"
                        + "   (%d runs)%n", k, WHAT[line] + (MIXES[line].deepCount() > 0 ? " (" + MIXES[line].deepCount() + ")" : ""), rate, rate / base,
                        ServeMetrics.percentile(lat, 0.5), ServeMetrics.percentile(lat, 0.99), runs[line]);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** Sends the rows (row i to names[i mod K]) in requests of {@code items}; returns the sorted request latencies in ms. */
    private static double[] load(HttpClient client, ExecutorService pool, String url, List<Example> dev, List<String> names, int items)
            throws Exception {
        List<Future<Double>> futures = new ArrayList<>();
        for (int from = 0; from < dev.size(); from += items) {
            List<Map<String, String>> part = new ArrayList<>();
            for (int i = from; i < Math.min(dev.size(), from + items); i++) {
                part.add(Map.of("task", names.get(i % names.size()), "text", dev.get(i).text(), "id", Integer.toString(i)));
            }
            String body = Json.write(Map.of("items", part));
            futures.add(pool.submit(() -> {
                long s = System.nanoTime();
                HttpResponse<String> resp = client.send(HttpRequest.newBuilder(URI.create(url + "/v1/predict"))
                        .timeout(Duration.ofSeconds(300)).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                if (resp.statusCode() != 200) {
                    throw new IllegalStateException("HTTP " + resp.statusCode() + ": " + resp.body());
                }
                return (System.nanoTime() - s) / 1e6;
            }));
        }
        double[] lat = new double[futures.size()];
        for (int j = 0; j < lat.length; j++) {
            lat[j] = futures.get(j).get();
        }
        Arrays.sort(lat);
        return lat;
    }
}
