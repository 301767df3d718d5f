package io.softprompt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.util.Tensors;

/**
 * A late prompt (Late Prompt Tuning, Liu et al. 2022): N vectors [N, D] joined in front of the hidden
 * states entering layer l = L − top, so it passes through the top {@code top} layers only. Positions are
 * those of an input prompt: the prompt's rows at 0..N-1 and the tokens at N..N+T-1 in every layer, below
 * l too (where the tokens run alone, as they would behind a prompt that is not there yet). So a late
 * prompt entering layer 0 is an input prompt, number for number, and the tokens' states entering l are the
 * frozen model's ({@link LanguageModel#entry}): kept across steps, with no gradient work below l. A model
 * with learned absolute positions (GPT-2, BERT) adds them before its first layer only: above it, the
 * prompt's rows enter as they are.
 *
 * <p>On a decoder LM the prompt's rows see only each other (attention is causal), so their keys and values
 * from l up do not depend on the input and the scorer and the generator compute them once, as a prefix of
 * the layers from l ({@link #prefix}); on a model that attends both ways its rows read the input, and a
 * batch of its rows runs the prompt's own pass ({@link Pass#OWN}).
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B rows, T tokens, N prompt tokens, S = N + T, D hidden.
 *
 * @param top the layers the prompt passes through, counted from the top (1..L)
 */
public record LateSite(int top) implements PromptSite {
    private static final long serialVersionUID = 1L;

    public LateSite {
        if (top < 1) {
            throw new IllegalArgumentException("a late prompt passes through at least one layer, not " + top);
        }
    }

    @Override
    public String depth() {
        return "late";
    }

    @Override
    public int layers() {
        return top;
    }

    @Override
    public String noun() {
        return "late prompt";
    }

    @Override
    public int width(LanguageModel lm) {
        return lm.hiddenSize();
    }

    /** N: the tokens sit behind the prompt's positions in every layer. */
    @Override
    public int sequenceRows(int n) {
        return n;
    }

    @Override
    public int firstLayer(LanguageModel lm) {
        return PromptSite.first(lm, top, "a late prompt");
    }

    /** [N, D], as an input prompt's. */
    @Override
    public NDArray tensor(NDManager m, LanguageModel lm, float[] values, int n) {
        return INPUT.tensor(m, lm, values, n);                                                              // [N, D]
    }

    /** The tokens' states entering l, the prompt [N, D] or [B, N, D] in front, the layers from l: [B, S, D], [B, S]. */
    @Override
    public NDList run(LanguageModel lm, NDArray prompt, NDArray ids, NDArray mask) {
        NDList in = joined(lm, prompt, ids, mask);                                                           // [B, S, D], [B, S]
        return new NDList(lm.forward(in.get(0), in.get(1), null, Span.from(firstLayer(lm))), in.get(1));
    }

    /** From layer 0 the model's decision-row forward, as an input prompt's; above it the rows of the full states. */
    @Override
    public NDArray hiddenAt(LanguageModel lm, NDArray prompt, NDArray ids, NDArray mask, long[] positions) {
        NDList in = joined(lm, prompt, ids, mask);                                                           // [B, S, D], [B, S]
        long s = in.get(1).getShape().get(1);
        long[] flat = Layers.flatRows(s, s - ids.getShape().get(1), positions);
        int first = firstLayer(lm);
        return first == 0 ? lm.forwardRows(in.get(0), in.get(1), flat)                                      // [B, D]
                : Layers.rows(lm.forward(in.get(0), in.get(1), null, Span.from(first)), flat);            // [B, D]
    }

    /** The prompt in front of the tokens' states entering l (positions N..): [B, S, D] and its mask [B, S]. */
    private NDList joined(LanguageModel lm, NDArray prompt, NDArray ids, NDArray mask) {
        int n = (int) prompt.getShape().get(prompt.getShape().dimension() - 2);
        return InputSite.join(prompt, lm.entry(ids, mask, firstLayer(lm), n), mask);
    }

    /** Decoder LMs: the rows [1, N, D] through the layers from l alone; the layers below hold none of them. */
    @Override
    public KvCache prefix(NDManager m, LanguageModel lm, float[] values, int n) {
        if (lm.kind() != LanguageModel.Kind.DECODER) { // under attention both ways its keys depend on the input
            throw new IllegalStateException(lm.modelType() + ": a late prompt's keys and values are cached on decoder LMs only");
        }
        int first = firstLayer(lm);
        KvCache c = new KvCache(m);
        try (NDManager scope = m.newSubManager()) {
            NDArray p = Tensors.create(scope, values, new Shape(1, n, lm.hiddenSize()));                    // [1, N, D]
            lm.forward(p, scope.ones(new Shape(1, n), DataType.INT64), c, Span.from(first));
        }
        if (first > 0) {
            c.bareBelow(first);
        }
        return c;
    }

    @Override
    public Pass pass(LanguageModel lm, boolean prefixCache) {
        return prefixCache && lm.kind() == LanguageModel.Kind.DECODER ? Pass.PREFIX : Pass.OWN;
    }

    /** Any model that generates takes a late prompt (a masked LM's generator refuses itself). */
    @Override
    public void checkGenerates(LanguageModel lm, String source) {}

    /**
     * The init's input prompt carried to layer l by the frozen layers below it (run alone at positions
     * 0..N-1): rows on the scale of the states they join. At layer 0, the input prompt itself.
     */
    @Override
    public float[] start(LanguageModel lm, float[] input, int n, long seed) {
        int first = firstLayer(lm);
        if (first == 0) {
            return input;
        }
        try (NDManager m = NDManager.newBaseManager(lm.device())) {
            NDArray p = Tensors.create(m, input, new Shape(1, n, lm.hiddenSize()));                         // [1, N, D]
            NDArray h = lm.forward(p, m.ones(new Shape(1, n), DataType.INT64), null, Span.below(first));   // [1, N, D]
            return h.toType(DataType.FLOAT32, false).toFloatArray();
        }
    }

    /** Decoder LMs: the prompt's prefix from l (see {@link #prefix}). */
    @Override
    public KvCache startCache(NDManager m, LanguageModel lm, float[] values, int n) {
        return prefix(m, lm, values, n);
    }

    /** The row's tokens alone, as behind a deep prompt: the prompt is in the cache. */
    @Override
    public NDArray firstPass(NDManager m, LanguageModel lm, float[] values, int n, long[] ids) {
        return DEEP.firstPass(m, lm, values, n, ids);                                                      // [1, T, D]
    }
}
