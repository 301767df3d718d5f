package io.softprompt.scoring;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.util.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The scorer's two class heads: a decoder or masked LM's label tokens read at the decision rows (only
 * the label tokens' columns of the LM head), and an encoder-decoder's classes scored by decoding each
 * class's whole target.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B rows, D hidden, S positions, U distinct label tokens of the
 * batch, M (row, class) pairs (M_t: their target tokens), R decoder steps, V vocabulary.
 */
final class ClassHeads {
    private ClassHeads() {}

    /** Softmax over each row's own label tokens, from one product with the batch's distinct label rows [U, D]. */
    static float[][] labelProbabilities(LanguageModel lm, NDManager m, NDArray h, List<Scorer.Slot> slots, List<Scorer.Item> part) {
        Map<Long, Integer> column = new LinkedHashMap<>();
        for (Scorer.Item it : part) {
            for (long tk : slots.get(it.slot()).labels().first()) {
                column.putIfAbsent(tk, column.size());
            }
        }
        long[] union = column.keySet().stream().mapToLong(Long::longValue).toArray();
        float[] logits = lm.logits(h, Tensors.create(m, union)).toFloatArray();           // [B, U]
        float[][] out = new float[part.size()][];
        for (int i = 0; i < part.size(); i++) {
            long[] first = slots.get(part.get(i).slot()).labels().first();
            float[] l = new float[first.length];
            for (int c = 0; c < first.length; c++) {
                l[c] = logits[i * union.length + column.get(first[c])];
            }
            out[i] = softmax(l);
        }
        return out;
    }

    /** Encoder-decoder: log p(target_c | input) for each row's own classes, all (row, class) pairs decoded at once. */
    static float[][] sequenceScores(LanguageModel lm, NDManager m, NDArray enc, NDArray mask, List<Scorer.Slot> slots, List<Scorer.Item> part) {
        int b = part.size();
        List<long[]> targets = new ArrayList<>();
        List<Long> rowOf = new ArrayList<>();
        int[] first = new int[b];
        for (int i = 0; i < b; i++) {
            first[i] = targets.size();
            for (long[] seq : slots.get(part.get(i).slot()).labels().sequences()) {
                targets.add(seq);
                rowOf.add((long) i);
            }
        }
        int pairs = targets.size();
        Shape es = enc.getShape();
        NDArray pick = Tensors.create(m, rowOf.stream().mapToLong(Long::longValue).toArray());   // [M]
        NDArray encRep = Layers.embedding(pick, enc.reshape(b, -1)).reshape(pairs, es.get(1), es.get(2)); // [M, S, D]
        NDArray maskRep = Layers.embedding(pick, mask.toType(DataType.FLOAT32, false)).toType(DataType.INT64, false); // [M, S]
        Objective.Teacher t = Objective.Teacher.of(targets, lm.specials().decoderStart(), lm.specials().pad());
        NDArray h = lm.decode(Tensors.create(m, t.inputs(), new Shape(pairs, t.steps())), encRep, maskRep); // [M, R, D]
        NDArray logp = lm.logits(Layers.rows(h, t.flat())).logSoftmax(1);              // [M_t, V]
        NDArray tok = logp.gather(Tensors.create(m, t.targets()).reshape(-1, 1), 1).reshape(-1); // [M_t]
        float[] lp = tok.toFloatArray();
        float[] sums = new float[pairs];
        for (int j = 0; j < t.flat().length; j++) {
            sums[(int) (t.flat()[j] / t.steps())] += lp[j];
        }
        float[][] out = new float[b][];
        for (int i = 0; i < b; i++) {
            int c = slots.get(part.get(i).slot()).labels().sequences().length;
            out[i] = softmax(Arrays.copyOfRange(sums, first[i], first[i] + c));
        }
        return out;
    }

    static float[] softmax(float[] l) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : l) {
            max = Math.max(max, v);
        }
        double sum = 0;
        double[] e = new double[l.length];
        for (int i = 0; i < l.length; i++) {
            e[i] = Math.exp(l[i] - max);
            sum += e[i];
        }
        float[] p = new float[l.length];
        for (int i = 0; i < l.length; i++) {
            p[i] = (float) (e[i] / sum);
        }
        return p;
    }
}
