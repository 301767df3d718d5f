package io.softprompt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.util.Tensors;
import io.softprompt.util.UserException;

/**
 * A deep prompt (prefix tuning, Li &amp; Liang 2021; P-Tuning v2, Liu et al. 2022): per layer, Np key rows
 * and Np value rows in front of the self-attention's own, held in PEFT's layout, a table Q
 * [Np, L·2·Hkv·K] (PrefixTuningConfig's {@code prompt_embeddings}): viewed [Np, L·2, Hkv, K], layer l
 * takes rows 2l (keys) and 2l+1 (values). The input's tokens then run after the prefix as generation
 * runs after cached positions: the key mask grown by Np ones, the positions starting at Np. So a deep
 * prompt is a {@link KvCache} seeded with the table, and gradients flow from the loss to Q through it.
 *
 * <p>Decoder LMs (GPT-2 and Llama, matched against peft 0.17.1's goldens), masked LMs (BERT and
 * RoBERTa, as P-Tuning v2 runs them: the tokens attend both ways to the prefix and to each other,
 * matched against P-Tuning v2's path) and T5, whose encoder takes the prefix in every layer's
 * self-attention (P-Tuning v2's choice for encoders; no decoder prefix; peft 0.17.1 fails on T5, so it
 * is proven by gradient checks). For T5 {@link #run} is the encoder output of the tokens.
 *
 * <p>A <b>partial-depth</b> deep prompt covers only the top {@code top} layers (P-Tuning v2's depth
 * ablation): its table holds those layers' rows, [Np, top·2·Hkv·K] (layer l at rows 2(l − l0), l0 = L −
 * top, the first covered). Below l0 the tokens run alone at the positions they have behind the prefix
 * (Np..), so the hidden states entering l0 are the frozen model's ({@link LanguageModel#entry}): they are
 * computed without gradient work and can be kept across steps; no prompt changes them.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B rows, Np prefix positions, L layers, Hkv key/value heads,
 * K head size, N prompt tokens, D hidden size, T tokens.
 *
 * @param top the layers covered, counted from the top; 0: every layer (the deep prompt)
 */
public record DeepSite(int top) implements PromptSite {
    private static final long serialVersionUID = 2L;

    public DeepSite {
        if (top < 0) {
            throw new IllegalArgumentException("top " + top);
        }
    }

    @Override
    public String depth() {
        return top == 0 ? "deep" : "partial";
    }

    @Override
    public int layers() {
        return top;
    }

    @Override
    public String noun() {
        return top == 0 ? "deep prompt" : "deep prompt in the top " + top + " layers";
    }

    @Override
    public int width(LanguageModel lm) {
        LanguageModel.Attention a = lm.attention();
        return (a.layers() - firstLayer(lm)) * 2 * a.kvHeads() * a.headSize();
    }

    /** l0 = L − top, the first layer holding the prefix (0 for every layer); a model with fewer layers is refused. */
    @Override
    public int firstLayer(LanguageModel lm) {
        return PromptSite.first(lm, top, "a deep prompt");
    }

    @Override
    public int sequenceRows(int n) {
        return 0;
    }

    /** The table [N, L·2·Hkv·K] in the model's precision (copied into memory PyTorch owns). */
    @Override
    public NDArray tensor(NDManager m, LanguageModel lm, float[] values, int n) {
        return Tensors.create(m, values, new Shape(n, values.length / n)).toType(lm.dtype(), false);       // [N, L·2·Hkv·K]
    }

    /**
     * The tokens' final hidden states [B, T, D] after the prefix, and their own mask [B, T]: the states
     * entering the first covered layer (the embedded tokens for a full-depth prompt), then the layers from
     * there with the prefix.
     */
    @Override
    public NDList run(LanguageModel lm, NDArray table, NDArray ids, NDArray mask) {
        int first = firstLayer(lm);
        long np = table.getShape().get(0);
        NDArray entering = lm.entry(ids, mask, first, (int) np);                                        // [B, T, D]
        NDManager m = entering.getManager();
        int b = (int) entering.getShape().get(0);
        try (KvCache cache = cache(m, lm, table, b, first)) {
            NDArray keyMask = NDArrays.concat(new NDList(m.ones(new Shape(b, np), mask.getDataType()), mask), 1); // [B, Np+T]
            return new NDList(lm.forward(entering, keyMask, cache, Span.from(first)), mask);           // [B, T, D]
        }
    }

    @Override
    public NDArray hiddenAt(LanguageModel lm, NDArray table, NDArray ids, NDArray mask, long[] positions) {
        return Layers.rows(hidden(lm, table, ids, mask), Layers.flatRows(ids.getShape().get(1), 0, positions)); // [B, D]
    }

    @Override
    public KvCache prefix(NDManager m, LanguageModel lm, float[] values, int n) {
        // the cache keeps views of the table: closing the table's own handle leaves their storage
        try (NDManager scope = m.newSubManager()) {
            return cache(m, lm, tensor(scope, lm, values, n), 1, firstLayer(lm));
        }
    }

    @Override
    public Pass pass(LanguageModel lm, boolean prefixCache) {
        return lm.kind() == LanguageModel.Kind.SEQ2SEQ ? Pass.OWN : Pass.PREFIX;
    }

    /** Decoder LMs so far: a T5 deep prompt sits in the encoder and is proven for classification only. */
    @Override
    public void checkGenerates(LanguageModel lm, String source) {
        if (lm.kind() != LanguageModel.Kind.DECODER) {
            throw new UserException(source + " trains text-to-text tasks on decoder LMs so far, not " + lm.modelType() + " (a "
                    + lm.modelType().toUpperCase(java.util.Locale.ROOT) + " deep prompt classifies)");
        }
    }

    /** A deep prompt is its own cache: the row starts from it. */
    @Override
    public KvCache startCache(NDManager m, LanguageModel lm, float[] values, int n) {
        return prefix(m, lm, values, n);
    }

    /** The row's tokens alone: the prompt is in the cache. */
    @Override
    public NDArray firstPass(NDManager m, LanguageModel lm, float[] values, int n, long[] ids) {
        return lm.embed(Tensors.create(m, ids, new Shape(1, ids.length)));                                // [1, T, D]
    }

    /**
     * A run's start: the keys and values the init's input prompt leaves in every layer of a decoder LM
     * (so step 0 scores exactly as that input prompt would); elsewhere a token's keys depend on the text
     * too, so the table is drawn as PEFT's PrefixEncoder and P-Tuning v2 draw it: N(0, 1), from the seed.
     */
    @Override
    public float[] start(LanguageModel lm, float[] input, int n, long seed) {
        if (lm.kind() != LanguageModel.Kind.DECODER) {
            java.util.Random r = new java.util.Random(seed);
            float[] t = new float[n * width(lm)];
            for (int i = 0; i < t.length; i++) {
                t[i] = (float) r.nextGaussian();
            }
            return t;
        }
        float[] all;
        try (NDManager m = NDManager.newBaseManager(lm.device())) {
            all = fromInputPrompt(lm, Tensors.create(m, input, new Shape(n, lm.hiddenSize()))).toFloatArray();  // [N·L·2·Hkv·K]
        }
        int full = lm.attention().prefixWidth();
        int w = width(lm);
        float[] t = new float[n * w];                                       // the covered layers' columns of each row
        for (int i = 0; i < n; i++) {
            System.arraycopy(all, i * full + (full - w), t, i * w, w);
        }
        return t;
    }

    /**
     * A cache holding the prefix for B rows: table [Np, L·2·Hkv·K] → per layer keys and values
     * [B, Hkv, Np, K], Np positions cached. Differentiable with respect to the table.
     */
    public static KvCache cache(NDManager m, LanguageModel lm, NDArray table, int batch) {
        return cache(m, lm, table, batch, 0);
    }

    /**
     * As {@link #cache(NDManager, LanguageModel, NDArray, int)} for a table of the layers from {@code first}
     * up, [Np, (L − first)·2·Hkv·K]; the layers below hold none of the Np positions ({@link KvCache#bare}).
     */
    static KvCache cache(NDManager m, LanguageModel lm, NDArray table, int batch, int first) {
        LanguageModel.Attention a = lm.attention();
        long np = table.getShape().get(0);
        int layers = a.layers() - first;
        int width = layers * 2 * a.kvHeads() * a.headSize();
        if (table.getShape().dimension() != 2 || table.getShape().get(1) != width) {
            throw new UserException("a deep prompt for this model " + (first == 0 ? "" : "in its top " + layers + " layers ")
                    + "is [Np, " + width + "] (" + layers + "·2·Hkv·K = " + layers + "·2·" + a.kvHeads() + "·" + a.headSize()
                    + "); got " + table.getShape());
        }
        KvCache cache = new KvCache(m);
        // DJL puts an op's result in its first operand's manager, and a trained table lives as long as its run:
        // the first view is moved into the cache's own manager, so every array derived from it here (the
        // batch-expanded keys and values above all) is freed when the cache closes, not when the run ends
        NDArray view = table.reshape(np, layers * 2L, a.kvHeads(), a.headSize());               // [Np, L·2, Hkv, K]
        view.attach(cache.scope());
        NDArray perLayer = view.transpose(1, 2, 0, 3);                                           // [L·2, Hkv, Np, K]
        for (int l = first; l < a.layers(); l++) {
            NDArray k = perLayer.get(new NDIndex(2 * (l - first))).expandDims(0);               // [1, Hkv, Np, K]
            NDArray v = perLayer.get(new NDIndex(2 * (l - first) + 1)).expandDims(0);           // [1, Hkv, Np, K]
            cache.append(l, batch == 1 ? k : k.repeat(0, batch), batch == 1 ? v : v.repeat(0, batch)); // [B, Hkv, Np, K]
        }
        cache.advance((int) np);
        if (first > 0) {
            cache.bareBelow(first);
        }
        return cache;
    }

    /**
     * The table whose prefix is exactly what an input prompt P [N, D] leaves in every layer: P run
     * through the model alone, its keys and values laid out as PEFT's [N, L·2·Hkv·K]. A deep prompt so
     * made scores every input exactly as P does (the deep = input identity), and is how a deep prompt
     * starts from a text: the text's embeddings as P.
     */
    public static NDArray fromInputPrompt(LanguageModel lm, NDArray prompt) {
        if (lm.kind() != LanguageModel.Kind.DECODER) { // under attention both ways a prompt's keys depend on the input
            throw new UserException(lm.modelType() + ": an input prompt leaves input-independent keys and values in "
                    + "decoder LMs only");
        }
        LanguageModel.Attention a = lm.attention();
        NDManager m = prompt.getManager();
        long n = prompt.getShape().get(0);
        try (NDManager scope = m.newSubManager(); KvCache cache = new KvCache(scope)) {
            NDArray p = prompt.expandDims(0);                                                     // [1, N, D]
            p.attach(scope);
            lm.forward(p, scope.ones(new Shape(1, n), DataType.INT64), cache);
            NDList layers = new NDList();
            for (int l = 0; l < a.layers(); l++) {
                NDList kv = cache.layer(l);                                                      // [1, Hkv, N, K] each
                layers.add(kv.get(0).squeeze(0));
                layers.add(kv.get(1).squeeze(0));
            }
            NDArray table = NDArrays.stack(layers, 0)                                            // [L·2, Hkv, N, K]
                    .transpose(2, 0, 1, 3).reshape(n, a.prefixWidth());                          // [N, L·2·Hkv·K]
            table = table.toType(DataType.FLOAT32, false);
            table.attach(m);
            return table;
        }
    }
}
