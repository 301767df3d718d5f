package io.softprompt.infer;

import io.softprompt.model.Tensors;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.softprompt.data.Encoder;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.model.Prompted;
import io.softprompt.train.Objective;
import java.util.ArrayList;
import java.util.List;

/**
 * Class probabilities for encoded inputs under a prompt: batched, sorted into length buckets so
 * padding stays small, no gradient recording.
 *
 * <p>Decoder and masked LMs: logits only for the label tokens at the decision position ([B, C], never
 * [B, T, V]), softmax over them. Encoder-decoders: each class's whole target sequence (label word, EOS)
 * is scored by the decoder (sum of token log-probabilities), softmax over the class scores.
 */
public final class Predictor {
    private final LanguageModel lm;
    private final Encoder.Labels labels;
    private final int batchSize;
    private final int padTo;

    public Predictor(LanguageModel lm, Encoder.Labels labels, int batchSize) {
        this(lm, labels, batchSize, 0);
    }

    /** padTo pads every batch to at least that many tokens (benchmarks at fixed shapes). */
    public Predictor(LanguageModel lm, Encoder.Labels labels, int batchSize, int padTo) {
        this.lm = lm;
        this.labels = labels;
        this.batchSize = batchSize;
        this.padTo = padTo;
    }

    public int classes() {
        return labels.first().length;
    }

    /** Probabilities [rows][C] in input order; prompt values are [N·D] row-major. */
    public float[][] probabilities(float[] prompt, int n, List<Encoder.Encoded> rows) {
        float[][] out = new float[rows.size()][];
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray p = Tensors.create(m, prompt, new Shape(n, lm.hiddenSize()));           // [N, D]
            for (int[] idx : Encoder.lengthBuckets(rows, batchSize)) {
                List<Encoder.Encoded> part = new ArrayList<>(idx.length);
                for (int i : idx) {
                    part.add(rows.get(i));
                }
                float[][] probs = probabilities(m, p, Encoder.batch(part, padTo, lm.specials().pad()));
                for (int k = 0; k < idx.length; k++) {
                    out[idx[k]] = probs[k];
                }
            }
        }
        return out;
    }

    /** One padded batch → [B][C] probabilities. prompt [N, D] or [B, N, D]. */
    public float[][] probabilities(NDManager parent, NDArray prompt, Encoder.Batch b) {
        try (NDManager m = parent.newSubManager()) {
            NDArray ids = Tensors.create(m, b.ids(), new Shape(b.size(), b.length()));      // [B, T]
            NDArray mask = Tensors.create(m, b.mask(), new Shape(b.size(), b.length()));    // [B, T]
            NDArray scores = lm.kind() == LanguageModel.Kind.SEQ2SEQ
                    ? sequenceScores(prompt, ids, mask, b.size())                  // [B, C]
                    : lm.logits(Prompted.hiddenAt(lm, prompt, ids, mask, b.positions()), Tensors.create(m, labels.first())); // [B, C]
            float[] probs = scores.softmax(1).toFloatArray();                     // [B, C]
            int c = classes();
            float[][] out = new float[b.size()][c];
            for (int i = 0; i < b.size(); i++) {
                System.arraycopy(probs, i * c, out[i], 0, c);
            }
            return out;
        }
    }

    /** log p(target_c | input) for every class c: [B, C], decoding all B·C (row, class) pairs at once. */
    private NDArray sequenceScores(NDArray prompt, NDArray ids, NDArray mask, int b) {
        NDManager m = ids.getManager();
        int c = classes();
        NDList enc = Prompted.run(lm, prompt, ids, mask);                         // [B, S, D], [B, S]
        long[] rowOf = new long[b * c];
        List<long[]> targets = new ArrayList<>(b * c);
        for (int i = 0; i < b; i++) {
            for (int k = 0; k < c; k++) {
                rowOf[i * c + k] = i;
                targets.add(labels.sequences()[k]);
            }
        }
        NDArray pick = Tensors.create(m, rowOf);                                           // [B·C]
        Shape es = enc.get(0).getShape();
        NDArray encRep = Layers.embedding(pick, enc.get(0).reshape(b, -1)).reshape(b * c, es.get(1), es.get(2)); // [B·C, S, D]
        NDArray maskRep = Layers.embedding(pick, enc.get(1).toType(ai.djl.ndarray.types.DataType.FLOAT32, false))
                .toType(ai.djl.ndarray.types.DataType.INT64, false);             // [B·C, S]
        Objective.Teacher t = Objective.Teacher.of(targets, lm.specials().decoderStart(), lm.specials().pad());
        NDArray h = lm.decode(Tensors.create(m, t.inputs(), new Shape((long) b * c, t.steps())), encRep, maskRep); // [B·C, R, D]
        NDArray logp = lm.logits(Prompted.rows(h, t.flat())).logSoftmax(1);      // [M, V]
        NDArray tok = logp.gather(Tensors.create(m, t.targets()).reshape(-1, 1), 1).reshape(-1); // [M]
        // sum the M token log-probs back into their (row, class) pair
        float[] lp = tok.toFloatArray();
        float[] sums = new float[b * c];
        for (int j = 0; j < t.flat().length; j++) {
            sums[(int) (t.flat()[j] / t.steps())] += lp[j];
        }
        return Tensors.create(m, sums, new Shape(b, c));                                   // [B, C]
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
