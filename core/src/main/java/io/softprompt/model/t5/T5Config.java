package io.softprompt.model.t5;

import com.fasterxml.jackson.annotation.JsonProperty;

/** T5's config.json keys (v1.0 and v1.1). Missing keys take transformers' defaults. */
public record T5Config(
        @JsonProperty("vocab_size") Integer vocabSize,
        @JsonProperty("d_model") Integer dModel,
        @JsonProperty("d_kv") Integer dKv,
        @JsonProperty("d_ff") Integer dFf,
        @JsonProperty("num_layers") Integer numLayers,
        @JsonProperty("num_decoder_layers") Integer numDecoderLayers,
        @JsonProperty("num_heads") Integer numHeads,
        @JsonProperty("relative_attention_num_buckets") Integer numBuckets,
        @JsonProperty("relative_attention_max_distance") Integer maxDistance,
        @JsonProperty("layer_norm_epsilon") Double layerNormEpsilon,
        @JsonProperty("feed_forward_proj") String feedForwardProj,
        @JsonProperty("tie_word_embeddings") Boolean tieWordEmbeddings,
        @JsonProperty("decoder_start_token_id") Integer decoderStartTokenId,
        @JsonProperty("eos_token_id") Integer eosTokenId,
        @JsonProperty("pad_token_id") Integer padTokenId) {

    public T5Config {
        vocabSize = vocabSize == null ? 32128 : vocabSize;
        dModel = dModel == null ? 512 : dModel;
        dKv = dKv == null ? 64 : dKv;
        dFf = dFf == null ? 2048 : dFf;
        numLayers = numLayers == null ? 6 : numLayers;
        numDecoderLayers = numDecoderLayers == null ? numLayers : numDecoderLayers;
        numHeads = numHeads == null ? 8 : numHeads;
        numBuckets = numBuckets == null ? 32 : numBuckets;
        maxDistance = maxDistance == null ? 128 : maxDistance;
        layerNormEpsilon = layerNormEpsilon == null ? 1e-6 : layerNormEpsilon;
        feedForwardProj = feedForwardProj == null ? "relu" : feedForwardProj;
        tieWordEmbeddings = tieWordEmbeddings == null || tieWordEmbeddings;
        decoderStartTokenId = decoderStartTokenId == null ? 0 : decoderStartTokenId;
        eosTokenId = eosTokenId == null ? 1 : eosTokenId;
        padTokenId = padTokenId == null ? 0 : padTokenId;
    }

    /** "gated-gelu" style projections have two input matrices (wi_0, wi_1). */
    public boolean gated() {
        return feedForwardProj.startsWith("gated-");
    }

    /** The activation name as transformers maps it ("gated-gelu" uses gelu_new). */
    public String activation() {
        String act = gated() ? feedForwardProj.substring("gated-".length()) : feedForwardProj;
        return feedForwardProj.equals("gated-gelu") ? "gelu_new" : act;
    }

    public int inner() {
        return numHeads * dKv;
    }
}
