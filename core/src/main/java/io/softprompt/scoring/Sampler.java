package io.softprompt.scoring;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from one position's logits [V] as {@link Decoding} says, in transformers'
 * order: temperature, then top-k (ties with the k-th kept, as its TopKLogitsWarper), then top-p (the
 * token that crosses p is kept, at least one always), then one draw from what is left. Pure: the same
 * logits, settings and random state give the same token.
 */
public final class Sampler {
    private Sampler() {}

    /** The next token for logits [V]. */
    public static int pick(float[] logits, Decoding d, SplittableRandom rng) {
        if (d.greedy()) {
            return Scorer.argmax(logits); // the first of equals, as torch's argmax on CPU
        }
        double[] p = probabilities(logits, d);
        double total = 0;
        for (double x : p) {
            total += x;
        }
        double u = rng.nextDouble() * total;
        double acc = 0;
        int last = -1;
        for (int i = 0; i < p.length; i++) {
            if (p[i] > 0) {
                acc += p[i];
                last = i;
                if (u < acc) {
                    return i;
                }
            }
        }
        return last >= 0 ? last : Scorer.argmax(logits); // rounding: u landed on the total; none left: the most likely
    }

    /**
     * The (unnormalised) probabilities the draw uses: softmax(logits / T), zero outside top-k and top-p.
     * Package-visible for the tests.
     */
    static double[] probabilities(float[] logits, Decoding d) {
        int v = logits.length;
        // shifted by the largest logit before dividing: softmax does not change, and a tiny temperature
        // (1e-308) gives 0 and -infinity instead of overflowing to infinity - infinity = NaN
        double top = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            top = Math.max(top, l);
        }
        double[] z = new double[v];
        for (int i = 0; i < v; i++) {
            z[i] = (logits[i] - top) / d.temperature();
        }
        if (d.topK() > 0 && d.topK() < v) {
            double[] sorted = z.clone();
            Arrays.sort(sorted);
            double kth = sorted[v - d.topK()];
            for (int i = 0; i < v; i++) {
                if (z[i] < kth) {
                    z[i] = Double.NEGATIVE_INFINITY;
                }
            }
        }
        double max = Double.NEGATIVE_INFINITY;
        for (double x : z) {
            max = Math.max(max, x);
        }
        double sum = 0;
        double[] p = new double[v];
        for (int i = 0; i < v; i++) {
            p[i] = z[i] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(z[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < v; i++) {
            p[i] /= sum;
        }
        if (d.topP() < 1) {
            Integer[] order = new Integer[v];
            for (int i = 0; i < v; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
            double cum = 0;
            int keep = 0;
            while (keep < v && (keep == 0 || cum < d.topP())) {
                cum += p[order[keep]];
                keep++;
            }
            for (int k = keep; k < v; k++) {
                p[order[k]] = 0;
            }
        }
        return p;
    }
}
