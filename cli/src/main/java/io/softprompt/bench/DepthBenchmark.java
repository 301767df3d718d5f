package io.softprompt.bench;

import io.softprompt.data.DataSource;
import io.softprompt.data.Encoder;
import io.softprompt.data.Example;
import io.softprompt.data.Task;
import io.softprompt.data.TsvReader;
import io.softprompt.eval.Evaluator;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.ActivationCache;
import io.softprompt.model.PromptSite;
import io.softprompt.prompt.PromptInit;
import io.softprompt.scoring.Scorer;
import io.softprompt.train.TrainConfig;
import io.softprompt.train.Trainer;
import io.softprompt.util.Rss;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The depth benchmark (a command that prints figures, not a test): a deep prompt in every layer, in the
 * top half and in the top quarter of a checkpoint's layers, the partial ones with the activation cache
 * and without it, trained on the first E SST-2 examples for several epochs (batch 8, 20 prompt tokens,
 * inputs padded to 64 tokens, as scripts/bench.sh), and the dev set evaluated twice. Epoch 1 is the cold
 * cache (every example computed through the frozen layers, alone); the later epochs read what it kept,
 * as every epoch of a run over a training set that fits the budget does. Cases run from the cheapest to
 * the dearest, so the process's peak RSS after each is that case's (the weights included).
 *
 * <p>Usage: DepthBenchmark MODEL_DIR SST2_DIR [EXAMPLES EPOCHS DEV BUDGET_MB]
 */
public final class DepthBenchmark {
    private DepthBenchmark() {}

    record Case(String name, int layers, boolean cache) {}

    public static void main(String[] args) throws Exception {
        Path modelDir = Path.of(args[0]);
        Path sst2 = Path.of(args[1]);
        int examples = args.length > 2 ? Integer.parseInt(args[2]) : 32;
        int epochs = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        int devN = args.length > 4 ? Integer.parseInt(args[4]) : 64;
        long budgetMb = args.length > 5 ? Long.parseLong(args[5]) : 1024;
        int n = 20;
        int t = 64;
        int batch = 8;
        int stepsPerEpoch = (examples + batch - 1) / batch;
        double matmul = Benchmark.matmulGflops();
        try (LoadedModel model = LoadedModel.load(modelDir, modelDir.getFileName().toString())) {
            int l = model.lm().attention().layers();
            Task task = Task.resolve("sst2");
            List<Example> train = TsvReader.read(DataSource.file(sst2.resolve("train.tsv")), task, true).subList(0, examples);
            List<Example> dev = TsvReader.read(DataSource.file(sst2.resolve("dev.tsv")), task, true).subList(0, devN);
            Encoder enc = new Encoder(model.tokenizer(), task, t, model.lm());
            List<Encoder.Encoded> trainRows = enc.encodeAll(train);
            List<Encoder.Encoded> devRows = enc.encodeAll(dev);
            float[] vocab = PromptInit.VOCAB.values(model.lm(), model.tokenizer(), n, 1, null, enc.labelTokens());
            System.out.printf(Locale.ROOT, "model      %s (%s, %d layers, d %d), %d cores%n", modelDir.getFileName(),
                    model.lm().modelType(), l, model.lm().hiddenSize(), Runtime.getRuntime().availableProcessors());
            System.out.printf(Locale.ROOT, "workload   batch %d, %d prompt tokens, inputs padded to %d, %d train examples x %d "
                    + "epochs (%d steps each), %d dev examples evaluated twice; activation cache budget %d MB (float16)%n",
                    batch, n, t, examples, epochs, stepsPerEpoch, devN, budgetMb);
            System.out.printf(Locale.ROOT, "matmul     %.1f GFLOP/s (fp32 [512x768]x[768x3072], this process, before the runs)%n", matmul);
            System.out.printf(Locale.ROOT, "%-26s %10s %10s %10s %10s %9s %9s %9s%n", "prompt", "epoch 1", "later", "eval 1",
                    "eval 2", "kept MB", "spilt MB", "peak RSS");
            System.out.printf(Locale.ROOT, "%-26s %10s %10s %10s %10s %9s %9s %9s%n", "", "ex/s", "ex/s", "ex/s", "ex/s", "", "", "MB");
            int quarter = Math.max(1, l / 4);
            int half = Math.max(1, l / 2);
            List<Case> cases = List.of(new Case("deep, top " + quarter + " (quarter)", quarter, true),
                    new Case("deep, top " + quarter + ", no cache", quarter, false),
                    new Case("deep, top " + half + " (half)", half, true),
                    new Case("deep, top " + half + ", no cache", half, false),
                    new Case("deep, all " + l + " layers", 0, false));
            List<double[]> rates = new ArrayList<>();
            Path spill = Files.createTempDirectory("depth-bench");
            for (Case c : cases) {
                PromptSite site = c.layers() == 0 ? PromptSite.DEEP : PromptSite.of("deep", c.layers());
                float[] init = site.start(model.lm(), vocab, n, 1);
                List<Long> at = new ArrayList<>();
                TrainConfig cfg = TrainConfig.builder().model(modelDir.toString()).tokens(n).depth("deep")
                        .promptLayers(c.layers() == 0 ? null : c.layers()).steps(stepsPerEpoch * epochs).batchSize(batch)
                        .lr(0.03).schedule("constant").warmup(0).seed(1).maxLength(t).evalEvery(100000).evalBatchSize(batch)
                        .checkpointEvery(0).padTo(t).groupByLength(false).build();
                try (ActivationCache lm = new ActivationCache(model.lm(), c.cache() ? budgetMb << 20 : 0, spill)) {
                    long t0 = System.nanoTime();
                    Trainer.train(cfg, lm, enc, trainRows, null, 0, init, new Trainer.Listener() {
                        @Override
                        public void onStep(Trainer.Step s) {
                            at.add(System.nanoTime());
                        }
                    }, Trainer.Context.none());
                    long cold = at.get(stepsPerEpoch - 1) - t0;
                    long warm = at.get(at.size() - 1) - at.get(stepsPerEpoch - 1);
                    double e1 = examples / (cold / 1e9);
                    double e2 = (double) examples * (epochs - 1) / (warm / 1e9);
                    Scorer.Slot slot = new Scorer.Slot(init, n, enc.labels(), site);
                    double[] ev = new double[2];
                    try (Scorer scorer = new Scorer(lm, true, t)) {
                        for (int k = 0; k < 2; k++) {
                            ev[k] = Evaluator.classify(scorer, slot, devRows, batch).examplesPerSec();
                        }
                    }
                    ActivationCache.Stats st = lm.stats();
                    System.out.printf(Locale.ROOT, "%-26s %10.2f %10.2f %10.2f %10.2f %9.1f %9.1f %9.0f%n", c.name(), e1, e2, ev[0],
                            ev[1], st.memoryBytes() / 1048576.0, st.spilledBytes() / 1048576.0, Rss.peakMb());
                    rates.add(new double[] {e1, e2, ev[0], ev[1]});
                }
            }
            double[] deep = rates.get(rates.size() - 1);
            System.out.printf(Locale.ROOT, "speed-up over the deep prompt in every layer, later epochs: top quarter with the cache "
                    + "%.2fx (without %.2fx), top half %.2fx (without %.2fx); first epoch: top quarter %.2fx; second evaluation: "
                    + "top quarter %.2fx%n", rates.get(0)[1] / deep[1], rates.get(1)[1] / deep[1], rates.get(2)[1] / deep[1],
                    rates.get(3)[1] / deep[1], rates.get(0)[0] / deep[0], rates.get(0)[3] / deep[3]);
            System.out.printf(Locale.ROOT, "matmul     %.1f GFLOP/s (this process, after the runs)%n", Benchmark.matmulGflops());
        }
    }
}
