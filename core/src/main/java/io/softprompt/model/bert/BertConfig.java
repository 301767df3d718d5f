package io.softprompt.model.bert;

import com.fasterxml.jackson.annotation.JsonProperty;

/** config.json keys of BERT and RoBERTa. Missing keys take transformers' defaults. */
public record BertConfig(
        @JsonProperty("model_type") String modelType,
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("hidden_size") Integer hiddenSize,
        @JsonProperty("num_hidden_layers") Integer numHiddenLayers,
        @JsonProperty("num_attention_heads") Integer numAttentionHeads,
        @JsonProperty("intermediate_size") Integer intermediateSize,
        @JsonProperty("hidden_act") String hiddenAct,
        @JsonProperty("max_position_embeddings") Integer maxPositionEmbeddings,
        @JsonProperty("type_vocab_size") Integer typeVocabSize,
        @JsonProperty("layer_norm_eps") Double layerNormEps,
        @JsonProperty("pad_token_id") Integer padTokenId,
        @JsonProperty("position_embedding_type") String positionEmbeddingType) {

    public BertConfig {
        vocabSize = vocabSize == null ? 30522 : vocabSize;
        hiddenSize = hiddenSize == null ? 768 : hiddenSize;
        numHiddenLayers = numHiddenLayers == null ? 12 : numHiddenLayers;
        numAttentionHeads = numAttentionHeads == null ? 12 : numAttentionHeads;
        intermediateSize = intermediateSize == null ? 3072 : intermediateSize;
        hiddenAct = hiddenAct == null ? "gelu" : hiddenAct;
        maxPositionEmbeddings = maxPositionEmbeddings == null ? 512 : maxPositionEmbeddings;
        typeVocabSize = typeVocabSize == null ? 2 : typeVocabSize;
        layerNormEps = layerNormEps == null ? 1e-12 : layerNormEps;
        padTokenId = padTokenId == null ? ("roberta".equals(modelType) ? 1 : 0) : padTokenId;
        positionEmbeddingType = positionEmbeddingType == null ? "absolute" : positionEmbeddingType;
    }

    public boolean roberta() {
        return "roberta".equals(modelType) || "xlm-roberta".equals(modelType);
    }

    /** RoBERTa numbers positions from padding_idx + 1; BERT from 0. */
    public int positionOffset() {
        return roberta() ? padTokenId + 1 : 0;
    }
}
