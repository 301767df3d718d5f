package io.softprompt.model.llama;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/** config.json keys of the Llama family (llama, mistral, qwen2, qwen3, phi3). Missing keys take transformers' defaults. */
public record LlamaConfig(
        @JsonProperty("model_type") String modelType,
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("hidden_size") Integer hiddenSize,
        @JsonProperty("intermediate_size") Integer intermediateSize,
        @JsonProperty("num_hidden_layers") Integer numHiddenLayers,
        @JsonProperty("num_attention_heads") Integer numAttentionHeads,
        @JsonProperty("num_key_value_heads") Integer numKeyValueHeads,
        @JsonProperty("head_dim") Integer headDim,
        @JsonProperty("hidden_act") String hiddenAct,
        @JsonProperty("max_position_embeddings") Integer maxPositionEmbeddings,
        @JsonProperty("rms_norm_eps") Double rmsNormEps,
        @JsonProperty("rope_theta") Double ropeTheta,
        @JsonProperty("rope_scaling") Map<String, Object> ropeScaling,
        @JsonProperty("tie_word_embeddings") Boolean tieWordEmbeddings,
        @JsonProperty("attention_bias") Boolean attentionBias,
        @JsonProperty("mlp_bias") Boolean mlpBias,
        @JsonProperty("partial_rotary_factor") Double partialRotaryFactor,
        @JsonProperty("original_max_position_embeddings") Integer originalMaxPositionEmbeddings) {

    public LlamaConfig {
        vocabSize = vocabSize == null ? 32000 : vocabSize;
        hiddenSize = hiddenSize == null ? 4096 : hiddenSize;
        intermediateSize = intermediateSize == null ? 11008 : intermediateSize;
        numHiddenLayers = numHiddenLayers == null ? 32 : numHiddenLayers;
        numAttentionHeads = numAttentionHeads == null ? 32 : numAttentionHeads;
        numKeyValueHeads = numKeyValueHeads == null ? numAttentionHeads : numKeyValueHeads;
        headDim = headDim == null ? (numAttentionHeads > 0 ? hiddenSize / numAttentionHeads : 0) : headDim; // 0 heads: refused by bind
        hiddenAct = hiddenAct == null ? "silu" : hiddenAct;
        maxPositionEmbeddings = maxPositionEmbeddings == null ? 2048 : maxPositionEmbeddings;
        rmsNormEps = rmsNormEps == null ? 1e-6 : rmsNormEps;
        ropeTheta = ropeTheta == null ? 10000.0 : ropeTheta;
        tieWordEmbeddings = tieWordEmbeddings != null && tieWordEmbeddings;
        // qwen2 always has q/k/v biases (its config has no attention_bias key)
        attentionBias = attentionBias != null ? attentionBias : "qwen2".equals(modelType);
        mlpBias = mlpBias != null && mlpBias;
        partialRotaryFactor = partialRotaryFactor == null ? 1.0 : partialRotaryFactor;
    }

    /** R: the leading dims of each q/k head that RoPE rotates (Phi-3's partial rotary; all K elsewhere). */
    public int rotaryDim() {
        return (int) (headDim * partialRotaryFactor);
    }
}
