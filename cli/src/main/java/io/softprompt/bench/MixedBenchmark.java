package io.softprompt.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.softprompt.data.DataSource;
import io.softprompt.data.Encoder;
import io.softprompt.data.Example;
import io.softprompt.data.Task;
import io.softprompt.data.TsvReader;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.Layers;
import io.softprompt.model.PromptSite;
import io.softprompt.prompt.PromptInit;
import io.softprompt.scoring.Scorer;
import io.softprompt.util.Tensors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;

/**
 * Mixed-task inference benchmark (a command that prints figures): SST-2 dev (872 sentences) under two
 * prompts, sst2 (N = 20, "{sentence} It was" → negative/positive) and a second task on the same
 * sentences (N = 10, "Review: {sentence} Verdict:" → bad/good), 1,744 rows interleaved.
 *
 * <ul>
 *   <li>(a) naive: each task on its own, batches of 32 in input order (no length buckets), the
 *       prompt run with every batch (no prefix cache), and the LM head over the whole vocabulary at
 *       every position, as {@code model(inputs_embeds=...).logits} gives; the label columns are read
 *       afterwards.
 *   <li>(b) full path: {@link Scorer} with the prefix cache, length buckets, batch 32, label
 *       logits only at the decision rows.
 * </ul>
 *
 * Usage: MixedBenchmark MODEL_DIR SST2_DIR [ROWS_PER_TASK]
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B rows, T tokens, N prompt tokens, S positions (N + T), D hidden, V vocabulary, C classes.
 */
public final class MixedBenchmark {
    private MixedBenchmark() {}

    public static void main(String[] args) throws Exception {
        Path modelDir = Path.of(args[0]);
        Path sst2 = Path.of(args[1]);
        int limit = args.length > 2 ? Integer.parseInt(args[2]) : Integer.MAX_VALUE;
        int batch = 32;
        try (LoadedModel model = LoadedModel.load(modelDir, modelDir.getFileName().toString())) {
            Task a = Task.resolve("sst2");
            Task b = reviewTask();
            List<Example> dev = TsvReader.read(DataSource.file(sst2.resolve("dev.tsv")), a, true);
            dev = dev.subList(0, Math.min(limit, dev.size()));
            Task[] tasks = {a, b};
            int[] lengths = {20, 10};
            List<Scorer.Slot> slots = new ArrayList<>();
            List<Encoder> encoders = new ArrayList<>();
            for (int k = 0; k < 2; k++) {
                Encoder enc = new Encoder(model.tokenizer(), tasks[k], 128, model.lm());
                encoders.add(enc);
                float[] p = PromptInit.VOCAB.values(model.lm(), model.tokenizer(), lengths[k], 1 + k, null, enc.labelTokens());
                slots.add(new Scorer.Slot(p, lengths[k], enc.labels()));
            }
            List<Scorer.Item> items = new ArrayList<>();
            for (Example e : dev) {
                for (int k = 0; k < 2; k++) {
                    items.add(new Scorer.Item(k, encoders.get(k).encode(e.text(), e.label())));
                }
            }
            // warm-up: the native library's first calls are slow
            naive(model, slots, items.subList(0, 2 * batch), batch);
            try (Scorer s = new Scorer(model.lm(), true)) {
                List<Scorer.Item> w = items.subList(0, 2 * batch);
                s.score(slots, w, s.batches(slots, w, batch, 0));
            }

            long t0 = System.nanoTime();
            float[][] naive = naive(model, slots, items, batch);
            double naiveSecs = (System.nanoTime() - t0) / 1e9;
            float[][] full;
            long passes;
            t0 = System.nanoTime();
            try (Scorer s = new Scorer(model.lm(), true)) {
                full = s.score(slots, items, s.batches(slots, items, batch, 0));
                passes = s.forwardPasses();
            }
            double fullSecs = (System.nanoTime() - t0) / 1e9;
            int agree = 0;
            double worst = 0;
            for (int i = 0; i < items.size(); i++) {
                agree += Scorer.argmax(naive[i]) == Scorer.argmax(full[i]) ? 1 : 0;
                for (int c = 0; c < naive[i].length; c++) {
                    worst = Math.max(worst, Math.abs(naive[i][c] - full[i][c]));
                }
            }
            double naiveRate = items.size() / naiveSecs;
            double fullRate = items.size() / fullSecs;
            System.out.printf(Locale.ROOT, "model        %s (%s, d %d, vocab %d; random weights: speed only)%n", modelDir,
                    model.lm().modelType(), model.lm().hiddenSize(), model.lm().vocabSize());
            System.out.printf(Locale.ROOT, "workload     %d rows: %d SST-2 dev sentences x 2 tasks (N = 20 and 10), batch %d, "
                    + "%d cores%n", items.size(), dev.size(), batch, Runtime.getRuntime().availableProcessors());
            System.out.printf(Locale.ROOT, "(a) naive    %.2f examples/s  (per task, input order, no prefix cache, "
                    + "full-vocabulary logits at every position)%n", naiveRate);
            System.out.printf(Locale.ROOT, "(b) full     %.2f examples/s  (prefix cache, length buckets, label logits at "
                    + "the decision rows; %d forward passes)%n", fullRate, passes);
            System.out.printf(Locale.ROOT, "speed-up     %.2fx%n", fullRate / naiveRate);
            System.out.printf(Locale.ROOT, "agreement    %d/%d same label, largest probability difference %.1e%n", agree,
                    items.size(), worst);
        }
    }

    /** A second task on SST-2's sentences: "Review: {sentence} Verdict:" → bad/good. */
    static Task reviewTask() {
        LinkedHashMap<String, String> v = new LinkedHashMap<>();
        v.put("0", " bad");
        v.put("1", " good");
        return new Task("review", "Review: {sentence} Verdict:", "sentence", "label", v, null, null, null, null).validated("review");
    }

    /** (a): per task, in input order, prompt recomputed each batch, vocabulary logits everywhere. */
    static float[][] naive(LoadedModel model, List<Scorer.Slot> slots, List<Scorer.Item> items, int batch) {
        float[][] out = new float[items.size()][];
        var lm = model.lm();
        for (int k = 0; k < slots.size(); k++) {
            Scorer.Slot slot = slots.get(k);
            List<Integer> mine = new ArrayList<>();
            for (int i = 0; i < items.size(); i++) {
                if (items.get(i).slot() == k) {
                    mine.add(i);
                }
            }
            try (NDManager m = NDManager.newBaseManager(lm.device())) {
                NDArray p = Tensors.create(m, slot.values(), new Shape(slot.tokens(), lm.hiddenSize()));   // [N, D]
                for (int start = 0; start < mine.size(); start += batch) {
                    List<Integer> idx = mine.subList(start, Math.min(mine.size(), start + batch));
                    List<Encoder.Encoded> rows = new ArrayList<>();
                    for (int i : idx) {
                        rows.add(items.get(i).row());
                    }
                    try (NDManager s = m.newSubManager()) {
                        Encoder.Batch bt = Encoder.batch(rows, 0, lm.specials().pad());
                        NDArray ids = Tensors.create(s, bt.ids(), new Shape(bt.size(), bt.length()));     // [B, T]
                        NDArray mask = Tensors.create(s, bt.mask(), new Shape(bt.size(), bt.length()));   // [B, T]
                        NDArray h = PromptSite.INPUT.hidden(lm, p, ids, mask);                                    // [B, S, D]
                        long sl = h.getShape().get(1);
                        NDArray logits = lm.logits(h.reshape(bt.size() * sl, lm.hiddenSize()));            // [B·S, V]
                        long[] flat = new long[bt.size()];
                        for (int r = 0; r < bt.size(); r++) {
                            flat[r] = r * sl + slot.tokens() + bt.positions()[r];
                        }
                        NDArray rowsAt = Layers.embedding(Tensors.create(s, flat), logits); // [B, V]
                        NDArray labels = rowsAt.get(new NDIndex(":, {}",
                                Tensors.create(s, slot.labels().first())));                                // [B, C]
                        float[] probs = labels.softmax(1).toFloatArray();
                        int c = slot.labels().first().length;
                        for (int r = 0; r < idx.size(); r++) {
                            out[idx.get(r)] = Arrays.copyOfRange(probs, r * c, (r + 1) * c);
                        }
                    }
                }
            }
        }
        return out;
    }
}
