package io.softprompt.model.bert;

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
 * BERT and RoBERTa with their masked-LM head: absolute positions plus token type 0, post-LayerNorm
 * blocks, bidirectional attention; the label word is read at the mask token.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B batch, S positions (prompt N + tokens T), D hidden, H heads, K head size,
 * F intermediate width, V vocabulary, M selected rows, C selected ids.
 *
 * <p>Hugging Face tensor names, with prefix {@code bert.} or {@code roberta.}:
 * {@code embeddings.{word,position,token_type}_embeddings}, {@code embeddings.LayerNorm},
 * {@code encoder.layer.L.attention.self.{query,key,value}}, {@code attention.output.{dense,LayerNorm}},
 * {@code intermediate.dense}, {@code output.{dense,LayerNorm}}; head {@code cls.predictions.{transform.dense,
 * transform.LayerNorm,bias}} (BERT) or {@code lm_head.{dense,layer_norm,bias}} (RoBERTa), decoder tied to
 * the word embeddings. RoBERTa numbers positions from padding_idx + 1.
 */
public final class BertModel implements LanguageModel {
    private record Block(
            NDArray q, NDArray qb, NDArray k, NDArray kb, NDArray v, NDArray vb, // [D, D], [D]
            NDArray ao, NDArray aob, NDArray aLnW, NDArray aLnB,                // [D, D], [D]
            NDArray in, NDArray inb,                                            // [F, D], [F]
            NDArray out, NDArray outb, NDArray oLnW, NDArray oLnB) {}          // [D, F], [D]

    private final BertConfig c;
    private final Dims dims;
    private final NDArray words;      // [V, D]
    private final NDArray wordsT;     // [D, V] view
    private final NDArray positions;  // [P, D]
    private final NDArray type0;      // [D] token type 0
    private final NDArray embLnW;
    private final NDArray embLnB;
    private final List<Block> blocks;
    private final NDArray headW;      // [D, D]
    private final NDArray headB;      // [D]
    private final NDArray headLnW;
    private final NDArray headLnB;
    private final NDArray headBias;   // [V]
    private final NDArray headBiasCol; // [V, 1] view, made once
    private final Specials specials;
    private final UnaryOperator<NDArray> act;

    private BertModel(BertConfig c, NDArray words, NDArray positions, NDArray type0, NDArray embLnW, NDArray embLnB,
            List<Block> blocks, NDArray headW, NDArray headB, NDArray headLnW, NDArray headLnB, NDArray headBias,
            Specials specials) {
        this.c = c;
        this.dims = new Dims(c.modelType() == null ? "bert" : c.modelType(), Kind.MASKED, c.hiddenSize(), c.vocabSize(),
                c.maxPositionEmbeddings() - c.positionOffset(),
                new Attention(c.numHiddenLayers(), c.numAttentionHeads(), c.hiddenSize() / c.numAttentionHeads()));
        this.words = words;
        this.wordsT = words.transpose();
        this.positions = positions;
        this.type0 = type0;
        this.embLnW = embLnW;
        this.embLnB = embLnB;
        this.blocks = blocks;
        this.headW = headW;
        this.headB = headB;
        this.headLnW = headLnW;
        this.headLnB = headLnB;
        this.headBias = headBias;
        this.headBiasCol = headBias.reshape(-1, 1);
        this.specials = specials;
        this.act = Layers.activation(c.hiddenAct());
    }

    public static BertModel load(ModelFolder folder, NDManager m, TextTokenizer tok) {
        BertConfig c = folder.bind(BertConfig.class);
        if (Layers.activation(c.hiddenAct()) == null) {
            throw new UserException(folder.configFile() + ": hidden_act '" + c.hiddenAct() + "' is not supported");
        }
        if (!"absolute".equals(c.positionEmbeddingType())) {
            throw new UserException(folder.configFile() + ": position_embedding_type '" + c.positionEmbeddingType()
                    + "' is not supported (only absolute)");
        }
        if (c.hiddenSize() % c.numAttentionHeads() != 0) {
            throw new UserException(folder.configFile() + ": hidden_size " + c.hiddenSize() + " is not a multiple of "
                    + "num_attention_heads " + c.numAttentionHeads());
        }
        WeightStore w = folder.weights();
        String base = c.roberta() ? "roberta." : "bert.";
        long d = c.hiddenSize();
        long f = c.intermediateSize();
        String e = base + "embeddings.";
        NDArray words = w.loadFloat32(e + "word_embeddings.weight", m, c.vocabSize(), d);
        NDArray pos = w.load(e + "position_embeddings.weight", m, c.maxPositionEmbeddings(), d);
        NDArray types = w.load(e + "token_type_embeddings.weight", m, c.typeVocabSize(), d);
        NDArray type0 = types.get(0);
        List<Block> blocks = new ArrayList<>();
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = base + "encoder.layer." + l + ".";
            blocks.add(new Block(
                    w.load(p + "attention.self.query.weight", m, d, d), w.load(p + "attention.self.query.bias", m, d),
                    w.load(p + "attention.self.key.weight", m, d, d), w.load(p + "attention.self.key.bias", m, d),
                    w.load(p + "attention.self.value.weight", m, d, d), w.load(p + "attention.self.value.bias", m, d),
                    w.load(p + "attention.output.dense.weight", m, d, d), w.load(p + "attention.output.dense.bias", m, d),
                    w.load(p + "attention.output.LayerNorm.weight", m, d), w.load(p + "attention.output.LayerNorm.bias", m, d),
                    w.load(p + "intermediate.dense.weight", m, f, d), w.load(p + "intermediate.dense.bias", m, f),
                    w.load(p + "output.dense.weight", m, d, f), w.load(p + "output.dense.bias", m, d),
                    w.load(p + "output.LayerNorm.weight", m, d), w.load(p + "output.LayerNorm.bias", m, d)));
        }
        String h = c.roberta() ? "lm_head." : "cls.predictions.";
        String t = c.roberta() ? "lm_head." : "cls.predictions.transform.";
        String ln = c.roberta() ? "layer_norm" : "LayerNorm";
        NDArray bias = w.hasAny(h + "bias") ? w.load(h + "bias", m, c.vocabSize()) : w.load(h + "decoder.bias", m, c.vocabSize());
        Specials specials = Specials.masked(folder, tok, c.roberta() ? new String[] {"<s>", "</s>", "<mask>"}
                : new String[] {"[CLS]", "[SEP]", "[MASK]"}, c.padTokenId());
        return new BertModel(c, words, pos, type0, w.load(e + "LayerNorm.weight", m, d), w.load(e + "LayerNorm.bias", m, d),
                blocks, w.load(t + "dense.weight", m, d, d), w.load(t + "dense.bias", m, d),
                w.load(t + ln + ".weight", m, d), w.load(t + ln + ".bias", m, d), bias, specials);
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
        return embLnW.getDataType();
    }

    @Override
    public NDArray embeddings() {
        return words;
    }

    @Override
    public NDArray embed(NDArray ids) {
        return Layers.matchType(Layers.embedding(ids, words), embLnW);         // [B, T, D] in the model's precision
    }


    /**
     * The one forward: the tokens embeds [B, Q, D] under keyMask [B, P+Q] (1 = real), attending both
     * ways. With a cache (a deep prompt's prefix in every layer, as P-Tuning v2 runs BERT with
     * {@code past_key_values}) they attend to its P positions too, and their positions start at P
     * (each row's own start when the cache stacks prefixes of different lengths). → [B, Q, D].
     */
    @Override
    public NDArray forward(NDArray embeds, NDArray keyMask, KvCache cache, Span span) {
        NDManager outer = embeds.getManager();
        int q = (int) embeds.getShape().get(1);
        long b = embeds.getShape().get(0);
        if (KvCache.end(cache, q) > maxPositions()) {
            throw new UserException("sequence of " + KvCache.end(cache, q) + " positions (prompt + tokens) exceeds the model's "
                    + maxPositions() + "; lower {{max_length}} or {{tokens}}");
        }
        float eps = c.layerNormEps().floatValue();
        long from = c.positionOffset() + KvCache.start(cache);
        int[] starts = KvCache.rowStarts(cache);
        NDArray attnMask = Layers.additiveMask(outer, keyMask, false);          // [B, 1, 1, P+Q]
        NDArray bareMask = KvCache.bareMask(cache, attnMask);                   // [B, 1, 1, P+Q−Pb]
        NDArray x = !span.bottom() ? embeds : Layers.scoped(embeds, false, e -> {
            NDArray pos = starts == null ? positions.get(e.getManager(), new NDIndex(from + ":" + (from + q))) // [Q, D]
                    : Layers.embedding(Tensors.create(e.getManager(), KvCache.positions(starts, q, c.positionOffset()),
                            new Shape(b, q)), positions);                       // [B, Q, D]: rows start apart
            return Layers.layerNorm(Layers.matchType(e, embLnW).add(pos).add(type0), embLnW, embLnB, eps); // [B, Q, D]
        });
        for (int l = span.from(); l < span.end(blocks.size()); l++) {
            int layer = l;
            NDArray mask = KvCache.bare(cache, l) ? bareMask : attnMask;
            x = Layers.scoped(x, x != embeds, in -> block(blocks.get(layer), in, mask, eps, cache, layer));
        }
        if (cache != null && span.top(blocks.size())) {
            cache.advance(q);
        }
        return x;
    }

    private NDArray block(Block b, NDArray x, NDArray mask, float eps, KvCache cache, int layer) {
        int h = c.numAttentionHeads();
        NDArray q = Layers.splitHeads(Layers.linear(x, b.q(), b.qb()), h);     // [B, H, S, K]
        NDArray k = Layers.splitHeads(Layers.linear(x, b.k(), b.kb()), h);     // [B, H, S, K]
        NDArray v = Layers.splitHeads(Layers.linear(x, b.v(), b.vb()), h);     // [B, H, S, K]
        if (cache != null) { // the prefix's keys and values in front of the tokens'
            NDList kv = cache.append(layer, k, v);                              // [B, H, P+S, K] each
            k = kv.get(0);
            v = kv.get(1);
        }
        float scale = (float) (1.0 / Math.sqrt((double) c.hiddenSize() / h));
        NDArray a = Layers.mergeHeads(Layers.attention(q, k, v, mask, scale)); // [B, S, D]
        NDArray x1 = Layers.layerNorm(Layers.linear(a, b.ao(), b.aob()).add(x), b.aLnW(), b.aLnB(), eps); // [B, S, D]
        NDArray i = act.apply(Layers.linear(x1, b.in(), b.inb()));            // [B, S, F]
        return Layers.layerNorm(Layers.linear(i, b.out(), b.outb()).add(x1), b.oLnW(), b.oLnB(), eps); // [B, S, D]
    }

    /** The MLM head's transform: dense, activation, LayerNorm. hidden [M, D] → [M, D]. */
    private NDArray transform(NDArray hidden) {
        NDArray t = act.apply(Layers.linear(hidden, headW, headB));
        return Layers.layerNorm(t, headLnW, headLnB, c.layerNormEps().floatValue());
    }

    @Override
    public NDArray logits(NDArray hidden) {
        return Layers.head(transform(hidden), wordsT).add(headBias);           // [M, V] float32
    }

    @Override
    public NDArray logits(NDArray hidden, NDArray ids) {
        NDArray rows = Layers.embedding(ids, words);                           // [C, D]
        NDArray bias = Layers.embedding(ids, headBiasCol).reshape(-1);     // [C]
        return Layers.head(transform(hidden), rows.transpose()).add(bias);     // [M, C] float32
    }
}
