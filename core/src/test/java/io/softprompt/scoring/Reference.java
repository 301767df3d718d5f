package io.softprompt.scoring;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.data.Encoder;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.PromptSite;
import io.softprompt.util.Tensors;

/**
 * The plainest way to score one row under one prompt, written apart from {@link Scorer} so tests can
 * hold the scorer's batching, bucketing, gathers and prefix cache against it: B = 1, no padding, the
 * prompt prepended by {@link io.softprompt.model.InputSite}, every class of a seq2seq model decoded on its own.
 */
final class Reference {
    private Reference() {}

    /** Class probabilities [C] of row under prompt [N·D]. */
    static float[] probabilities(LanguageModel lm, float[] prompt, int n, Encoder.Encoded row, Encoder.Labels labels) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray p = Tensors.create(m, prompt, new Shape(n, lm.hiddenSize()));                  // [N, D]
            long[] ids = row.ids();
            NDArray idArr = Tensors.create(m, ids, new Shape(1, ids.length));                       // [1, T]
            NDArray mask = m.ones(new Shape(1, ids.length), DataType.INT64);   // [1, T]
            int c = labels.first().length;
            float[] scores = new float[c];
            if (lm.kind() != LanguageModel.Kind.SEQ2SEQ) {
                NDArray h = PromptSite.INPUT.hiddenAt(lm, p, idArr, mask, new long[] {row.position()});      // [1, D]
                scores = lm.logits(h, Tensors.create(m, labels.first())).toFloatArray();            // [1, C]
            } else {
                NDList enc = PromptSite.INPUT.run(lm, p, idArr, mask);                                      // [1, S, D], [1, S]
                for (int k = 0; k < c; k++) {
                    long[] target = labels.sequences()[k];
                    long[] in = new long[target.length];
                    in[0] = lm.specials().decoderStart();
                    System.arraycopy(target, 0, in, 1, target.length - 1);
                    NDArray h = lm.decode(Tensors.create(m, in, new Shape(1, in.length)), enc.get(0), enc.get(1)); // [1, R, D]
                    float[] logp = lm.logits(h.reshape(in.length, -1)).logSoftmax(1).toFloatArray(); // [R, V]
                    int v = lm.vocabSize();
                    for (int j = 0; j < target.length; j++) {
                        scores[k] += logp[j * v + (int) target[j]];
                    }
                }
            }
            return softmax(scores);
        }
    }

    static float[] softmax(float[] l) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : l) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : l) {
            sum += Math.exp(v - max);
        }
        float[] p = new float[l.length];
        for (int i = 0; i < l.length; i++) {
            p[i] = (float) (Math.exp(l[i] - max) / sum);
        }
        return p;
    }
}
