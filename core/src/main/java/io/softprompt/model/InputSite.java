package io.softprompt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.util.Tensors;

/**
 * The soft prompt in front of the token embeddings (Lester et al. 2021): N vectors [N, D] at positions
 * 0..N-1 and the tokens at N..N+T-1, as the reference (PEFT) lays them out; right padding is masked.
 * Only the prompt requires gradients; the decision row is picked out before the LM head so no logits
 * are computed at positions nobody reads. On a decoder LM the prompt's keys and values do not depend
 * on the input (attention is causal), so the scorer may compute them once ({@link #prefix}).
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B batch, T tokens, N prompt tokens, S = N + T, D hidden.
 */
public record InputSite() implements PromptSite {
    private static final long serialVersionUID = 1L;

    @Override
    public String depth() {
        return "input";
    }

    @Override
    public String noun() {
        return "prompt";
    }

    @Override
    public int width(LanguageModel lm) {
        return lm.hiddenSize();
    }

    @Override
    public int sequenceRows(int n) {
        return n;
    }

    @Override
    public int firstLayer(LanguageModel lm) {
        return 0;
    }

    @Override
    public NDArray tensor(NDManager m, LanguageModel lm, float[] values, int n) {
        return Tensors.create(m, values, new Shape(n, values.length / n));                                  // [N, D]
    }

    /** Prompt [N, D] (shared) or [B, N, D] (one per row); null for the plain model. */
    @Override
    public NDArray hiddenAt(LanguageModel lm, NDArray prompt, NDArray ids, NDArray mask, long[] positions) {
        NDList in = prepend(lm, prompt, ids, mask);                       // [B, S, D], [B, S]
        long s = in.get(1).getShape().get(1);
        return lm.forwardRows(in.get(0), in.get(1), Layers.flatRows(s, s - ids.getShape().get(1), positions)); // [B, D]
    }

    /** N leading ones, then the token mask, over the hidden states [B, S, D]. */
    @Override
    public NDList run(LanguageModel lm, NDArray prompt, NDArray ids, NDArray mask) {
        NDList in = prepend(lm, prompt, ids, mask);                       // [B, S, D], [B, S]
        return new NDList(lm.forward(in.get(0), in.get(1)), in.get(1));
    }

    @Override
    public KvCache prefix(NDManager m, LanguageModel lm, float[] values, int n) {
        if (lm.kind() != LanguageModel.Kind.DECODER) { // under attention both ways its keys depend on the input
            throw new IllegalStateException(lm.modelType() + ": an input prompt's keys and values are cached on decoder LMs only");
        }
        KvCache c = new KvCache(m);
        try (NDManager scope = m.newSubManager()) {
            NDArray p = Tensors.create(scope, values, new Shape(1, n, lm.hiddenSize()));                    // [1, N, D]
            lm.forward(p, scope.ones(new Shape(1, n), DataType.INT64), c);
        }
        return c;
    }

    @Override
    public Pass pass(LanguageModel lm, boolean prefixCache) {
        return prefixCache && lm.kind() == LanguageModel.Kind.DECODER ? Pass.PREFIX : Pass.INLINE;
    }

    /** Any model that generates takes an input prompt (a masked LM's generator refuses itself). */
    @Override
    public void checkGenerates(LanguageModel lm, String source) {}

    /** The init's input prompt itself. */
    @Override
    public float[] start(LanguageModel lm, float[] input, int n, long seed) {
        return input;
    }

    @Override
    public KvCache startCache(NDManager m, LanguageModel lm, float[] values, int n) {
        return new KvCache(m);
    }

    /** [prompt; embedded ids]: [1, N + T, D]. */
    @Override
    public NDArray firstPass(NDManager m, LanguageModel lm, float[] values, int n, long[] ids) {
        NDArray prompt = Tensors.create(m, values, new Shape(1, n, lm.hiddenSize()));                       // [1, N, D]
        NDArray tokens = lm.embed(Tensors.create(m, ids, new Shape(1, ids.length)));                          // [1, T, D]
        return NDArrays.concat(new NDList(Layers.matchType(prompt, tokens), tokens), 1);                      // [1, S, D]
    }

    /** The embedded input with the prompt in front: [B, S, D] and its mask [B, S] (the token mask without a prompt). */
    static NDList prepend(LanguageModel lm, NDArray prompt, NDArray ids, NDArray mask) {
        return join(prompt, lm.embed(ids), mask);
    }

    /**
     * The prompt [N, D] (shared) or [B, N, D] in front of the tokens' states [B, T, D] (embedded, or entering a
     * later layer): [B, S, D] and the mask [B, S], N ones in front of {@code mask} [B, T].
     */
    static NDList join(NDArray prompt, NDArray tokens, NDArray mask) {
        NDManager m = tokens.getManager();
        long b = tokens.getShape().get(0);
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
}
