package io.softprompt.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * A frozen transformer that takes input embeddings, so a soft prompt can be prepended in front of the
 * token embeddings (for encoder-decoders: in front of the encoder input only).
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B batch, T tokens, N prompt tokens, S = N + T, D hidden, V vocabulary,
 * R decoder steps, M selected rows, C selected vocabulary ids (label tokens).
 */
public interface LanguageModel {
    /** How the model reads a task: where the decision is taken and which head scores it. */
    enum Kind {
        /** Causal LM (GPT-2, Llama): the last real token's logits predict the label word. */
        DECODER,
        /** Masked LM (BERT, RoBERTa): the label word is predicted at a mask token. */
        MASKED,
        /** Encoder-decoder (T5): the decoder generates the label word and end-of-sequence. */
        SEQ2SEQ
    }

    /**
     * What an architecture states about itself, once: config.json's model_type, its kind, hidden size D,
     * vocabulary V, the longest sequence (prompt + tokens) its positions allow (Integer.MAX_VALUE for
     * relative positions only) and its self-attention's shape.
     *
     * @param modelType config.json's model_type
     * @param kind how it reads a task
     * @param hiddenSize D
     * @param vocabSize V
     * @param maxPositions the longest sequence
     * @param attention the self-attention's shape
     */
    record Dims(String modelType, Kind kind, int hiddenSize, int vocabSize, int maxPositions, Attention attention) {}

    /**
     * The self-attention's shape, as a deep prompt needs it: L layers (T5: the encoder's), Hkv key/value
     * heads and K head size, so that a per-layer key/value prefix is [Np, L·2·Hkv·K] in PEFT's layout.
     *
     * @param layers L
     * @param kvHeads Hkv
     * @param headSize K
     */
    record Attention(int layers, int kvHeads, int headSize) {
        /** Numbers per prefix position: L·2·Hkv·K. */
        public int prefixWidth() {
            return layers * 2 * kvHeads * headSize;
        }
    }

    /** The architecture's dimensions (the accessors below read them). */
    Dims dims();

    /** config.json's model_type. */
    default String modelType() {
        return dims().modelType();
    }

    default Kind kind() {
        return dims().kind();
    }

    default int hiddenSize() {
        return dims().hiddenSize();
    }

    default int vocabSize() {
        return dims().vocabSize();
    }

    /** The self-attention's shape (see {@link Attention}). */
    default Attention attention() {
        return dims().attention();
    }

    /** Longest sequence (prompt + tokens) the position embedding allows, or Integer.MAX_VALUE. */
    default int maxPositions() {
        return dims().maxPositions();
    }

    /** Special token ids and how inputs are framed. */
    Specials specials();

    /** The input embedding matrix [V, D]. */
    NDArray embeddings();

    /**
     * The precision of the frozen weights and of the forward pass (FLOAT32, FLOAT16 or BFLOAT16); the
     * embedding table and the logits are float32 whatever it is.
     */
    DataType dtype();

    /** Where the weights live; every array of a forward pass is made there. */
    default Device device() {
        return embeddings().getDevice();
    }

    /** Token embeddings: ids [B, T] → [B, T, D], in the ids' NDManager. */
    NDArray embed(NDArray ids);

    /**
     * The transformer (for SEQ2SEQ: the encoder): embeds [B, S, D] (prompt already prepended), mask
     * [B, S] (1 = real) → final hidden states [B, S, D] after the final norm. Positions run 0..S-1 over
     * the whole sequence: the one forward below without a cache.
     */
    default NDArray forward(NDArray embeds, NDArray mask) {
        return forward(embeds, mask, null);
    }

    /**
     * The final hidden states [M, D] of M rows only, at flat indices b·S + s into [B, S] (the decision
     * positions of a batch): {@code Layers.rows(forward(embeds, mask), flat)}, and a model may skip
     * its last layer's attention output and MLP for every other position (GPT-2 does).
     */
    default NDArray forwardRows(NDArray embeds, NDArray mask, long[] flat) {
        return Layers.rows(forward(embeds, mask), flat);
    }

    /** The one forward below over every layer: {@code forward(embeds, keyMask, cache, Span.ALL)}. */
    default NDArray forward(NDArray embeds, NDArray keyMask, KvCache cache) {
        return forward(embeds, keyMask, cache, Span.ALL);
    }

    /**
     * The one forward of an architecture: Q new positions embeds [B, Q, D] after the cache's P positions
     * (a deep prompt's prefix, generation's earlier tokens), keyMask [B, P+Q] over all of them, appending
     * to the cache → [B, Q, D]. A null cache is the plain forward. Only the layers of {@code span} run: from
     * the bottom, x is the embedded input; above it, the hidden states entering layer {@code span.from()};
     * below the top, the result is the hidden states leaving layer {@code span.to() − 1} (no final norm, the
     * cache not advanced). A layer the cache marks bare ({@link KvCache#bare}) reads the key mask without the
     * cache's first positions.
     */
    NDArray forward(NDArray embeds, NDArray keyMask, KvCache cache, Span span);

    /**
     * The hidden states [B, T, D] entering layer {@code layer} for tokens ids [B, T] (mask [B, T]) placed at
     * positions {@code offset}.. (behind a prompt of that many positions that enters at or above
     * {@code layer}): the frozen layers below it, which no such prompt changes. At layer 0, the embedded ids.
     * A model may answer from what it has kept (an activation cache); these arrays never carry a gradient.
     *
     * @param ids the tokens [B, T]
     * @param mask 1 for real tokens [B, T]
     * @param layer the entry layer
     * @param offset the tokens' first position
     * @return the hidden states [B, T, D], in the ids' NDManager
     */
    default NDArray entry(NDArray ids, NDArray mask, int layer, int offset) {
        NDArray tokens = embed(ids);                                                                     // [B, T, D]
        if (layer == 0) {
            return tokens;
        }
        NDManager m = ids.getManager();
        try (KvCache at = KvCache.at(m, offset)) {
            NDArray keyMask = offset == 0 ? mask : NDArrays.concat(new NDList(
                    m.ones(new Shape(ids.getShape().get(0), offset), mask.getDataType()), mask), 1); // [B, offset+T]
            return forward(tokens, keyMask, at, Span.below(layer)).stopGradient();                   // [B, T, D]
        }
    }

    /**
     * SEQ2SEQ only: the decoder over decoder input ids [B, R] attending to the encoder output [B, S, D]
     * with its mask [B, S] → final decoder hidden states [B, R, D].
     */
    default NDArray decode(NDArray decoderIds, NDArray encoded, NDArray encoderMask) {
        return decode(decoderIds, encoded, encoderMask, null);
    }

    /** SEQ2SEQ, for generation: new decoder ids [B, Q] after the cache's positions → [B, Q, D]. */
    default NDArray decode(NDArray decoderIds, NDArray encoded, NDArray encoderMask, KvCache cache) {
        throw new UnsupportedOperationException(modelType() + " has no decoder");
    }

    /** Full-vocabulary logits: hidden [M, D] → [M, V]. */
    NDArray logits(NDArray hidden);

    /** Logits of selected vocabulary ids only: hidden [M, D], ids [C] → [M, C]. */
    NDArray logits(NDArray hidden, NDArray ids);
}
