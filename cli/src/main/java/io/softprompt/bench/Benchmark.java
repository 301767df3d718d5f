package io.softprompt.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.softprompt.data.DataSource;
import io.softprompt.data.Encoder;
import io.softprompt.data.Example;
import io.softprompt.data.Task;
import io.softprompt.data.TsvReader;
import io.softprompt.eval.Evaluator;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.gpt2.Gpt2Model;
import io.softprompt.prompt.PromptInit;
import io.softprompt.scoring.Scorer;
import io.softprompt.train.TrainConfig;
import io.softprompt.train.Trainer;
import io.softprompt.util.Rss;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The speed benchmark (a command that prints figures, not a test): prompt tuning on a GPT-2 checkpoint
 * at batch 8, 20 prompt tokens, inputs padded or truncated to 64 tokens, on SST-2.
 *
 * <p>Usage: Benchmark MODEL_DIR SST2_DIR [train_steps eval_examples]
 *
 * <p>Achieved GFLOP/s counts the matrix work of the transformer: per sequence of S = N + 64 positions,
 * 2·S·12·L·D² for the projections and MLP plus 4·L·S²·D for attention scores and mixing; a training
 * step does that forward once and once more backward (gradients w.r.t. activations only: the weights
 * are frozen, so no weight gradients are computed). The LM head reads only the label tokens.
 */
public final class Benchmark {
    private Benchmark() {}

    public static void main(String[] args) throws Exception {
        Path modelDir = Path.of(args[0]);
        Path sst2 = Path.of(args[1]);
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 30;
        int evalN = args.length > 3 ? Integer.parseInt(args[3]) : 256;
        String objective = args.length > 4 ? args[4] : "verbalizer";
        int n = 20;
        int t = 64;
        int batch = 8;

        System.err.printf(Locale.ROOT, "  rss at start %.0f MB%n", Rss.currentMb());
        double matmul = matmulGflops();
        System.err.printf(Locale.ROOT, "  rss after matmul probe %.0f MB%n", Rss.currentMb());
        try (LoadedModel model = LoadedModel.load(modelDir, modelDir.getFileName().toString())) {
            System.err.printf(Locale.ROOT, "  rss after model load %.0f MB%n", Rss.currentMb());
            Task task = Task.resolve("sst2");
            List<Example> train = TsvReader.read(DataSource.file(sst2.resolve("train.tsv")), task, true)
                    .subList(0, steps * batch);
            List<Example> dev = TsvReader.read(DataSource.file(sst2.resolve("dev.tsv")), task, true);
            dev = dev.subList(0, Math.min(evalN, dev.size()));
            Encoder enc = new Encoder(model.tokenizer(), task, t, model.lm());
            List<Encoder.Encoded> trainRows = enc.encodeAll(train);
            List<Encoder.Encoded> devRows = enc.encodeAll(dev);
            System.err.printf(Locale.ROOT, "  rss after data %.0f MB%n", Rss.currentMb());
            float[] init = PromptInit.VOCAB.values(model.lm(), model.tokenizer(), n, 1, null, enc.labelTokens());
            TrainConfig cfg = TrainConfig.builder().model(modelDir.toString()).tokens(n).objective(objective).steps(steps)
                    .batchSize(batch).lr(0.03).schedule("constant").warmup(0).seed(1).maxLength(t).evalEvery(steps + 1)
                    .evalBatchSize(batch).checkpointEvery(0).padTo(t).build();
            Trainer.Result r = Trainer.train(cfg, model.lm(), enc, trainRows, null, 0, init, new Trainer.Listener() {
                @Override
                public void onStep(Trainer.Step s) {
                    if (s.step() % 10 == 0) {
                        System.err.printf(Locale.ROOT, "  train step %d/%d  %.2f ex/s  rss %.0f MB%n", s.step(), s.total(),
                                s.examplesPerSec(), Rss.currentMb());
                    }
                }
            }, Trainer.Context.none());
            // eval as train, eval and infer run it (prefix cache), and without the cache (the prompt recomputed
            // with every batch, as before the one scorer): the ratio of the two is the cache's gain
            Scorer.Slot slot = new Scorer.Slot(init, n, enc.labels());
            Evaluator.Result e;
            Evaluator.Result uncached;
            try (Scorer plain = new Scorer(model.lm(), false, t); Scorer scorer = new Scorer(model.lm(), true, t)) {
                Evaluator.classify(plain, slot, devRows.subList(0, batch * 2), batch); // warm-up
                Evaluator.classify(scorer, slot, devRows.subList(0, batch * 2), batch);
                uncached = Evaluator.classify(plain, slot, devRows, batch);
                e = Evaluator.classify(scorer, slot, devRows, batch);
            }

            System.out.printf(Locale.ROOT, "model            %s (%s, d %d, vocab %d), objective %s%n", modelDir,
                    model.lm().modelType(), model.lm().hiddenSize(), model.lm().vocabSize(), objective);
            System.out.printf(Locale.ROOT, "workload         batch %d, prompt %d tokens, inputs padded/truncated to %d, "
                    + "%d train steps (first 3 excluded), %d dev examples%n", batch, n, t, steps, devRows.size());
            System.out.printf(Locale.ROOT, "threads          %d cores%n", Runtime.getRuntime().availableProcessors());
            String trainFlops = "";
            String evalFlops = "";
            if (model.lm() instanceof Gpt2Model g) {
                int layers = g.config().nLayer();
                int d = g.config().nEmbd();
                long s = n + t;
                double fwdPerSeq = 2.0 * s * 12.0 * layers * d * d + 4.0 * layers * s * s * d;
                trainFlops = String.format(Locale.ROOT, "  (%.1f GFLOP/s achieved)", r.trainExamplesPerSec() * 2 * fwdPerSeq / 1e9);
                evalFlops = String.format(Locale.ROOT, "  (%.1f GFLOP/s achieved)", uncached.examplesPerSec() * fwdPerSeq / 1e9);
            }
            System.out.printf(Locale.ROOT, "train            %.2f examples/s%s%n", r.trainExamplesPerSec(), trainFlops);
            System.out.printf(Locale.ROOT, "eval, no cache   %.2f examples/s%s%n", uncached.examplesPerSec(), evalFlops);
            System.out.printf(Locale.ROOT, "eval             %.2f examples/s  (prefix cache: %.2fx the uncached rate)%n",
                    e.examplesPerSec(), e.examplesPerSec() / uncached.examplesPerSec());
            System.out.printf(Locale.ROOT, "matmul           %.1f GFLOP/s  (fp32 [512x768]x[768x3072], same process)%n", matmul);
            System.out.printf(Locale.ROOT, "peak RSS         %.0f MB%n", Rss.peakMb());
        }
    }

    /** Sustained fp32 matmul rate of this process's PyTorch on a GPT-2-sized MLP product. */
    static double matmulGflops() {
        try (NDManager m = NDManager.newBaseManager(Engine.getInstance().defaultDevice())) {
            NDArray a = m.randomUniform(-1, 1, new Shape(512, 768));
            NDArray b = m.randomUniform(-1, 1, new Shape(768, 3072));
            for (int i = 0; i < 5; i++) {
                a.matMul(b).close();
            }
            int reps = 40;
            long t0 = System.nanoTime();
            for (int i = 0; i < reps; i++) {
                a.matMul(b).close();
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            return reps * 2.0 * 512 * 768 * 3072 / secs / 1e9;
        }
    }
}
