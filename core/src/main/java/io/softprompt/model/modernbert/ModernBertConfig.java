package io.softprompt.model.modernbert;

import com.fasterxml.jackson.annotation.JsonProperty;

/** config.json keys of ModernBERT ({@code modernbert}). Missing keys take transformers' defaults. */
public record ModernBertConfig(
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("hidden_size") Integer hiddenSize,
        @JsonProperty("intermediate_size") Integer intermediateSize,
        @JsonProperty("num_hidden_layers") Integer numHiddenLayers,
        @JsonProperty("num_attention_heads") Integer numAttentionHeads,
        @JsonProperty("hidden_activation") String hiddenActivation,
        @JsonProperty("max_position_embeddings") Integer maxPositionEmbeddings,
        @JsonProperty("norm_eps") Double normEps,
        @JsonProperty("global_rope_theta") Double globalRopeTheta,
        @JsonProperty("local_rope_theta") Double localRopeTheta,
        @JsonProperty("local_attention") Integer localAttention,
        @JsonProperty("global_attn_every_n_layers") Integer globalAttnEveryNLayers,
        @JsonProperty("pad_token_id") Integer padTokenId,
        @JsonProperty("decoder_bias") Boolean decoderBias,
        @JsonProperty("norm_bias") Boolean normBias,
        @JsonProperty("attention_bias") Boolean attentionBias,
        @JsonProperty("mlp_bias") Boolean mlpBias) {

    public ModernBertConfig {
        vocabSize = vocabSize == null ? 50368 : vocabSize;
        hiddenSize = hiddenSize == null ? 768 : hiddenSize;
        intermediateSize = intermediateSize == null ? 1152 : intermediateSize;
        numHiddenLayers = numHiddenLayers == null ? 22 : numHiddenLayers;
        numAttentionHeads = numAttentionHeads == null ? 12 : numAttentionHeads;
        hiddenActivation = hiddenActivation == null ? "gelu" : hiddenActivation;
        maxPositionEmbeddings = maxPositionEmbeddings == null ? 8192 : maxPositionEmbeddings;
        normEps = normEps == null ? 1e-5 : normEps;
        globalRopeTheta = globalRopeTheta == null ? 160_000.0 : globalRopeTheta;
        localRopeTheta = localRopeTheta == null ? 10_000.0 : localRopeTheta;
        localAttention = localAttention == null ? 128 : localAttention;
        globalAttnEveryNLayers = globalAttnEveryNLayers == null ? 3 : globalAttnEveryNLayers;
        padTokenId = padTokenId == null ? 50283 : padTokenId;
        decoderBias = decoderBias == null || decoderBias;
        normBias = normBias != null && normBias;
        attentionBias = attentionBias != null && attentionBias;
        mlpBias = mlpBias != null && mlpBias;
    }

    /** Whether layer l attends to every key (else within local_attention / 2 positions either side). */
    public boolean global(int l) {
        return l % globalAttnEveryNLayers == 0;
    }
}
