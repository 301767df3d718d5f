package io.softprompt.model.gpt2;

import com.fasterxml.jackson.annotation.JsonProperty;

/** GPT-2's config.json keys (transformers GPT2Config). Missing keys take GPT2Config's defaults. */
public record Gpt2Config(
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("n_positions") Integer nPositions,
        @JsonProperty("n_embd") Integer nEmbd,
        @JsonProperty("n_layer") Integer nLayer,
        @JsonProperty("n_head") Integer nHead,
        @JsonProperty("n_inner") Integer nInner,
        @JsonProperty("activation_function") String activationFunction,
        @JsonProperty("layer_norm_epsilon") Double layerNormEpsilon,
        @JsonProperty("scale_attn_weights") Boolean scaleAttnWeights,
        @JsonProperty("scale_attn_by_inverse_layer_idx") Boolean scaleAttnByInverseLayerIdx,
        @JsonProperty("tie_word_embeddings") Boolean tieWordEmbeddings) {

    public Gpt2Config {
        vocabSize = vocabSize == null ? 50257 : vocabSize;
        nPositions = nPositions == null ? 1024 : nPositions;
        nEmbd = nEmbd == null ? 768 : nEmbd;
        nLayer = nLayer == null ? 12 : nLayer;
        nHead = nHead == null ? 12 : nHead;
        activationFunction = activationFunction == null ? "gelu_new" : activationFunction;
        layerNormEpsilon = layerNormEpsilon == null ? 1e-5 : layerNormEpsilon;
        scaleAttnWeights = scaleAttnWeights == null || scaleAttnWeights;
        scaleAttnByInverseLayerIdx = scaleAttnByInverseLayerIdx != null && scaleAttnByInverseLayerIdx;
        tieWordEmbeddings = tieWordEmbeddings == null || tieWordEmbeddings;
    }

    /** Feed-forward width: n_inner, or 4·n_embd when null. */
    public int inner() {
        return nInner == null ? 4 * nEmbd : nInner;
    }
}
