package io.softprompt.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.model.PromptSite;
import io.softprompt.model.TextTokenizer;
import io.softprompt.util.Tensors;
import io.softprompt.util.UserException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Locale;
import java.util.Random;
import java.util.Set;

/**
 * How the N×D prompt starts (Lester et al. §3.2), all seeded:
 * random uniform [-0.5, 0.5]; embeddings of tokens sampled from the 5,000 lowest ids (the most
 * frequent BPE pieces); the embeddings of a text, tiled or truncated to N; the label words' first
 * tokens followed by sampled vocabulary.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): N prompt tokens, D hidden.
 */
public enum PromptInit {
    RANDOM,
    VOCAB,
    TEXT,
    LABELS,
    /** Another prompt of the same model (prompt transfer, Vu et al. 2022): see {@link #transfer}. */
    TRANSFER;

    /** Sampled vocabulary comes from ids below this (or the whole vocabulary when smaller). */
    public static final int VOCAB_POOL = 5000;

    public static PromptInit parse(String s) {
        if (s == null) {
            throw new UserException("{{init}}: no value (expected random, vocab, text or labels)");
        }
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UserException("{{init}}: unknown value " + UserException.quote(s) + " (expected random, vocab, text or labels; "
                    + "{{init_from}} FILE.sp starts from another prompt)");
        }
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The initial values [N·D]. text is used by TEXT; labelTokens by LABELS.
     */
    public float[] values(LanguageModel lm, TextTokenizer tokenizer, int n, long seed, String text, long[] labelTokens) {
        int d = lm.hiddenSize();
        Random rnd = new Random(seed);
        switch (this) {
            case RANDOM -> {
                float[] out = new float[n * d];
                for (int i = 0; i < out.length; i++) {
                    out[i] = rnd.nextFloat() - 0.5f;
                }
                return out;
            }
            case VOCAB -> {
                return rows(lm, sample(rnd, n, Math.min(VOCAB_POOL, lm.vocabSize()), new long[0]));
            }
            case TEXT -> {
                if (text == null || text.isBlank()) {
                    throw new UserException("{{init}} text needs {{init_text}} \"...\"");
                }
                long[] ids = tokenizer.encode(text);
                if (ids.length == 0) {
                    throw new UserException("{{init_text}} encodes to no tokens");
                }
                long[] tiled = new long[n];
                for (int i = 0; i < n; i++) {
                    tiled[i] = ids[i % ids.length];
                }
                return rows(lm, tiled);
            }
            case LABELS -> {
                long[] head = labelTokens.length > n ? Arrays.copyOf(labelTokens, n) : labelTokens;
                long[] rest = sample(rnd, n - head.length, Math.min(VOCAB_POOL, lm.vocabSize()), head);
                long[] ids = new long[n];
                System.arraycopy(head, 0, ids, 0, head.length);
                System.arraycopy(rest, 0, ids, head.length, rest.length);
                return rows(lm, ids);
            }
            case TRANSFER -> throw new IllegalStateException("a transfer starts from a prompt file: PromptInit.transfer");
            default -> throw new IllegalStateException();
        }
    }

    /**
     * Prompt transfer (Vu et al. 2022, SPoT): the values of another prompt of the same model, its rows
     * truncated to N or tiled up to N: as they are from a prompt of the target's own site (a deep prompt
     * of the same layers, a late prompt entering the same layer; {@code ownWidth} its row width), else
     * [N·D] from an input prompt (the target's site starts from it), any other source refused. Refused when
     * the source was trained on another model (width or fingerprint): its vectors would mean nothing here.
     *
     * @param source the source prompt
     * @param file where it was read, for messages
     * @param n the target's tokens
     * @param hidden the model's hidden size D
     * @param fingerprint the model's fingerprint
     * @param ownWidth the target's row width when the source has the target's site, else 0
     * @param target how the target's site is asked for (flags), for messages
     * @return the initial values, as wide as the source's rows
     */
    public static float[] transfer(Prompt source, String file, int n, int hidden, String fingerprint, int ownWidth,
            String target) {
        if (ownWidth == 0 && source.site() != PromptSite.INPUT) {
            throw new UserException(file + ": a " + source.site().noun() + "; a transfer into " + target
                    + " starts from an input prompt or from a prompt of that same depth and layers");
        }
        int width = ownWidth > 0 ? ownWidth : hidden;
        if (source.hidden() != width) {
            throw new UserException(file + ": its " + (ownWidth > 0 && source.site() != PromptSite.INPUT ? "row width " : "hidden size ")
                    + source.hidden() + " is not the model's " + width);
        }
        String fp = source.meta(PromptFile.MODEL_FINGERPRINT);
        if (fp != null && !fp.equals(fingerprint)) { // an adapter PEFT wrote has none: its width was checked above
            throw new UserException(file + ": trained on another base model (fingerprint " + fp
                    + ", this model has " + fingerprint + "); a prompt transfers only within one model");
        }
        float[] out = new float[n * width];
        for (int i = 0; i < n; i++) {
            System.arraycopy(source.values(), (i % source.tokens()) * width, out, i * width, width);
        }
        return out;
    }

    /** k distinct ids from [0, pool) not in exclude (with repetition only when the pool is too small). */
    static long[] sample(Random rnd, int k, int pool, long[] exclude) {
        long[] out = new long[k];
        Set<Long> used = new HashSet<>();
        for (long e : exclude) {
            used.add(e);
        }
        boolean distinct = pool - used.size() >= k;
        for (int i = 0; i < k; i++) {
            long id;
            do {
                id = rnd.nextInt(pool);
            } while (distinct && used.contains(id));
            used.add(id);
            out[i] = id;
        }
        return out;
    }

    /** Rows of the embedding matrix [len(ids), D], flattened. */
    static float[] rows(LanguageModel lm, long[] ids) {
        try (NDManager m = NDManager.newBaseManager(lm.device())) {
            NDArray r = Layers.embedding(Tensors.create(m, ids), lm.embeddings()); // [N, D]
            return r.toFloatArray();
        }
    }
}
