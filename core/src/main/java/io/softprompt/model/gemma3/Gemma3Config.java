package io.softprompt.model.gemma3;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * config.json keys of Gemma 3's text model ({@code gemma3_text}; a {@code gemma3} checkpoint's
 * {@code text_config}). Missing keys take transformers' defaults.
 */
public record Gemma3Config(
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("hidden_size") Integer hiddenSize,
        @JsonProperty("intermediate_size") Integer intermediateSize,
        @JsonProperty("num_hidden_layers") Integer numHiddenLayers,
        @JsonProperty("num_attention_heads") Integer numAttentionHeads,
        @JsonProperty("num_key_value_heads") Integer numKeyValueHeads,
        @JsonProperty("head_dim") Integer headDim,
        @JsonProperty("hidden_activation") String hiddenActivation,
        @JsonProperty("max_position_embeddings") Integer maxPositionEmbeddings,
        @JsonProperty("rms_norm_eps") Double rmsNormEps,
        @JsonProperty("rope_theta") Double ropeTheta,
        @JsonProperty("rope_local_base_freq") Double ropeLocalBaseFreq,
        @JsonProperty("rope_scaling") Map<String, Object> ropeScaling,
        @JsonProperty("query_pre_attn_scalar") Double queryPreAttnScalar,
        @JsonProperty("sliding_window") Integer slidingWindow,
        @JsonProperty("layer_types") List<String> layerTypes,
        @JsonProperty("sliding_window_pattern") Integer slidingWindowPattern,
        @JsonProperty("final_logit_softcapping") Double finalLogitSoftcapping,
        @JsonProperty("tie_word_embeddings") Boolean tieWordEmbeddings) {

    public Gemma3Config {
        vocabSize = vocabSize == null ? 262208 : vocabSize;
        hiddenSize = hiddenSize == null ? 2304 : hiddenSize;
        intermediateSize = intermediateSize == null ? 9216 : intermediateSize;
        numHiddenLayers = numHiddenLayers == null ? 26 : numHiddenLayers;
        numAttentionHeads = numAttentionHeads == null ? 8 : numAttentionHeads;
        numKeyValueHeads = numKeyValueHeads == null ? 4 : numKeyValueHeads;
        headDim = headDim == null ? 256 : headDim;
        hiddenActivation = hiddenActivation == null ? "gelu_pytorch_tanh" : hiddenActivation;
        maxPositionEmbeddings = maxPositionEmbeddings == null ? 131072 : maxPositionEmbeddings;
        rmsNormEps = rmsNormEps == null ? 1e-6 : rmsNormEps;
        ropeTheta = ropeTheta == null ? 1_000_000.0 : ropeTheta;
        ropeLocalBaseFreq = ropeLocalBaseFreq == null ? 10_000.0 : ropeLocalBaseFreq;
        queryPreAttnScalar = queryPreAttnScalar == null ? 256.0 : queryPreAttnScalar;
        slidingWindow = slidingWindow == null ? 4096 : slidingWindow;
        slidingWindowPattern = slidingWindowPattern == null ? 6 : slidingWindowPattern;
        tieWordEmbeddings = tieWordEmbeddings == null || tieWordEmbeddings;
    }

    /** Whether layer l attends within a sliding window: layer_types, else every pattern-th layer is global. */
    public boolean sliding(int l) {
        if (layerTypes != null && l < layerTypes.size()) {
            return "sliding_attention".equals(layerTypes.get(l));
        }
        return (l + 1) % slidingWindowPattern != 0;
    }
}
