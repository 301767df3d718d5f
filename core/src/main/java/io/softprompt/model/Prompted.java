package io.softprompt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.softprompt.util.Tensors;

/**
 * The forward pass with a soft prompt in front of the token embeddings (the objectives built on it
 * are in scoring.Objective).
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B batch, T tokens, N prompt tokens, S = N + T, D hidden,
 * C classes (label tokens), M selected rows.
 *
 * <p>The prompt occupies positions 0..N-1 and the tokens N..N+T-1, as the reference (PEFT) does;
 * right padding is masked. Only the prompt requires gradients; the decision row is picked out before
 * the LM head so no logits are computed at positions nobody reads.
 */
public final class Prompted {
    private Prompted() {}

    /**
     * Final hidden states at one position per row: prompt [N, D] (shared) or [B, N, D] (one per row),
     * ids [B, T], mask [B, T] (1 = real), positions [B] indexing the token axis T → [B, D].
     * Pass a null prompt for the plain model.
     */
    public static NDArray hiddenAt(LanguageModel lm, NDArray prompt, NDArray ids, NDArray mask, long[] positions) {
        NDList in = prepend(lm, prompt, ids, mask);                       // [B, S, D], [B, S]
        long s = in.get(1).getShape().get(1);
        long n = s - ids.getShape().get(1);
        long[] flat = new long[positions.length];
        for (int i = 0; i < positions.length; i++) {
            flat[i] = i * s + n + positions[i];
        }
        return lm.forwardRows(in.get(0), in.get(1), flat);                // [B, D]
    }

    /** Final hidden states for all positions: [B, S, D] with S = N + T (N = 0 without a prompt). */
    public static NDArray hidden(LanguageModel lm, NDArray prompt, NDArray ids, NDArray mask) {
        return run(lm, prompt, ids, mask).get(0);
    }

    /**
     * The transformer (the encoder of an encoder-decoder) with the prompt prepended: returns the final
     * hidden states [B, S, D] and the mask over them [B, S] (N leading ones, then the token mask).
     */
    public static NDList run(LanguageModel lm, NDArray prompt, NDArray ids, NDArray mask) {
        NDList in = prepend(lm, prompt, ids, mask);                       // [B, S, D], [B, S]
        return new NDList(lm.forward(in.get(0), in.get(1)), in.get(1));
    }

    /** The embedded input with the prompt in front: [B, S, D] and its mask [B, S] (the token mask without a prompt). */
    static NDList prepend(LanguageModel lm, NDArray prompt, NDArray ids, NDArray mask) {
        NDManager m = ids.getManager();
        long b = ids.getShape().get(0);
        NDArray tokens = lm.embed(ids);                                   // [B, T, D]
        if (prompt == null) {
            return new NDList(tokens, mask);
        }
        // The prompt lives in a long-lived manager; DJL puts an op's result in its first operand's
        // manager, so the derived views are moved into this batch's scope at once, or every
        // activation of the step (and its autograd graph) would outlive the step.
        NDArray p;
        if (prompt.getShape().dimension() == 2) {
            NDArray row = prompt.expandDims(0);                           // [1, N, D]
            row.attach(m);
            p = row.broadcast(b, prompt.getShape().get(0), prompt.getShape().get(1)); // [B, N, D]
        } else {
            p = prompt.get(new NDIndex(":"));       // [B, N, D] view
            p.attach(m);
        }
        long n = p.getShape().get(1);
        p = Layers.matchType(p, tokens); // a scoring prompt into a half model (a trained one comes in the model's dtype)
        NDArray embeds = NDArrays.concat(new NDList(p, tokens), 1);       // [B, S, D]
        NDArray full = NDArrays.concat(new NDList(m.ones(new Shape(b, n), mask.getDataType()), mask), 1); // [B, S]
        return new NDList(embeds, full);
    }

    /** Rows of x [B, R, D] at (b, r) pairs given as flat indices b·R + r → [M, D]. */
    public static NDArray rows(NDArray x, long[] flat) {
        Shape s = x.getShape();
        return Layers.embedding(Tensors.create(x.getManager(), flat), x.reshape(s.get(0) * s.get(1), s.get(2)));
    }

    /** Mean cross-entropy of logits [B, C] against targets [B] (class indices). */
    public static NDArray crossEntropy(NDArray logits, NDArray targets) {
        NDArray logp = logits.logSoftmax(1);                              // [B, C]
        NDArray picked = logp.gather(targets.reshape(-1, 1), 1);          // [B, 1]
        return picked.neg().mean();                                       // []
    }
}
