package io.softprompt.model.modernbert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.model.KvCache;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.model.ModelFolder;
import io.softprompt.model.Rotary;
import io.softprompt.model.Span;
import io.softprompt.model.Specials;
import io.softprompt.model.TextTokenizer;
import io.softprompt.model.WeightStore;
import io.softprompt.util.UserException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * ModernBERT as a masked LM: the embedding LayerNorm over every input row (a soft prompt's rows
 * included, as transformers normalises inputs_embeds), pre-norm layers (layer 0 without an attention
 * norm) with a fused Wqkv, RoPE over positions 0.. (global layers with global_rope_theta, local ones with
 * local_rope_theta and a bidirectional window of local_attention / 2 positions either side), GeGLU MLP,
 * a final norm, and the MLM head (dense, GELU, norm, the tied decoder with its bias). No biases.
 *
 * <p>A deep prompt (no reference defines one, docs/FORMAT.md): as BERT's, a prefix of keys and values in
 * every layer, used as stored (no rotation), visible to every token in every layer, local ones included;
 * the input's positions start after it.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B batch, S positions, D hidden, H heads, K head size, F intermediate
 * width, V vocabulary, Q new and P cached positions, M selected rows, C selected ids.
 *
 * <p>Hugging Face tensor names: {@code model.embeddings.{tok_embeddings, norm}.weight}, per layer
 * {@code model.layers.L.{attn_norm (not in layer 0), attn.Wqkv, attn.Wo, mlp_norm, mlp.Wi, mlp.Wo}.weight},
 * {@code model.final_norm.weight}, {@code head.{dense, norm}.weight}, {@code decoder.bias}.
 */
public final class ModernBertModel implements LanguageModel {
    private record Block(
            NDArray attnNorm,                   // [D], or null (layer 0)
            NDArray q, NDArray k, NDArray v,    // [D, D] each (Wqkv split)
            NDArray o,                          // [D, D]
            NDArray mlpNorm,                    // [D]
            NDArray in, NDArray gate,           // [F, D] each (Wi split)
            NDArray out) {}                     // [D, F]

    private final ModernBertConfig c;
    private final Dims dims;
    private final NDArray words;    // [V, D] float32
    private final NDArray wordsT;   // [D, V]
    private final NDArray embNorm;  // [D]
    private final NDArray zeros;    // [D]: the LayerNorms' absent bias
    private final List<Block> blocks;
    private final NDArray finalNorm, headW, headNorm; // [D], [D, D], [D]
    private final NDArray decoderBias;                // [V]
    private final NDArray decoderBiasCol;             // [V, 1]
    private final Rotary global;
    private final Rotary local;
    private final Specials specials;
    private final UnaryOperator<NDArray> act;

    private ModernBertModel(ModernBertConfig c, NDArray words, NDArray embNorm, List<Block> blocks, NDArray finalNorm,
            NDArray headW, NDArray headNorm, NDArray decoderBias, Specials specials) {
        this.c = c;
        int k = c.hiddenSize() / c.numAttentionHeads();
        this.dims = new Dims("modernbert", Kind.MASKED, c.hiddenSize(), c.vocabSize(), c.maxPositionEmbeddings(),
                new Attention(c.numHiddenLayers(), c.numAttentionHeads(), k));
        this.words = words;
        this.wordsT = words.transpose();
        this.embNorm = embNorm;
        this.zeros = embNorm.zerosLike();
        this.blocks = blocks;
        this.finalNorm = finalNorm;
        this.headW = headW;
        this.headNorm = headNorm;
        this.decoderBias = decoderBias;
        this.decoderBiasCol = decoderBias.reshape(-1, 1);
        this.global = new Rotary(k, c.globalRopeTheta(), null);
        this.local = new Rotary(k, c.localRopeTheta(), null);
        this.specials = specials;
        this.act = Layers.activation(c.hiddenActivation());
    }

    public static ModernBertModel load(ModelFolder folder, NDManager m, TextTokenizer tok) {
        ModernBertConfig c = folder.bind(ModernBertConfig.class);
        if (Layers.activation(c.hiddenActivation()) == null) {
            throw new UserException(folder.configFile() + ": hidden_activation '" + c.hiddenActivation() + "' is not supported");
        }
        if (c.hiddenSize() % c.numAttentionHeads() != 0 || c.normBias() || c.attentionBias() || c.mlpBias()) {
            throw new UserException(folder.configFile() + ": hidden_size must be a multiple of num_attention_heads, and "
                    + "norm_bias, attention_bias and mlp_bias false (as every published ModernBERT)");
        }
        WeightStore w = folder.weights();
        long d = c.hiddenSize();
        long f = c.intermediateSize();
        NDArray words = w.loadFloat32("model.embeddings.tok_embeddings.weight", m, c.vocabSize(), d);
        List<Block> blocks = new ArrayList<>();
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = "model.layers." + l + ".";
            NDArray qkv = w.load(p + "attn.Wqkv.weight", m, 3 * d, d);
            NDArray wi = w.load(p + "mlp.Wi.weight", m, 2 * f, d);
            blocks.add(new Block(w.has(p + "attn_norm.weight") ? w.load(p + "attn_norm.weight", m, d) : null,
                    part(qkv, 0, d), part(qkv, d, d), part(qkv, 2 * d, d), w.load(p + "attn.Wo.weight", m, d, d),
                    w.load(p + "mlp_norm.weight", m, d), part(wi, 0, f), part(wi, f, f), w.load(p + "mlp.Wo.weight", m, d, f)));
            qkv.close();
            wi.close();
        }
        NDArray bias = c.decoderBias() ? w.load("decoder.bias", m, c.vocabSize()) : m.zeros(new Shape(c.vocabSize()));
        Specials specials = Specials.masked(folder, tok, new String[] {"[CLS]", "[SEP]", "[MASK]"}, c.padTokenId());
        return new ModernBertModel(c, words, w.load("model.embeddings.norm.weight", m, d), blocks,
                w.load("model.final_norm.weight", m, d), w.load("head.dense.weight", m, d, d), w.load("head.norm.weight", m, d),
                bias, specials);
    }

    /** Rows [from, from + n) of a fused weight, as a weight of its own. */
    private static NDArray part(NDArray fused, long from, long n) {
        // the view closed at once: left in the manager it kept the whole fused weight alive beside its copies
        try (NDArray view = fused.get(new NDIndex(from + ":" + (from + n)))) {
            return view.duplicate();
        }
    }

    @Override
    public Dims dims() {
        return dims;
    }

    @Override
    public Specials specials() {
        return specials;
    }

    @Override
    public DataType dtype() {
        return embNorm.getDataType();
    }

    @Override
    public NDArray embeddings() {
        return words;
    }

    /** Token rows as they are: the embedding LayerNorm is the forward's first step, over a prompt's rows too. */
    @Override
    public NDArray embed(NDArray ids) {
        return Layers.matchType(Layers.embedding(ids, words), embNorm);                   // [B, T, D]
    }


    @Override
    public NDArray forward(NDArray embeds, NDArray keyMask, KvCache cache, Span span) {
        NDManager outer = embeds.getManager();
        int q = (int) embeds.getShape().get(1);
        if (KvCache.end(cache, q) > maxPositions()) {
            throw new UserException("sequence of " + KvCache.end(cache, q) + " positions (prompt + tokens) exceeds the model's "
                    + maxPositions() + "; lower {{max_length}} or {{tokens}}");
        }
        int start = KvCache.start(cache);
        int[] starts = KvCache.rowStarts(cache);
        float eps = c.normEps().floatValue();
        NDArray all = Layers.additiveMask(outer, keyMask, false);                                      // [B, 1, 1, P+Q]
        NDArray window = c.numHiddenLayers() > 1 && c.globalAttnEveryNLayers() > 1
                ? localMask(outer, keyMask, start, q, starts) : null;                                    // [B, 1, Q, P+Q]: local layers only
        NDArray bareAll = KvCache.bareMask(cache, all);                                                // [B, 1, 1, P+Q−Pb]
        NDArray bareWindow = window == null ? null : KvCache.bareMask(cache, window);                   // [B, 1, Q, P+Q−Pb]
        NDList g = starts != null ? global.tables(outer, starts, q) : global.tables(outer, start, q);  // cos, sin
        NDList lc = starts != null ? local.tables(outer, starts, q) : local.tables(outer, start, q);   // cos, sin
        NDArray x = !span.bottom() ? embeds                                                                // [B, Q, D] entering span.from()
                : Layers.scoped(embeds, false, e -> Layers.layerNorm(Layers.matchType(e, embNorm), embNorm, zeros, eps)); // [B, Q, D]
        for (int l = span.from(); l < span.end(blocks.size()); l++) {
            int layer = l;
            boolean isGlobal = c.global(l);
            NDList rope = isGlobal ? g : lc;
            boolean bare = KvCache.bare(cache, l);
            NDArray mask = isGlobal ? (bare ? bareAll : all) : (bare ? bareWindow : window);
            x = Layers.scoped(x, x != embeds, in -> block(blocks.get(layer), in, mask, rope.get(0), rope.get(1), eps, cache, layer));
        }
        if (!span.top(blocks.size())) {
            return x;                                                                                    // [B, Q, D]
        }
        if (cache != null) {
            cache.advance(q);
        }
        return Layers.scoped(x, x != embeds, in -> Layers.layerNorm(in, finalNorm, zeros, eps));            // [B, Q, D]
    }

    /**
     * The local layers' mask [B, 1, Q, P+Q]: a token sees the real keys within local_attention / 2
     * positions either side, and every key of a deep prompt's prefix (the first P keys).
     */
    private NDArray localMask(NDManager m, NDArray keyMask, int start, int q, int[] starts) {
        int b = (int) keyMask.getShape().get(0);
        int k = (int) keyMask.getShape().get(1);
        int half = c.localAttention() / 2;
        float[] allowed = new float[b * q * k];
        for (int r = 0; r < b; r++) {
            int first = starts == null ? start : starts[r]; // the row's first token's position
            for (int i = 0; i < q; i++) {
                for (int j = 0; j < k; j++) {
                    boolean near = j < start || Math.abs((first + (j - start)) - (first + i)) <= half;
                    allowed[(r * q + i) * k + j] = near ? 1f : 0f;
                }
            }
        }
        return Layers.additive(m, keyMask, allowed, q);                                             // [B,1,Q,K]
    }

    private NDArray block(Block b, NDArray x, NDArray mask, NDArray cos, NDArray sin, float eps, KvCache cache, int layer) {
        int h = c.numAttentionHeads();
        NDArray n = b.attnNorm() == null ? x : Layers.layerNorm(x, b.attnNorm(), zeros, eps);       // [B, Q, D]
        NDArray q = Rotary.apply(Layers.splitHeads(Layers.linear(n, b.q(), null), h), cos, sin);   // [B, H, Q, K]
        NDArray k = Rotary.apply(Layers.splitHeads(Layers.linear(n, b.k(), null), h), cos, sin);   // [B, H, Q, K]
        NDArray v = Layers.splitHeads(Layers.linear(n, b.v(), null), h);                           // [B, H, Q, K]
        if (cache != null) { // a deep prompt's prefix, as stored
            NDList kv = cache.append(layer, k, v);
            k = kv.get(0);                                                                          // [B, H, P+Q, K]
            v = kv.get(1);                                                                          // [B, H, P+Q, K]
        }
        float scale = (float) (1.0 / Math.sqrt((double) c.hiddenSize() / h));
        NDArray a = Layers.mergeHeads(Layers.attention(q, k, v, mask, scale));                     // [B, Q, D]
        NDArray x1 = x.add(Layers.linear(a, b.o(), null));                                         // [B, Q, D]
        NDArray n2 = Layers.layerNorm(x1, b.mlpNorm(), zeros, eps);                                 // [B, Q, D]
        NDArray gated = act.apply(Layers.linear(n2, b.in(), null)).mul(Layers.linear(n2, b.gate(), null)); // [B, Q, F]
        return x1.add(Layers.linear(gated, b.out(), null));                                         // [B, Q, D]
    }

    /** The MLM head's transform: dense, GELU, norm. hidden [M, D] → [M, D]. */
    private NDArray transform(NDArray hidden) {
        return Layers.layerNorm(act.apply(Layers.linear(hidden, headW, null)), headNorm, zeros, c.normEps().floatValue());
    }

    @Override
    public NDArray logits(NDArray hidden) {
        return Layers.head(transform(hidden), wordsT).add(decoderBias);                            // [M, V] float32
    }

    @Override
    public NDArray logits(NDArray hidden, NDArray ids) {
        NDArray rows = Layers.embedding(ids, words);                                                // [C, D]
        NDArray bias = Layers.embedding(ids, decoderBiasCol).reshape(-1);                           // [C]
        return Layers.head(transform(hidden), rows.transpose()).add(bias);                          // [M, C] float32
    }
}
