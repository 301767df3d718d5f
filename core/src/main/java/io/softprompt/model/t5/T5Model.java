package io.softprompt.model.t5;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.model.KvCache;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.model.ModelFolder;
import io.softprompt.model.Span;
import io.softprompt.model.Specials;
import io.softprompt.model.TextTokenizer;
import io.softprompt.model.WeightStore;
import io.softprompt.util.Tensors;
import io.softprompt.util.UserException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * T5 (v1.0 and v1.1), the encoder-decoder of Lester et al.: relative position buckets (bidirectional
 * in the encoder, causal in the decoder), RMS LayerNorm without bias, unscaled attention, ReLU or gated
 * FFN, and a head tied to the embeddings with a d_model^-0.5 rescale (v1.0) or untied (v1.1). The
 * prompt goes in front of the encoder input only.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B batch, S encoder positions (prompt N + tokens T), R decoder
 * steps, D d_model, H heads, K d_kv, I = H·K attention width, F d_ff, V vocabulary, E relative-position
 * buckets, Q new and P cached positions, M selected rows, C selected ids.
 *
 * <p>Hugging Face tensor names: {@code shared.weight} [V, D]; {@code encoder.block.L.layer.0.SelfAttention.
 * {q,k,v,o}} and {@code .relative_attention_bias} (block 0), {@code layer.0.layer_norm},
 * {@code layer.1.DenseReluDense.{wi | wi_0, wi_1, wo}}, {@code layer.1.layer_norm},
 * {@code encoder.final_layer_norm}; decoder blocks add {@code layer.1.EncDecAttention} with the FFN at
 * layer.2; {@code lm_head.weight} when untied.
 */
public final class T5Model implements LanguageModel {
    private record Attn(NDArray q, NDArray k, NDArray v, NDArray o, NDArray norm) {} // [I, D] ×3, [D, I], [D]

    private record Ffn(NDArray wi0, NDArray wi1, NDArray wo, NDArray norm) {}        // [F, D], [F, D] or null, [D, F], [D]

    private record Block(Attn self, Attn cross, Ffn ffn) {}

    private final T5Config c;
    private final Dims dims;
    private final NDArray shared;       // [V, D]
    private final NDArray head;         // [V, D] (tied: shared; else lm_head)
    private final NDArray headT;        // [D, V] view, made once
    private final NDArray encBias;      // [E, H]
    private final NDArray decBias;      // [E, H]
    private final NDArray encNorm;      // [D]
    private final NDArray decNorm;      // [D]
    private final List<Block> encoder;
    private final List<Block> decoder;
    private final Specials specials;
    private final UnaryOperator<NDArray> act;

    private T5Model(T5Config c, NDArray shared, NDArray head, NDArray encBias, NDArray decBias, NDArray encNorm,
            NDArray decNorm, List<Block> encoder, List<Block> decoder, Specials specials) {
        this.c = c;
        this.dims = new Dims("t5", Kind.SEQ2SEQ, c.dModel(), c.vocabSize(), Integer.MAX_VALUE, // relative positions only
                new Attention(c.numLayers(), c.numHeads(), c.dKv()));
        this.shared = shared;
        this.head = head;
        this.headT = head.transpose();
        this.encBias = encBias;
        this.decBias = decBias;
        this.encNorm = encNorm;
        this.decNorm = decNorm;
        this.encoder = encoder;
        this.decoder = decoder;
        this.specials = specials;
        this.act = Layers.activation(c.activation());
    }

    public static T5Model load(ModelFolder folder, NDManager m, TextTokenizer tok) {
        T5Config c = folder.bind(T5Config.class);
        if (Layers.activation(c.activation()) == null) {
            throw new UserException(folder.configFile() + ": feed_forward_proj '" + c.feedForwardProj() + "' is not supported");
        }
        WeightStore w = folder.weights();
        long d = c.dModel();
        long in = c.inner();
        NDArray shared = w.loadFloat32("shared.weight", m, c.vocabSize(), d);
        NDArray head = c.tieWordEmbeddings() ? shared : w.load("lm_head.weight", m, c.vocabSize(), d);
        List<Block> enc = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "encoder.block." + l + ".layer.";
            enc.add(new Block(attn(w, m, p + "0.SelfAttention.", p + "0.layer_norm.weight", d, in), null,
                    ffn(w, m, c, p + "1.")));
        }
        List<Block> dec = new ArrayList<>();
        for (int l = 0; l < c.numDecoderLayers(); l++) {
            String p = "decoder.block." + l + ".layer.";
            dec.add(new Block(attn(w, m, p + "0.SelfAttention.", p + "0.layer_norm.weight", d, in),
                    attn(w, m, p + "1.EncDecAttention.", p + "1.layer_norm.weight", d, in), ffn(w, m, c, p + "2.")));
        }
        long buckets = c.numBuckets();
        NDArray encBias = w.load("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", m, buckets, c.numHeads());
        NDArray decBias = w.load("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", m, buckets, c.numHeads());
        Specials specials = new Specials(new long[0], new long[] {c.eosTokenId()}, -1, null, c.eosTokenId(),
                c.padTokenId(), c.decoderStartTokenId());
        return new T5Model(c, shared, head, encBias, decBias, w.load("encoder.final_layer_norm.weight", m, d),
                w.load("decoder.final_layer_norm.weight", m, d), enc, dec, specials);
    }

    private static Attn attn(WeightStore w, NDManager m, String p, String norm, long d, long in) {
        return new Attn(w.load(p + "q.weight", m, in, d), w.load(p + "k.weight", m, in, d), w.load(p + "v.weight", m, in, d),
                w.load(p + "o.weight", m, d, in), w.load(norm, m, d));
    }

    private static Ffn ffn(WeightStore w, NDManager m, T5Config c, String p) {
        long d = c.dModel();
        long f = c.dFf();
        String r = p + "DenseReluDense.";
        if (c.gated()) {
            return new Ffn(w.load(r + "wi_0.weight", m, f, d), w.load(r + "wi_1.weight", m, f, d),
                    w.load(r + "wo.weight", m, d, f), w.load(p + "layer_norm.weight", m, d));
        }
        return new Ffn(w.load(r + "wi.weight", m, f, d), null, w.load(r + "wo.weight", m, d, f),
                w.load(p + "layer_norm.weight", m, d));
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
        return encNorm.getDataType();
    }

    @Override
    public NDArray embeddings() {
        return shared;
    }

    @Override
    public NDArray embed(NDArray ids) {
        return Layers.matchType(Layers.embedding(ids, shared), encNorm);        // [B, T, D] in the model's precision
    }

    /**
     * transformers' _relative_position_bucket for query positions qStart.. and keys 0..kLen-1, with its
     * float32 arithmetic for the logarithmic buckets.
     */
    static long[] buckets(int qStart, int qLen, int kLen, boolean bidirectional, int numBuckets, int maxDistance) {
        long[] out = new long[qLen * kLen];
        for (int i = 0; i < qLen; i++) {
            for (int j = 0; j < kLen; j++) {
                int rel = j - (qStart + i);
                int nb = numBuckets;
                int ret = 0;
                int n;
                if (bidirectional) {
                    nb /= 2;
                    if (rel > 0) {
                        ret += nb;
                    }
                    n = Math.abs(rel);
                } else {
                    n = -Math.min(rel, 0);
                }
                int maxExact = nb / 2;
                if (n < maxExact) {
                    ret += n;
                } else {
                    float ratio = (float) n / maxExact;
                    float scaled = (float) Math.log(ratio) / (float) Math.log((double) maxDistance / maxExact)
                            * (nb - maxExact);
                    ret += Math.min(maxExact + (int) scaled, nb - 1);
                }
                out[i * kLen + j] = ret;
            }
        }
        return out;
    }

    /** Position bias [1, H, Q, P+Q] from a bucket table [E, H]. */
    private NDArray positionBias(NDManager m, NDArray table, int qStart, int q, int k, boolean bidirectional) {
        long[] b = buckets(qStart, q, k, bidirectional, c.numBuckets(), c.maxDistance());
        NDArray bias = Layers.embedding(Tensors.create(m, b, new Shape(q, k)), table);  // [Q, K, H]
        return bias.transpose(2, 0, 1).expandDims(0);                         // [1, H, Q, K]
    }


    /**
     * The one encoder forward: the tokens embeds [B, S, D] under keyMask [B, P+S], attending both ways.
     * With a cache (a deep prompt's prefix in every layer's self-attention, P-Tuning v2's choice for
     * encoders; the decoder has none) they attend to its P positions too, and the relative position
     * bias places the prefix before the tokens (queries at P.., keys at 0..), as transformers' T5
     * attention lays out past keys. → encoder output [B, S, D] of the tokens only.
     */
    @Override
    public NDArray forward(NDArray embeds, NDArray keyMask, KvCache cache, Span span) {
        if (KvCache.rowStarts(cache) != null) {
            throw new UserException("t5: rows of deep prompts of different lengths cannot share a pass");
        }
        NDManager outer = embeds.getManager();
        int p = KvCache.start(cache);
        int s = (int) embeds.getShape().get(1);
        NDArray bias = positionBias(outer, encBias, p, s, p + s, true).add(Layers.additiveMask(outer, keyMask, false)); // [B, H, S, P+S]
        NDArray bareBias = KvCache.bareMask(cache, bias);                       // [B, H, S, P+S−Pb]
        NDArray x = Layers.matchType(embeds, encNorm);                          // [B, S, D] in the model's precision
        boolean consume = x != embeds;
        for (int l = span.from(); l < span.end(encoder.size()); l++) {
            Block b = encoder.get(l);
            int layer = l;
            NDArray lb = KvCache.bare(cache, l) ? bareBias : bias;
            x = Layers.scoped(x, consume, in -> {
                NDArray h = in.add(selfAttention(b.self(), in, lb, cache, layer)); // [B, S, D]
                return h.add(ffn(b.ffn(), h));                                  // [B, S, D]
            });
            consume = true;
        }
        if (!span.top(encoder.size())) {
            return x;                                                           // [B, S, D]
        }
        if (cache != null) {
            cache.advance(s);
        }
        return Layers.scoped(x, consume, in -> Layers.rmsNorm(in, encNorm, c.layerNormEpsilon().floatValue())); // [B, S, D]
    }

    @Override
    public NDArray decode(NDArray decoderIds, NDArray encoded, NDArray encoderMask, KvCache cache) {
        NDManager outer = decoderIds.getManager();
        int q = (int) decoderIds.getShape().get(1);
        int start = cache == null ? 0 : cache.length();
        NDArray selfBias = positionBias(outer, decBias, start, q, start + q, false)
                .add(Layers.additiveMask(outer, outer.ones(new Shape(1, start + q)), true, start, q)); // [1, H, Q, P+Q]
        NDArray crossMask = Layers.additiveMask(outer, encoderMask, false);                       // [B, 1, 1, S]
        NDArray x = Layers.matchType(Layers.embedding(decoderIds, shared), decNorm);               // [B, Q, D]
        for (int l = 0; l < decoder.size(); l++) {
            Block b = decoder.get(l);
            int layer = l;
            x = Layers.scoped(x, true, in -> {
                NDArray h = in.add(selfAttention(b.self(), in, selfBias, cache, layer));       // [B, Q, D]
                NDArray h2 = h.add(crossAttention(b.cross(), h, encoded, crossMask, cache, layer)); // [B, Q, D]
                return h2.add(ffn(b.ffn(), h2));                                               // [B, Q, D]
            });
        }
        if (cache != null) {
            cache.advance(q);
        }
        return Layers.scoped(x, true, in -> Layers.rmsNorm(in, decNorm, c.layerNormEpsilon().floatValue())); // [B, Q, D]
    }

    /** Decoder self-attention with an optional cache of earlier steps' keys and values. */
    private NDArray selfAttention(Attn a, NDArray x, NDArray bias, KvCache cache, int layer) {
        if (cache == null) {
            return attention(a, x, x, bias);
        }
        int h = c.numHeads();
        NDArray n = Layers.rmsNorm(x, a.norm(), c.layerNormEpsilon().floatValue());  // [B, Q, D]
        NDArray q = Layers.splitHeads(Layers.linear(n, a.q(), null), h);            // [B, H, Q, K]
        var kv = cache.append(layer, Layers.splitHeads(Layers.linear(n, a.k(), null), h),
                Layers.splitHeads(Layers.linear(n, a.v(), null), h));               // [B, H, P+Q, K] ×2
        return Layers.linear(Layers.mergeHeads(Layers.attention(q, kv.get(0), kv.get(1), bias, 1f)), a.o(), null);
    }

    /** Cross-attention over the encoder output; its keys and values are computed once per cache. */
    private NDArray crossAttention(Attn a, NDArray x, NDArray encoded, NDArray mask, KvCache cache, int layer) {
        if (cache == null) {
            return attention(a, x, encoded, mask);
        }
        int h = c.numHeads();
        NDArray n = Layers.rmsNorm(x, a.norm(), c.layerNormEpsilon().floatValue());  // [B, Q, D]
        NDArray q = Layers.splitHeads(Layers.linear(n, a.q(), null), h);            // [B, H, Q, K]
        var kv = cache.cross(layer, () -> new NDList(
                Layers.splitHeads(Layers.linear(encoded, a.k(), null), h),
                Layers.splitHeads(Layers.linear(encoded, a.v(), null), h)));        // [B, H, S, K] ×2
        return Layers.linear(Layers.mergeHeads(Layers.attention(q, kv.get(0), kv.get(1), mask, 1f)), a.o(), null);
    }

    /**
     * Pre-norm attention sublayer (without the residual): queries from x [B, Q, D], keys and values from
     * kv [B, K, D] (self-attention: normed x; cross-attention: the encoder output as is), additive bias.
     */
    private NDArray attention(Attn a, NDArray x, NDArray kv, NDArray bias) {
        float eps = c.layerNormEpsilon().floatValue();
        int h = c.numHeads();
        NDArray n = Layers.rmsNorm(x, a.norm(), eps);                             // [B, Q, D]
        NDArray src = kv == x ? n : kv;                                            // [B, K, D]
        NDArray q = Layers.splitHeads(Layers.linear(n, a.q(), null), h);          // [B, H, Q, K]
        NDArray k = Layers.splitHeads(Layers.linear(src, a.k(), null), h);        // [B, H, K, K]
        NDArray v = Layers.splitHeads(Layers.linear(src, a.v(), null), h);        // [B, H, K, K]
        NDArray o = Layers.mergeHeads(Layers.attention(q, k, v, bias, 1f));      // [B, Q, I] (T5 does not scale)
        return Layers.linear(o, a.o(), null);                                     // [B, Q, D]
    }

    private NDArray ffn(Ffn f, NDArray x) {
        NDArray n = Layers.rmsNorm(x, f.norm(), c.layerNormEpsilon().floatValue()); // [B, S, D]
        NDArray h = act.apply(Layers.linear(n, f.wi0(), null));                      // [B, S, F]
        if (f.wi1() != null) {
            h = h.mul(Layers.linear(n, f.wi1(), null));                              // [B, S, F]
        }
        return Layers.linear(h, f.wo(), null);                                       // [B, S, D]
    }

    /** Tied heads rescale by d_model^-0.5 first (T5 v1.0), as transformers does. */
    private NDArray headInput(NDArray hidden) {
        return c.tieWordEmbeddings() ? hidden.mul(Layers.scalar(hidden, (float) Math.pow(c.dModel(), -0.5))) : hidden;
    }

    @Override
    public NDArray logits(NDArray hidden) {
        return Layers.head(headInput(hidden), headT);                              // [M, V] float32
    }

    @Override
    public NDArray logits(NDArray hidden, NDArray ids) {
        NDArray rows = Layers.embedding(ids, head);                                // [C, D]
        return Layers.head(headInput(hidden), rows.transpose());                   // [M, C] float32
    }
}
