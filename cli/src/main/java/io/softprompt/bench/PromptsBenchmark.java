package io.softprompt.bench;

import io.softprompt.data.DataSource;
import io.softprompt.data.Encoder;
import io.softprompt.data.Example;
import io.softprompt.data.Task;
import io.softprompt.data.TsvReader;
import io.softprompt.loader.LoadedModel;
import io.softprompt.prompt.PromptInit;
import io.softprompt.scoring.Scorer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

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
 * <p>Usage: PromptsBenchmark MODEL_DIR SST2_DIR [ROWS]
 */
public final class PromptsBenchmark {
    private PromptsBenchmark() {}

    public static void main(String[] args) throws Exception {
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
            // the last line isolates the cost of many distinct prompts from mixed lengths and depths
            // the last lines take K = 64 apart: lengths alone, tasks alone, depths alone
            String[] what = {"one input prompt, N 20", "N 10/20/30, two tasks, deep", "N 10/20/30, two tasks, deep",
                "N 10/20/30, two tasks, deep", "input, N 20, one task", "input, N 10/20/30, one task", "input, N 20, two tasks",
                "N 20, one task, deep"};
            for (int run = 0; run < what.length; run++) {
                int k = new int[] {1, 4, 16, 64, 64, 64, 64, 64}[run];
                boolean mixedN = run >= 1 && run <= 3 || run == 5;
                boolean twoTasks = run >= 1 && run <= 3 || run == 6;
                boolean someDeep = run >= 1 && run <= 3 || run == 7;
                List<Scorer.Slot> slots = new ArrayList<>();
                int[] task = new int[k];
                int deep = 0;
                for (int p = 0; p < k; p++) {
                    int n = mixedN ? new int[] {10, 20, 30, 20}[p % 4] : 20;
                    task[p] = twoTasks ? p % 2 : 0;
                    boolean isDeep = someDeep && p % 4 == 3;
                    float[] values;
                    if (isDeep) {
                        Random r = new Random(p);
                        values = new float[n * model.lm().attention().prefixWidth()];
                        for (int i = 0; i < values.length; i++) {
                            values[i] = (float) r.nextGaussian();
                        }
                        deep++;
                    } else {
                        values = PromptInit.VOCAB.values(model.lm(), model.tokenizer(), n, p + 1, null, enc[task[p]].labelTokens());
                    }
                    slots.add(new Scorer.Slot(values, n, enc[task[p]].labels(), isDeep));
                }
                List<Scorer.Item> items = new ArrayList<>();
                for (int i = 0; i < dev.size(); i++) {
                    int p = i % k;
                    items.add(new Scorer.Item(p, enc[task[p]].encode(dev.get(i).text(), dev.get(i).label())));
                }
                List<int[]> batches = Scorer.buckets(slots, items, batch, 0);
                try (Scorer s = new Scorer(model.lm(), true)) {
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
                    if (k == 1) {
                        base = rate;
                    }
                    System.out.printf(Locale.ROOT, "K=%-3d %-34s %6.2f rows/s (%.2fx K=1)   batch latency p50 %5.0f ms  p99 %5.0f ms%n",
                            k, what[run] + (deep > 0 ? " (" + deep + ")" : ""), rate, rate / base,
                            lat[lat.length / 2] / 1e6, lat[Math.min(lat.length - 1, (int) Math.ceil(lat.length * 0.99) - 1)] / 1e6);
                }
            }
        }
    }
}
