package io.softprompt.infer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.softprompt.data.Encoder;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Prompted;
import java.util.ArrayList;
import java.util.List;

/**
 * Class probabilities for encoded inputs under a prompt: batched, sorted into length buckets so
 * padding stays small, no gradient recording, and logits only for the label tokens at the decision
 * position ([B, C], never [B, T, V]).
 */
public final class Predictor {
    private final LanguageModel lm;
    private final long[] labelTokens;
    private final int batchSize;
    private final int padTo;

    public Predictor(LanguageModel lm, long[] labelTokens, int batchSize) {
        this(lm, labelTokens, batchSize, 0);
    }

    /** padTo pads every batch to at least that many tokens (benchmarks at fixed shapes). */
    public Predictor(LanguageModel lm, long[] labelTokens, int batchSize, int padTo) {
        this.lm = lm;
        this.labelTokens = labelTokens;
        this.batchSize = batchSize;
        this.padTo = padTo;
    }

    /** Probabilities [rows][C] in input order; prompt values are [N·D] row-major. */
    public float[][] probabilities(float[] prompt, int n, List<Encoder.Encoded> rows) {
        float[][] out = new float[rows.size()][];
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray p = m.create(prompt, new Shape(n, lm.hiddenSize()));           // [N, D]
            NDArray labels = m.create(labelTokens);                                // [C]
            for (int[] idx : Encoder.lengthBuckets(rows, batchSize)) {
                List<Encoder.Encoded> part = new ArrayList<>(idx.length);
                for (int i : idx) {
                    part.add(rows.get(i));
                }
                float[][] probs = probabilities(m, p, labels, Encoder.batch(part, padTo));
                for (int k = 0; k < idx.length; k++) {
                    out[idx[k]] = probs[k];
                }
            }
        }
        return out;
    }

    /** One padded batch → [B][C] probabilities. */
    public float[][] probabilities(NDManager parent, NDArray prompt, NDArray labels, Encoder.Batch b) {
        try (NDManager m = parent.newSubManager()) {
            NDArray ids = m.create(b.ids(), new Shape(b.size(), b.length()));      // [B, T]
            NDArray mask = m.create(b.mask(), new Shape(b.size(), b.length()));    // [B, T]
            NDArray h = Prompted.hiddenAt(lm, prompt, ids, mask, b.positions());  // [B, D]
            float[] probs = lm.logits(h, labels).softmax(1).toFloatArray();      // [B, C]
            int c = labelTokens.length;
            float[][] out = new float[b.size()][c];
            for (int i = 0; i < b.size(); i++) {
                System.arraycopy(probs, i * c, out[i], 0, c);
            }
            return out;
        }
    }

    public static int argmax(float[] p) {
        int best = 0;
        for (int i = 1; i < p.length; i++) {
            if (p[i] > p[best]) {
                best = i;
            }
        }
        return best;
    }
}
