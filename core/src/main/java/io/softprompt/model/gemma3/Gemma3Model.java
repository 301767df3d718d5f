package io.softprompt.model.gemma3;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
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
 * Gemma 3's text model ({@code gemma3_text}, and a {@code gemma3} checkpoint's language model): token
 * rows scaled by √D inside the embedding (a soft prompt's rows, concatenated after it, are not),
 * (1 + w) RMSNorms before and after attention and MLP ("sandwich"), per-head (1 + w) q/k norms before
 * RoPE, scores × query_pre_attn_scalar^-½, gated GELU-tanh MLP, local layers attending within a sliding
 * window of positions (the prompt's or prefix's among them, so it slides out) with their own rotary
 * base, global layers over everything, and final logits soft-capped.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B batch, S positions, D hidden, H query heads, Hkv key/value heads,
 * K head size, F intermediate width, V vocabulary, Q new and P cached positions, M selected rows, C selected ids.
 *
 * <p>Hugging Face tensor names ({@code model.} or, in a multimodal checkpoint, {@code language_model.model.}):
 * {@code embed_tokens.weight} [V, D], per layer {@code layers.L.{input_layernorm, post_attention_layernorm,
 * pre_feedforward_layernorm, post_feedforward_layernorm}.weight} [D], {@code self_attn.{q,k,v,o}_proj.weight},
 * {@code self_attn.{q,k}_norm.weight} [K], {@code mlp.{gate,up,down}_proj.weight}, {@code norm.weight};
 * {@code lm_head.weight} when untied.
 */
public final class Gemma3Model implements LanguageModel {
    private record Block(
            NDArray inNorm, NDArray postAttnNorm, NDArray preFfNorm, NDArray postFfNorm, // [D] each, as 1 + w
            NDArray q, NDArray k, NDArray v,    // [H·K, D], [Hkv·K, D], [Hkv·K, D]
            NDArray o,                          // [D, H·K]
            NDArray qNorm, NDArray kNorm,       // [K] each, as 1 + w
            NDArray gate, NDArray up,           // [F, D]
            NDArray down) {}                    // [D, F]

    private final Gemma3Config c;
    private final Dims dims;
    private final NDArray embed;   // [V, D] float32
    private final NDArray norm;    // [D], as 1 + w
    private final NDArray headT;   // [D, V]
    private final NDArray head;    // [V, D]
    private final List<Block> blocks;
    private final Rotary global;
    private final Rotary local;
    private final Specials specials;
    private final UnaryOperator<NDArray> act;
    private final float embedScale;
    private final boolean anySliding; // the window mask is built (on the host, each forward) only when a layer uses it

    private Gemma3Model(Gemma3Config c, NDArray embed, NDArray norm, NDArray head, List<Block> blocks, Specials specials) {
        this.c = c;
        this.dims = new Dims("gemma3_text", Kind.DECODER, c.hiddenSize(), c.vocabSize(), c.maxPositionEmbeddings(),
                new Attention(c.numHiddenLayers(), c.numKeyValueHeads(), c.headDim()));
        this.embed = embed;
        this.norm = norm;
        this.head = head;
        this.headT = head.transpose();
        this.blocks = blocks;
        this.specials = specials;
        this.global = new Rotary(c.headDim(), c.ropeTheta(), c.ropeScaling());
        this.local = new Rotary(c.headDim(), c.ropeLocalBaseFreq(), null);
        this.act = Layers.activation(c.hiddenActivation());
        this.embedScale = (float) Math.sqrt(c.hiddenSize()); // a float32 constant, as Gemma3TextScaledWordEmbedding's
        this.anySliding = java.util.stream.IntStream.range(0, c.numHiddenLayers()).anyMatch(c::sliding);
    }

    public static Gemma3Model load(ModelFolder folder, NDManager m, TextTokenizer tok) {
        JsonNode text = folder.config().has("text_config") ? folder.config().get("text_config") : folder.config();
        Gemma3Config c;
        try {
            c = io.softprompt.util.Json.MAPPER.treeToValue(text, Gemma3Config.class);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UserException(folder.configFile() + ": " + io.softprompt.util.Json.describe(e));
        }
        if (Layers.activation(c.hiddenActivation()) == null) {
            throw new UserException(folder.configFile() + ": hidden_activation '" + c.hiddenActivation() + "' is not supported");
        }
        if (c.numAttentionHeads() % c.numKeyValueHeads() != 0) {
            throw new UserException(folder.configFile() + ": num_attention_heads " + c.numAttentionHeads()
                    + " is not a multiple of num_key_value_heads " + c.numKeyValueHeads());
        }
        WeightStore w = folder.weights();
        String pre = w.has("model.embed_tokens.weight") ? "model." : "language_model.model.";
        long d = c.hiddenSize();
        long f = c.intermediateSize();
        long qd = (long) c.numAttentionHeads() * c.headDim();
        long kvd = (long) c.numKeyValueHeads() * c.headDim();
        long kd = c.headDim();
        NDArray embed = w.loadFloat32(pre + "embed_tokens.weight", m, c.vocabSize(), d);
        String headName = pre.replace("model.", "") + "lm_head.weight";
        NDArray head = !c.tieWordEmbeddings() && w.has(headName) ? w.load(headName, m, c.vocabSize(), d) : embed;
        List<Block> blocks = new ArrayList<>();
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = pre + "layers." + l + ".";
            blocks.add(new Block(
                    plusOne(w.load(p + "input_layernorm.weight", m, d)), plusOne(w.load(p + "post_attention_layernorm.weight", m, d)),
                    plusOne(w.load(p + "pre_feedforward_layernorm.weight", m, d)),
                    plusOne(w.load(p + "post_feedforward_layernorm.weight", m, d)),
                    w.load(p + "self_attn.q_proj.weight", m, qd, d), w.load(p + "self_attn.k_proj.weight", m, kvd, d),
                    w.load(p + "self_attn.v_proj.weight", m, kvd, d), w.load(p + "self_attn.o_proj.weight", m, d, qd),
                    plusOne(w.load(p + "self_attn.q_norm.weight", m, kd)), plusOne(w.load(p + "self_attn.k_norm.weight", m, kd)),
                    w.load(p + "mlp.gate_proj.weight", m, f, d), w.load(p + "mlp.up_proj.weight", m, f, d),
                    w.load(p + "mlp.down_proj.weight", m, d, f)));
        }
        NDArray norm = plusOne(w.load(pre + "norm.weight", m, d));
        var tokCfg = Specials.tokenizerConfig(folder.path());
        long[] prefix = Specials.decoderPrefix(tok, tokCfg, text, true);
        long eos = text.path("eos_token_id").isArray() ? text.path("eos_token_id").path(0).asLong(-1)
                : text.path("eos_token_id").asLong(-1);
        long pad = text.path("pad_token_id").asLong(Math.max(eos, 0));
        return new Gemma3Model(c, embed, norm, head, blocks, Specials.decoder(prefix, eos, pad).withEnds(folder.path(), text));
    }

    /** Gemma's norms multiply by (1 + w): the sum is made once, at load. */
    private static NDArray plusOne(NDArray w) {
        NDArray one = w.add(Layers.scalar(w, 1f));
        w.close();
        return one;
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

    /** Token rows × √D (inside the embedding, as transformers does: a prompt's rows are not scaled). */
    @Override
    public NDArray embed(NDArray ids) {
        NDArray rows = Layers.embedding(ids, embed);                                         // [B, T, D] float32
        return Layers.matchType(rows.mul(Layers.scalar(rows, embedScale)), norm);           // [B, T, D]
    }


    @Override
    public NDArray forward(NDArray embeds, NDArray keyMask, KvCache cache, Span span) {
        NDManager outer = embeds.getManager();
        int q = (int) embeds.getShape().get(1);
        int start = cache == null ? 0 : cache.length();
        int[] starts = cache == null ? null : cache.rowStarts();
        NDArray full = Layers.additiveMask(outer, keyMask, true, start, q);                                   // [B, 1, Q, P+Q]
        NDArray window = !anySliding ? null : Layers.windowMask(outer, keyMask, start, q, c.slidingWindow(), starts,
                cache == null ? null : cache.keyPositions((int) keyMask.getShape().get(1)));                    // [B, 1, Q, P+Q]
        NDArray bareFull = KvCache.bareMask(cache, full);                                                      // [B, 1, Q, P+Q−Pb]
        NDArray bareWindow = window == null ? null : KvCache.bareMask(cache, window);                           // [B, 1, Q, P+Q−Pb]
        NDList g = starts != null ? global.tables(outer, starts, q) : global.tables(outer, start, q);          // cos, sin
        NDList lc = starts != null ? local.tables(outer, starts, q) : local.tables(outer, start, q);           // cos, sin
        NDArray x = Layers.matchType(embeds, norm);                                                            // [B, Q, D]
        boolean consume = x != embeds;
        for (int l = span.from(); l < span.end(blocks.size()); l++) {
            int layer = l;
            boolean sliding = c.sliding(l);
            NDList rope = sliding ? lc : g;
            boolean bare = KvCache.bare(cache, l);
            NDArray mask = sliding ? (bare ? bareWindow : window) : (bare ? bareFull : full);
            x = Layers.scoped(x, consume, in -> block(blocks.get(layer), in, mask, rope.get(0), rope.get(1), cache, layer));
            consume = true;
        }
        if (!span.top(blocks.size())) {
            return x;                                                                                           // [B, Q, D]
        }
        if (cache != null) {
            cache.advance(q);
        }
        return Layers.scoped(x, consume, in -> Layers.rmsNorm(in, norm, c.rmsNormEps().floatValue()));         // [B, Q, D]
    }

    private NDArray block(Block b, NDArray x, NDArray mask, NDArray cos, NDArray sin, KvCache cache, int layer) {
        float eps = c.rmsNormEps().floatValue();
        int h = c.numAttentionHeads();
        int g = c.numKeyValueHeads();
        NDArray n = Layers.rmsNorm(x, b.inNorm(), eps);                                       // [B, Q, D]
        NDArray q = Layers.rmsNorm(Layers.splitHeads(Layers.linear(n, b.q(), null), h), b.qNorm(), eps); // [B, H, Q, K]
        NDArray k = Layers.rmsNorm(Layers.splitHeads(Layers.linear(n, b.k(), null), g), b.kNorm(), eps); // [B, Hkv, Q, K]
        NDArray v = Layers.splitHeads(Layers.linear(n, b.v(), null), g);                     // [B, Hkv, Q, K]
        q = Rotary.apply(q, cos, sin);                                                         // [B, H, Q, K]
        k = Rotary.apply(k, cos, sin);                                                         // [B, Hkv, Q, K]
        if (cache != null) { // a deep prompt's prefix sits here as stored: no k-norm, no rotation
            var kv = cache.append(layer, k, v);
            k = kv.get(0);                                                                     // [B, Hkv, P+Q, K]
            v = kv.get(1);                                                                     // [B, Hkv, P+Q, K]
        }
        k = Layers.repeatKv(k, h / g);                                                         // [B, H, P+Q, K]
        v = Layers.repeatKv(v, h / g);                                                         // [B, H, P+Q, K]
        float scale = (float) (1.0 / Math.sqrt(c.queryPreAttnScalar()));
        NDArray a = Layers.mergeHeads(Layers.attention(q, k, v, mask, scale));                 // [B, Q, H·K]
        NDArray x1 = x.add(Layers.rmsNorm(Layers.linear(a, b.o(), null), b.postAttnNorm(), eps)); // [B, Q, D]
        NDArray n2 = Layers.rmsNorm(x1, b.preFfNorm(), eps);                                   // [B, Q, D]
        NDArray gated = act.apply(Layers.linear(n2, b.gate(), null)).mul(Layers.linear(n2, b.up(), null)); // [B, Q, F]
        return x1.add(Layers.rmsNorm(Layers.linear(gated, b.down(), null), b.postFfNorm(), eps)); // [B, Q, D]
    }

    @Override
    public NDArray logits(NDArray hidden) {
        return softcap(Layers.head(hidden, headT));                                            // [M, V] float32
    }

    @Override
    public NDArray logits(NDArray hidden, NDArray ids) {
        NDArray rows = Layers.embedding(ids, head);                                            // [C, D]
        NDArray l = hidden.getDataType() == rows.getDataType() ? Layers.upcast(Layers.linear(hidden, rows, null))
                : Layers.linear(Layers.upcast(hidden), rows, null);                            // [M, C] float32
        return softcap(l);
    }

    /** c · tanh(logits / c) when final_logit_softcapping is set, else the logits. */
    private NDArray softcap(NDArray logits) {
        Double cap = c.finalLogitSoftcapping();
        if (cap == null) {
            return logits;
        }
        return logits.div(Layers.scalar(logits, cap.floatValue())).tanh().mul(Layers.scalar(logits, cap.floatValue())); // not in place: autograd
    }
}
