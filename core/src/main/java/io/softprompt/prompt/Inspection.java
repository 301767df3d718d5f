package io.softprompt.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.util.Tensors;

/**
 * Looking inside a prompt (Lester et al. §7): each vector's L2 norm and its K nearest vocabulary
 * embeddings by cosine similarity. One [N, D] × [D, V] product and a top-K, not a loop over the
 * vocabulary. Khashabi et al. 2021 showed such readings can mislead: a prompt can sit near the
 * embeddings of an unrelated text and still solve the task.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): N prompt tokens, D hidden, V vocabulary, X neighbours per position.
 */
public final class Inspection {
    /** Per position: norm, neighbour ids [X] and cosine similarities [X]; the mean vocabulary norm. */
    public record Result(float[] norms, long[][] ids, float[][] similarity, double meanVocabNorm) {
        public double meanPromptNorm() {
            double s = 0;
            for (float v : norms) {
                s += v;
            }
            return s / norms.length;
        }
    }

    /** What Khashabi et al. (2021) warn reads well and may still differ: a prompt and its projection. */
    public static final String WAYWARDNESS = "a projection that reads well can still perform differently from the prompt, "
            + "and one that reads like nonsense can still work: the nearest tokens do not explain the prompt "
            + "(Khashabi et al. 2021, Prompt Waywardness)";

    private Inspection() {}

    /**
     * A deep prompt's norms: per layer l and position i, the L2 norm of its key row and of its value row
     * (each Hkv·K numbers). [L][N] each.
     */
    public record Deep(float[][] keyNorms, float[][] valueNorms) {
        /** Mean, smallest and largest of one layer's norms. */
        public static double[] summary(float[] norms) {
            double sum = 0;
            double min = Double.MAX_VALUE;
            double max = 0;
            for (float v : norms) {
                sum += v;
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            return new double[] {sum / norms.length, min, max};
        }
    }

    /**
     * Norms of a deep prompt's table [Np, L·2·Hkv·K] (PEFT's layout: layer l's keys at rows 2l, values at 2l+1
     * of the [Np, L·2, Hkv·K] view).
     *
     * @param a the model's attention geometry
     * @param table the table [Np·L·2·Hkv·K]
     * @param n Np
     * @return the norms per layer and position
     */
    public static Deep deep(LanguageModel.Attention a, float[] table, int n) {
        int kv = a.kvHeads() * a.headSize();
        int width = a.prefixWidth();
        float[][] keys = new float[a.layers()][n];
        float[][] values = new float[a.layers()][n];
        for (int l = 0; l < a.layers(); l++) {
            for (int i = 0; i < n; i++) {
                keys[l][i] = norm(table, i * width + 2 * l * kv, kv);
                values[l][i] = norm(table, i * width + (2 * l + 1) * kv, kv);
            }
        }
        return new Deep(keys, values);
    }

    private static float norm(float[] v, int from, int len) {
        double s = 0;
        for (int i = from; i < from + len; i++) {
            s += (double) v[i] * v[i];
        }
        return (float) Math.sqrt(s);
    }

    /**
     * The discrete prompt nearest to {@code r}'s: each position replaced by the embedding of its nearest
     * vocabulary token (by cosine, as {@link #of} ranks them) [N·D].
     */
    public static float[] projection(LanguageModel lm, Result r) {
        int n = r.ids().length;
        int d = lm.hiddenSize();
        long[] nearest = new long[n];
        for (int i = 0; i < n; i++) {
            nearest[i] = r.ids()[i][0];
        }
        try (NDManager m = NDManager.newBaseManager(lm.device())) {
            return Layers.embedding(Tensors.create(m, nearest), lm.embeddings()).toFloatArray(); // [N, D]
        }
    }

    public static Result of(LanguageModel lm, float[] prompt, int n, int k) {
        int d = lm.hiddenSize();
        try (NDManager m = NDManager.newBaseManager(lm.device())) {
            NDArray p = Tensors.create(m, prompt, new Shape(n, d));                // [N, D]
            NDArray e = lm.embeddings();                                           // [V, D]
            NDArray pNorm = p.norm(new int[] {1}, true);                           // [N, 1]
            NDArray eNorm = e.norm(new int[] {1}, true);                           // [V, 1]
            eNorm.attach(m);
            NDArray eUnit = e.div(eNorm.maximum(1e-12f));                          // [V, D]
            eUnit.attach(m);
            NDArray sims = p.div(pNorm.maximum(1e-12f)).matMul(eUnit.transpose()); // [N, V]
            NDList top = sims.topK(Math.min(k, (int) e.getShape().get(0)), 1);    // values, indices [N, X]
            float[] vals = top.get(0).toFloatArray();
            long[] idx = top.get(1).toLongArray();
            int kk = (int) top.get(0).getShape().get(1);
            long[][] ids = new long[n][kk];
            float[][] sim = new float[n][kk];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < kk; j++) {
                    ids[i][j] = idx[i * kk + j];
                    sim[i][j] = vals[i * kk + j];
                }
            }
            return new Result(pNorm.toFloatArray(), ids, sim, eNorm.mean().getFloat());
        }
    }
}
