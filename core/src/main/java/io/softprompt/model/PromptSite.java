package io.softprompt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import java.io.Serializable;

/**
 * Where a soft prompt enters the frozen model, and what that means for its width, the forward pass
 * (the encoder's, for an encoder-decoder), the cache the scorer and the generator keep, and the way a
 * scoring pass lays out its rows. Everything that carries a prompt carries its site (a prompt file's
 * depth, a scorer's slot, a generation request, a training plan); what differs between sites is asked
 * of the site, never branched on. Three sites so far:
 *
 * <ul>
 *   <li>{@link InputSite}: N vectors [N, D] in front of the embedded input (Lester et al. 2021).
 *   <li>{@link DeepSite}: a key/value prefix in every layer's self-attention, PEFT's prefix table
 *       [N, L·2·Hkv·K] (prefix tuning, P-Tuning v2); or in the top layers only.
 *   <li>{@link LateSite}: N vectors [N, D] joined to the hidden states entering a later layer (Late Prompt
 *       Tuning, Liu et al. 2022).
 * </ul>
 *
 * <p>Adding a site is one new implementation plus its tests (docs/ARCHITECTURE.md says how).
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B rows, T tokens, N prompt tokens, S positions the forward
 * returns (N + T at the input; T behind a deep prefix), D hidden, O the prompt's width.
 */
public sealed interface PromptSite extends Serializable permits InputSite, DeepSite, LateSite {
    /** The prompt in front of the input. */
    InputSite INPUT = new InputSite();
    /** The prompt as a key/value prefix in every layer. */
    DeepSite DEEP = new DeepSite(0);

    /**
     * The site a depth names, as .sp files and training configs write it: {@code deep}, else the input.
     *
     * @param depth {@code input}, {@code deep}, or null (a file from before depth existed: an input prompt)
     * @return the site
     */
    static PromptSite of(String depth) {
        return of(depth, 0);
    }

    /**
     * The site a depth and a layer count name: {@code deep} (in the top {@code layers} layers: 0 for every
     * layer; a file writes such a prompt's depth as {@code partial}), {@code late} (an input-style prompt
     * joined to the hidden states entering the top {@code layers} layers), else the input.
     *
     * @param depth {@code input}, {@code deep}, {@code partial}, {@code late}, or null (an input prompt)
     * @param layers the top layers the prompt reaches, 0 for every layer
     * @return the site
     */
    static PromptSite of(String depth, int layers) {
        if ("deep".equals(depth) || "partial".equals(depth)) {
            return layers == 0 ? DEEP : new DeepSite(layers);
        }
        return "late".equals(depth) ? new LateSite(layers) : INPUT;
    }

    /**
     * The first layer a prompt reaching the top {@code top} layers of the model enters (0 for top 0, every
     * layer); refused in one line where the model has fewer layers.
     *
     * @param lm the model
     * @param top the layers reached, counted from the top
     * @param what what the message calls the prompt
     * @return L − top
     */
    static int first(LanguageModel lm, int top, String what) {
        int l = lm.attention().layers();
        if (top > l) {
            throw new io.softprompt.util.UserException(what + " in the top " + top + " layers needs a model with at least "
                    + top + " layers; " + lm.modelType() + " here has " + l + " (lower {{prompt_layers}})");
        }
        return top == 0 ? 0 : l - top;
    }

    /** How rows of a site are laid out in a scoring pass. */
    enum Pass {
        /** [prompt][tokens][padding]: the prompt's rows in the sequence, gathered from the batch's prompt table. */
        INLINE,
        /** The prompt's keys and values computed once (B = 1) and stacked; only the rows' tokens run. */
        PREFIX,
        /**
         * The rows of one prompt through its site's own forward ({@link #run}): a T5 deep prompt's encoder
         * pass, a late prompt whose rows attend to the input.
         */
        OWN
    }

    /**
     * The name files and configs use.
     *
     * @return {@code input} or {@code deep}
     */
    String depth();

    /**
     * The top layers the prompt reaches (a partial-depth deep prompt's, a late prompt's); 0 for every layer.
     *
     * @return the layer count, or 0
     */
    default int layers() {
        return 0;
    }

    /**
     * The lowest layer the prompt reaches: the layers below it run the frozen model alone
     * ({@link LanguageModel#entry}); rows whose prompts enter different layers never share a cache.
     *
     * @param lm the model
     * @return 0 for an input or full-depth deep prompt
     */
    int firstLayer(LanguageModel lm);

    /**
     * What a prompt at this site is called in messages.
     *
     * @return {@code prompt} or {@code deep prompt}
     */
    String noun();

    /**
     * O, the width of one prompt row on the model.
     *
     * @param lm the model
     * @return D, or L·2·Hkv·K
     */
    int width(LanguageModel lm);

    /**
     * Positions the prompt adds to the token sequence.
     *
     * @param n the prompt's tokens N
     * @return N at the input, 0 behind a deep prefix (its rows live in every layer's keys and values)
     */
    int sequenceRows(int n);

    /**
     * The prompt's values [N·O] as the tensor [N, O] the forward takes, in {@code m}.
     *
     * @param m where it lives
     * @param lm the model
     * @param values the values, row-major
     * @param n N
     * @return the prompt [N, O]
     */
    NDArray tensor(NDManager m, LanguageModel lm, float[] values, int n);

    /**
     * The transformer (an encoder-decoder's encoder) with the prompt: prompt [N, O] (or [B, N, D] at
     * the input), ids and mask [B, T] → the final hidden states [B, S, D] and the mask over them [B, S].
     *
     * @param lm the model
     * @param prompt the prompt, or null at the input for the plain model
     * @param ids the tokens
     * @param mask 1 for real tokens
     * @return hidden states and their mask
     */
    NDList run(LanguageModel lm, NDArray prompt, NDArray ids, NDArray mask);

    /**
     * Final hidden states [B, S, D] with the prompt ({@link #run}'s first).
     *
     * @param lm the model
     * @param prompt the prompt
     * @param ids the tokens [B, T]
     * @param mask 1 for real tokens [B, T]
     * @return hidden states [B, S, D]
     */
    default NDArray hidden(LanguageModel lm, NDArray prompt, NDArray ids, NDArray mask) {
        return run(lm, prompt, ids, mask).get(0);
    }

    /**
     * Final hidden states [B, D] at one position per row, positions [B] indexing the token axis T.
     *
     * @param lm the model
     * @param prompt the prompt
     * @param ids the tokens [B, T]
     * @param mask 1 for real tokens [B, T]
     * @param positions one per row
     * @return hidden states [B, D]
     */
    NDArray hiddenAt(LanguageModel lm, NDArray prompt, NDArray ids, NDArray mask, long[] positions);

    /**
     * The prompt's keys and values at every layer for one row (B = 1), in {@code m}: the cache scoring
     * batches start from ({@link Pass#PREFIX}).
     *
     * @param m where the cache lives
     * @param lm the model
     * @param values the prompt [N·O]
     * @param n N
     * @return the cache, N positions
     */
    KvCache prefix(NDManager m, LanguageModel lm, float[] values, int n);

    /**
     * The pass rows of this site take in a scoring batch.
     *
     * @param lm the model
     * @param prefixCache whether the scorer keeps input prompts' caches (decoder LMs only)
     * @return the pass
     */
    Pass pass(LanguageModel lm, boolean prefixCache);

    /**
     * Refuses, in one line, a prompt at this site that cannot generate text (or train a text-to-text
     * task) on the model.
     *
     * @param lm the model
     * @param source what the message says trains or generates: "{{depth}} deep", "FILE: a deep prompt"
     */
    void checkGenerates(LanguageModel lm, String source);

    /**
     * A training run's starting values at this site from its init's input prompt [N·D].
     *
     * @param lm the model
     * @param input the init's input prompt [N·D]
     * @param n N
     * @param seed the run's seed (a site that draws its start)
     * @return the values [N·O]
     */
    float[] start(LanguageModel lm, float[] input, int n, long seed);

    /**
     * Generation's first pass of one row: the cache it starts from, in {@code m} (empty at the input,
     * where the prompt runs with the row's tokens; the prefix for a deep prompt).
     *
     * @param m where the cache lives
     * @param lm the model
     * @param values the prompt [N·O]
     * @param n N
     * @return the cache
     */
    KvCache startCache(NDManager m, LanguageModel lm, float[] values, int n);

    /**
     * Generation's first pass of one row: the embedded sequence it feeds after {@link #startCache},
     * [1, sequenceRows(N) + T, D] (the prompt and the ids at the input, the ids alone behind a prefix).
     *
     * @param m where the arrays live
     * @param lm the model
     * @param values the prompt [N·O]
     * @param n N
     * @param ids the row's tokens [T]
     * @return the embeddings
     */
    NDArray firstPass(NDManager m, LanguageModel lm, float[] values, int n, long[] ids);
}
