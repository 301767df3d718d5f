package io.softprompt.model.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
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
 * The Llama family (llama, mistral, qwen2, qwen3, any LlamaForCausalLM): RMSNorm, rotary positions, SwiGLU
 * MLP, grouped-query attention, tied or untied LM head; Qwen3 adds per-head RMSNorms of q and k before
 * rotation, and its head size comes from config.json's head_dim (not hidden/heads); Phi-3 fuses q/k/v and
 * gate/up into one weight each (split at load) and rotates only the first partial_rotary_factor·K dims.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B batch, S positions (prompt N + tokens T), D hidden, H query heads,
 * Hkv key/value heads, K head size, F intermediate width, V vocabulary, Q new and P cached positions,
 * M selected rows, C selected ids.
 *
 * <p>Hugging Face tensor names: {@code model.embed_tokens.weight} [V, D], per layer
 * {@code model.layers.L.{input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_layernorm,
 * mlp.{gate,up,down}_proj}} (Qwen3: {@code self_attn.{q,k}_norm} [K]; Phi-3: {@code self_attn.qkv_proj}
 * [H·K + 2·Hkv·K, D], {@code mlp.gate_up_proj} [2·F, D]), {@code model.norm.weight},
 * {@code lm_head.weight} (absent when tied).
 */
public final class LlamaModel implements LanguageModel {
    private record Block(
            NDArray inNorm,                     // [D]
            NDArray q, NDArray qb,              // [H·K, D], [H·K] or null
            NDArray k, NDArray kb,              // [Hkv·K, D], [Hkv·K] or null
            NDArray v, NDArray vb,              // [Hkv·K, D], [Hkv·K] or null
            NDArray o,                          // [D, H·K]
            NDArray postNorm,                   // [D]
            NDArray gate, NDArray up,           // [F, D]
            NDArray down,                       // [D, F]
            NDArray gateB, NDArray upB, NDArray downB,
            NDArray qNorm, NDArray kNorm) {}    // [K] each, Qwen3's per-head RMSNorms of q and k (before RoPE), or null

    private final LlamaConfig c;
    private final Dims dims;
    private final NDArray embed;   // [V, D]
    private final NDArray norm;    // [D]
    private final NDArray head;    // [V, D]
    private final NDArray headT;   // [D, V] view made once (no per-call transpose in the model's manager)
    private final List<Block> blocks;
    private final Rotary rotary;
    private final Specials specials;
    private final UnaryOperator<NDArray> act;

    private LlamaModel(LlamaConfig c, NDArray embed, NDArray norm, NDArray head, List<Block> blocks, Specials specials) {
        this.c = c;
        this.dims = new Dims(c.modelType() == null ? "llama" : c.modelType(), Kind.DECODER, c.hiddenSize(), c.vocabSize(),
                c.maxPositionEmbeddings(), new Attention(c.numHiddenLayers(), c.numKeyValueHeads(), c.headDim()));
        this.embed = embed;
        this.norm = norm;
        this.head = head;
        this.headT = head.transpose();
        this.blocks = blocks;
        this.specials = specials;
        this.rotary = new Rotary(c.rotaryDim(), c.ropeTheta(), c.ropeScaling(), c.maxPositionEmbeddings(),
                c.originalMaxPositionEmbeddings());
        this.act = Layers.activation(c.hiddenAct());
    }

    /** The family members with per-head q/k norms. */
    private static final java.util.Set<String> QK_NORM = java.util.Set.of("qwen3");
    /** The members whose tokenizers add no BOS unless tokenizer_config.json says so. */
    private static final java.util.Set<String> NO_BOS = java.util.Set.of("qwen2", "qwen3");

    public static LlamaModel load(ModelFolder folder, NDManager m, TextTokenizer tok) {
        LlamaConfig c = folder.bind(LlamaConfig.class);
        if (Layers.activation(c.hiddenAct()) == null) {
            throw new UserException(folder.configFile() + ": hidden_act '" + c.hiddenAct() + "' is not supported");
        }
        if (c.numAttentionHeads() % c.numKeyValueHeads() != 0) {
            throw new UserException(folder.configFile() + ": num_attention_heads " + c.numAttentionHeads()
                    + " is not a multiple of num_key_value_heads " + c.numKeyValueHeads());
        }
        WeightStore w = folder.weights();
        long d = c.hiddenSize();
        long f = c.intermediateSize();
        long qd = (long) c.numAttentionHeads() * c.headDim();
        long kvd = (long) c.numKeyValueHeads() * c.headDim();
        NDArray embed = w.loadFloat32("model.embed_tokens.weight", m, c.vocabSize(), d);
        NDArray head = !c.tieWordEmbeddings() && w.has("lm_head.weight") ? w.load("lm_head.weight", m, c.vocabSize(), d) : embed;
        if (!c.tieWordEmbeddings() && !w.has("lm_head.weight")) {
            throw new UserException(folder.path() + ": missing tensor 'lm_head.weight' (config says tie_word_embeddings false)");
        }
        List<Block> blocks = new ArrayList<>();
        boolean ab = c.attentionBias();
        boolean mb = c.mlpBias();
        boolean qk = QK_NORM.contains(c.modelType()); // Qwen3: q/k RMSNorms over head_dim, one weight shared by all heads
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = "model.layers." + l + ".";
            NDArray[] qkv = w.has(p + "self_attn.qkv_proj.weight") // Phi-3's fused projections, split into the block's
                    ? rows(w.load(p + "self_attn.qkv_proj.weight", m, qd + 2 * kvd, d), qd, kvd, kvd)
                    : new NDArray[] {w.load(p + "self_attn.q_proj.weight", m, qd, d), w.load(p + "self_attn.k_proj.weight", m, kvd, d),
                        w.load(p + "self_attn.v_proj.weight", m, kvd, d)};
            NDArray[] gateUp = w.has(p + "mlp.gate_up_proj.weight")
                    ? rows(w.load(p + "mlp.gate_up_proj.weight", m, 2 * f, d), f, f)
                    : new NDArray[] {w.load(p + "mlp.gate_proj.weight", m, f, d), w.load(p + "mlp.up_proj.weight", m, f, d)};
            blocks.add(new Block(
                    w.load(p + "input_layernorm.weight", m, d),
                    qkv[0], ab ? w.load(p + "self_attn.q_proj.bias", m, qd) : null,
                    qkv[1], ab ? w.load(p + "self_attn.k_proj.bias", m, kvd) : null,
                    qkv[2], ab ? w.load(p + "self_attn.v_proj.bias", m, kvd) : null,
                    w.load(p + "self_attn.o_proj.weight", m, d, qd),
                    w.load(p + "post_attention_layernorm.weight", m, d),
                    gateUp[0], gateUp[1],
                    w.load(p + "mlp.down_proj.weight", m, d, f),
                    mb ? w.load(p + "mlp.gate_proj.bias", m, f) : null, mb ? w.load(p + "mlp.up_proj.bias", m, f) : null,
                    mb ? w.load(p + "mlp.down_proj.bias", m, d) : null,
                    qk ? w.load(p + "self_attn.q_norm.weight", m, c.headDim()) : null,
                    qk ? w.load(p + "self_attn.k_norm.weight", m, c.headDim()) : null));
        }
        NDArray norm = w.load("model.norm.weight", m, d);
        var tokCfg = Specials.tokenizerConfig(folder.path());
        long[] prefix = Specials.decoderPrefix(tok, tokCfg, folder.config(), !NO_BOS.contains(c.modelType()));
        long eos = folder.config().path("eos_token_id").asLong(-1);
        long pad = folder.config().path("pad_token_id").asLong(Math.max(eos, 0));
        return new LlamaModel(c, embed, norm, head, blocks, Specials.decoder(prefix, eos, pad).withEnds(folder.path(), folder.config()));
    }

    /** A fused weight [Σ rows, D] as its parts, each [rows_i, D], in order (contiguous copies in the weight's manager). */
    private static NDArray[] rows(NDArray fused, long... sizes) {
        NDArray[] out = new NDArray[sizes.length];
        long at = 0;
        for (int i = 0; i < sizes.length; i++) {
            // the view closed at once: left in the manager it kept the whole fused weight alive beside its copies
            try (NDArray view = fused.get(new ai.djl.ndarray.index.NDIndex(at + ":" + (at + sizes[i])))) {
                out[i] = view.duplicate();                                                   // [rows_i, D]
            }
            at += sizes[i];
        }
        fused.close();
        return out;
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
        return norm.getDataType();
    }

    @Override
    public NDArray embeddings() {
        return embed;
    }

    @Override
    public NDArray embed(NDArray ids) {
        return Layers.matchType(Layers.embedding(ids, embed), norm);           // [B, T, D] in the model's precision
    }


    @Override
    public NDArray forward(NDArray embeds, NDArray keyMask, KvCache cache, Span span) {
        NDManager outer = embeds.getManager();
        int q = (int) embeds.getShape().get(1);
        int start = cache == null ? 0 : cache.length();
        NDArray attnMask = Layers.additiveMask(outer, keyMask, true, start, q);  // [B, 1, Q, P+Q]
        NDArray bareMask = KvCache.bareMask(cache, attnMask);                    // [B, 1, Q, P+Q−Pb]
        NDList rope = cache != null && cache.rowStarts() != null
                ? rotary.tables(outer, cache.rowStarts(), q)                      // cos, sin [B, 1, Q, K]: rows start apart
                : rotary.tables(outer, start, q);                                 // cos, sin [Q, K]
        NDArray x = Layers.matchType(embeds, norm);                              // [B, Q, D] in the model's precision
        boolean consume = x != embeds;
        for (int l = span.from(); l < span.end(blocks.size()); l++) {
            int layer = l;
            NDArray mask = KvCache.bare(cache, l) ? bareMask : attnMask;
            x = Layers.scoped(x, consume, in -> block(blocks.get(layer), in, mask, rope.get(0), rope.get(1), cache, layer));
            consume = true;
        }
        if (!span.top(blocks.size())) {
            return x;                                                             // [B, Q, D] leaving layer span.to() − 1
        }
        if (cache != null) {
            cache.advance(q);
        }
        return Layers.scoped(x, consume, in -> Layers.rmsNorm(in, norm, c.rmsNormEps().floatValue())); // [B, Q, D]
    }

    private NDArray block(Block b, NDArray x, NDArray mask, NDArray cos, NDArray sin, KvCache cache, int layer) {
        float eps = c.rmsNormEps().floatValue();
        int h = c.numAttentionHeads();
        int g = c.numKeyValueHeads();
        NDArray n = Layers.rmsNorm(x, b.inNorm(), eps);                       // [B, Q, D]
        NDArray q = Layers.splitHeads(Layers.linear(n, b.q(), b.qb()), h);   // [B, H, Q, K]
        NDArray k = Layers.splitHeads(Layers.linear(n, b.k(), b.kb()), g);   // [B, Hkv, Q, K]
        if (b.qNorm() != null) { // Qwen3: each head normalised over K before rotation (a prefix's cached keys are not)
            q = Layers.rmsNorm(q, b.qNorm(), eps);                            // [B, H, Q, K]
            k = Layers.rmsNorm(k, b.kNorm(), eps);                            // [B, Hkv, Q, K]
        }
        q = Rotary.applyPartial(q, cos, sin, c.rotaryDim());                 // [B, H, Q, K]
        k = Rotary.applyPartial(k, cos, sin, c.rotaryDim());                 // [B, Hkv, Q, K]
        NDArray v = Layers.splitHeads(Layers.linear(n, b.v(), b.vb()), g);   // [B, Hkv, Q, K]
        if (cache != null) {
            var kv = cache.append(layer, k, v);
            k = kv.get(0);                                                    // [B, Hkv, P+Q, K]
            v = kv.get(1);                                                    // [B, Hkv, P+Q, K]
        }
        k = Layers.repeatKv(k, h / g);                                        // [B, H, P+Q, K]
        v = Layers.repeatKv(v, h / g);                                        // [B, H, P+Q, K]
        float scale = (float) (1.0 / Math.sqrt(c.headDim()));
        NDArray a = Layers.mergeHeads(Layers.attention(q, k, v, mask, scale)); // [B, Q, H·K]
        NDArray x1 = x.add(Layers.linear(a, b.o(), null));                   // [B, Q, D]
        NDArray n2 = Layers.rmsNorm(x1, b.postNorm(), eps);                   // [B, Q, D]
        NDArray gated = act.apply(Layers.linear(n2, b.gate(), b.gateB())).mul(Layers.linear(n2, b.up(), b.upB())); // [B, Q, F]
        return x1.add(Layers.linear(gated, b.down(), b.downB()));             // [B, Q, D]
    }

    @Override
    public NDArray logits(NDArray hidden) {
        return Layers.head(hidden, headT);                                     // [M, V] float32
    }

    @Override
    public NDArray logits(NDArray hidden, NDArray ids) {
        NDArray rows = Layers.embedding(ids, head);                            // [C, D]
        return hidden.getDataType() == rows.getDataType() ? Layers.upcast(Layers.linear(hidden, rows, null))
                : Layers.linear(Layers.upcast(hidden), rows, null);            // [M, C] float32
    }
}
