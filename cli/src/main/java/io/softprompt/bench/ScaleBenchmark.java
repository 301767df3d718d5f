package io.softprompt.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.softprompt.data.DataSource;
import io.softprompt.data.Encoder;
import io.softprompt.data.Example;
import io.softprompt.data.Task;
import io.softprompt.data.TsvReader;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.model.PromptSite;
import io.softprompt.prompt.PromptInit;
import io.softprompt.scoring.Objective;
import io.softprompt.train.DataOrder;
import io.softprompt.train.TrainConfig;
import io.softprompt.train.TrainConfigBuilder;
import io.softprompt.train.TrainPlan;
import io.softprompt.train.Trainer;
import io.softprompt.util.Rss;
import io.softprompt.util.Tensors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The figures of training at scale, in one process so each comparison is a ratio within one run (a
 * command that prints figures, not a test). Workload W1: a GPT-2-small-shaped checkpoint, the real
 * GPT-2 tokenizer, real SST-2 at its own lengths (no padding to a fixed length), batch 8, N = 20.
 *
 * <ol>
 *   <li>decision rows: a training step's forward and backward with the last layer's output work for
 *       the decision rows only (what training does) against the whole last layer, alternated in rounds;
 *   <li>length-grouped sampling: padding per batch and examples/s, against random batches;
 *   <li>gradient accumulation: 4 × batch 2 against batch 8 (the same rows per step);
 *   <li>packed training: K = 1, 4, 8 prompts in one pack against the same K runs one after another:
 *       examples/s per prompt and in all, and the rows of each forward pass.
 * </ol>
 *
 * <p>Usage: ScaleBenchmark MODEL_DIR SST2_DIR [steps [packs]] (packs: the packed training figures only)
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B rows, T tokens, N prompt tokens, S positions (N + T), D hidden.
 */
public final class ScaleBenchmark {
    private ScaleBenchmark() {}

    static final int N = 20;
    static final int BATCH = 8;

    public static void main(String[] args) throws Exception {
        Path modelDir = Path.of(args[0]);
        Path sst2 = Path.of(args[1]);
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        try (LoadedModel model = LoadedModel.load(modelDir, modelDir.getFileName().toString(), "cpu", "float32")) {
            Task task = Task.resolve("sst2");
            List<Example> train = TsvReader.read(DataSource.file(sst2.resolve("train.tsv")), task, true);
            Encoder enc = new Encoder(model.tokenizer(), task, 128, model.lm());
            List<Encoder.Encoded> rows = enc.encodeAll(train.subList(0, 8000));
            float[] init = PromptInit.VOCAB.values(model.lm(), model.tokenizer(), N, 1, null, enc.labelTokens());
            System.out.printf(Locale.ROOT, "model            %s (%s, d %d), %d cores, batch %d, N %d, SST-2 at its own lengths%n",
                    modelDir, model.lm().modelType(), model.lm().hiddenSize(), Runtime.getRuntime().availableProcessors(), BATCH, N);
            boolean all = args.length <= 3 || !args[3].equals("packs");
            if (all) {
                decisionRows(model.lm(), enc, rows, init, Math.max(4, steps / 2));
                lengthGrouping(model.lm(), enc, rows, init, steps);
                accumulation(model.lm(), enc, rows, init, steps);
            }
            for (int k : new int[] {1, 4, 8}) {
                packing(model.lm(), enc, rows, model, k, Math.max(4, steps / 2));
            }
            System.out.printf(Locale.ROOT, "peak RSS         %.0f MB (the whole benchmark process)%n", Rss.peakMb());
        }
    }

    /** Seconds of one forward + backward of the verbalizer loss over batch b; rowsOnly: forwardRows, else the whole last layer. */
    static double step(LanguageModel lm, Encoder enc, List<Encoder.Encoded> batch, float[] init, boolean rowsOnly) {
        try (NDManager m = NDManager.newBaseManager(lm.device())) {
            NDArray prompt = Tensors.create(m, init, new Shape(N, lm.hiddenSize()));                   // [N, D]
            prompt.setRequiresGradient(true);
            Encoder.Batch b = Encoder.batch(batch, 0, lm.specials().pad());
            NDArray ids = Tensors.create(m, b.ids(), new Shape(b.size(), b.length()));                  // [B, T]
            NDArray mask = Tensors.create(m, b.mask(), new Shape(b.size(), b.length()));                // [B, T]
            long t0 = System.nanoTime();
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray h;
                if (rowsOnly) {
                    h = PromptSite.INPUT.hiddenAt(lm, prompt, ids, mask, b.positions());                          // [B, D]
                } else {
                    NDList run = PromptSite.INPUT.run(lm, prompt, ids, mask);                                     // [B, S, D]
                    long s = run.get(0).getShape().get(1);
                    long[] flat = new long[b.size()];
                    for (int i = 0; i < flat.length; i++) {
                        flat[i] = i * s + N + b.positions()[i];
                    }
                    h = Layers.rows(run.get(0), flat);                                                  // [B, D]
                }
                NDArray loss = Objective.crossEntropy(lm.logits(h, Tensors.create(m, enc.labels().first())),
                        Tensors.create(m, b.classes()));
                gc.backward(loss);
            }
            prompt.getGradient().close();
            return (System.nanoTime() - t0) / 1e9;
        }
    }

    static void decisionRows(LanguageModel lm, Encoder enc, List<Encoder.Encoded> rows, float[] init, int perRound) {
        step(lm, enc, rows.subList(0, BATCH), init, true);   // warm-up
        step(lm, enc, rows.subList(0, BATCH), init, false);
        double rowsSecs = 0;
        double fullSecs = 0;
        int at = BATCH;
        for (int round = 0; round < 4; round++) {
            for (int i = 0; i < perRound; i++, at += BATCH) {
                List<Encoder.Encoded> b = rows.subList(at, at + BATCH);
                // the same batch both ways, in alternating order, so drift in the machine's speed cancels
                if ((round + i) % 2 == 0) {
                    rowsSecs += step(lm, enc, b, init, true);
                    fullSecs += step(lm, enc, b, init, false);
                } else {
                    fullSecs += step(lm, enc, b, init, false);
                    rowsSecs += step(lm, enc, b, init, true);
                }
            }
        }
        int n = 4 * perRound;
        System.out.printf(Locale.ROOT, "decision rows    forward+backward %.3f s/step with the last layer for the decision rows only, "
                + "%.3f s with the whole last layer: %.3fx (%d steps each, alternated)%n", rowsSecs / n, fullSecs / n,
                fullSecs / rowsSecs, n);
    }

    static TrainConfigBuilder base(int steps) {
        return TrainConfig.builder().tokens(N).objective("verbalizer").steps(steps).batchSize(BATCH).lr(0.03)
                .schedule("constant").warmup(0).seed(1).maxLength(128).checkpointEvery(0).logEvery(0);
    }

    /** Trains; returns {examples/s}. */
    static double[] train(LanguageModel lm, Encoder enc, List<Encoder.Encoded> rows, float[] init, TrainConfig cfg) {
        Trainer.Result r = Trainer.train(cfg, lm, enc, rows, null, 0, init, quiet(), Trainer.Context.none());
        return new double[] {r.trainExamplesPerSec()};
    }

    static void lengthGrouping(LanguageModel lm, Encoder enc, List<Encoder.Encoded> rows, float[] init, int steps) {
        double[] padding = new double[2];
        for (int g = 0; g < 2; g++) {
            TrainConfig cfg = base(steps).groupByLength(g == 1).build();
            // the padding of the batches this run draws: its own order (a pure function of seed and epoch)
            int[] order = DataOrder.orderFor(rows, cfg, 0);
            long pad = 0;
            long real = 0;
            for (int s = 0; s < steps; s++) {
                int longest = 0;
                int sum = 0;
                for (int i = s * BATCH; i < (s + 1) * BATCH; i++) {
                    int len = rows.get(order[i]).ids().length;
                    longest = Math.max(longest, len);
                    sum += len;
                }
                pad += (long) BATCH * longest - sum;
                real += sum;
            }
            padding[g] = (double) pad / (pad + real);
        }
        double plain = train(lm, enc, rows, init, base(steps).build())[0];
        double grouped = train(lm, enc, rows, init, base(steps).groupByLength(true).build())[0];
        System.out.printf(Locale.ROOT, "group by length  %.2f examples/s (padding %.0f%% of token positions) against %.2f random "
                + "(padding %.0f%%): %.2fx, %d steps each%n", grouped, 100 * padding[1], plain, 100 * padding[0], grouped / plain,
                steps);
    }

    static void accumulation(LanguageModel lm, Encoder enc, List<Encoder.Encoded> rows, float[] init, int steps) {
        double big = train(lm, enc, rows, init, base(steps).build())[0];
        double accum = train(lm, enc, rows, init, base(steps).batchSize(2).gradAccum(4).build())[0];
        System.out.printf(Locale.ROOT, "grad accumulation 4 x batch 2: %.2f examples/s against batch 8: %.2f (%.2fx; the same rows "
                + "per step, in four passes)%n", accum, big, accum / big);
    }

    static void packing(LanguageModel lm, Encoder enc, List<Encoder.Encoded> rows, LoadedModel model, int k, int steps) {
        List<Trainer.Run> runs = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            TrainConfig cfg = base(steps).seed(i + 1).init(i % 2 == 0 ? "vocab" : "random").build();
            float[] init = (i % 2 == 0 ? PromptInit.VOCAB : PromptInit.RANDOM).values(lm, model.tokenizer(), N, i + 1, null,
                    enc.labelTokens());
            runs.add(new Trainer.Run(TrainPlan.of(cfg), enc, rows, null, 0, init, quiet(), Trainer.Context.none()));
        }
        long t0 = System.nanoTime();
        for (Trainer.Run r : runs) {
            Trainer.trainPack(lm, List.of(r), 0);
        }
        double sequential = (System.nanoTime() - t0) / 1e9;
        t0 = System.nanoTime();
        Trainer.trainPack(lm, runs, 0);
        double packed = (System.nanoTime() - t0) / 1e9;
        double examples = (double) k * steps * BATCH;
        System.out.printf(Locale.ROOT, "pack K=%d         %.2f examples/s in all (%.2f per prompt; the pack's %d rows a step laid out by "
                + "length in passes of %d), against %d runs one after another: %.2f (%.2f per prompt); %.2fx (%d steps each, wall "
                + "clock, warm-up included)%n", k, examples / packed, examples / packed / k, k * BATCH, BATCH, k, examples / sequential,
                examples / sequential / k, sequential / packed, steps);
    }

    static Trainer.Listener quiet() {
        return new Trainer.Listener() {};
    }
}
