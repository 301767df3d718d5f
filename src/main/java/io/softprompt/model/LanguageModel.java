package io.softprompt.model;

import ai.djl.ndarray.NDArray;

/**
 * A frozen decoder-only language model that takes input embeddings, so a soft prompt can be
 * prepended in front of the token embeddings.
 *
 * <p>Dimension legend: B batch, T tokens, N prompt tokens, S = N + T, D hidden, V vocabulary,
 * M selected rows, C selected vocabulary ids (label tokens).
 */
public interface LanguageModel {
    /** config.json's model_type. */
    String modelType();

    int hiddenSize();

    int vocabSize();

    /** Longest sequence (prompt + tokens) the position embedding allows, or Integer.MAX_VALUE. */
    int maxPositions();

    /** The input embedding matrix [V, D]. */
    NDArray embeddings();

    /** Token embeddings: ids [B, T] → [B, T, D], in the ids' NDManager. */
    NDArray embed(NDArray ids);

    /**
     * The transformer: embeds [B, S, D] (prompt already prepended), mask [B, S] (1 = real) →
     * final hidden states [B, S, D] after the final norm. Positions run 0..S-1 over the whole sequence.
     */
    NDArray forward(NDArray embeds, NDArray mask);

    /** Full-vocabulary logits: hidden [M, D] → [M, V]. */
    NDArray logits(NDArray hidden);

    /** Logits of selected vocabulary ids only: hidden [M, D], ids [C] → [M, C]. */
    NDArray logits(NDArray hidden, NDArray ids);
}
