package io.softprompt.scoring;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.softprompt.data.Encoder;
import io.softprompt.model.KvCache;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.model.PromptSite;
import io.softprompt.model.Span;
import io.softprompt.util.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The one way class probabilities are computed: for a single prompt (eval, infer, the evaluation
 * inside train), ensembles, rows of mixed tasks and serve. Rows that each carry their own prompt
 * (different prompts, prompt lengths, templates and verbalisers) share one forward pass: one frozen
 * model, many tasks, one batch.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B rows, T tokens, N prompt tokens, S = N + T, D hidden,
 * P cached prompt positions, A all prompt rows of every slot (the prompt table), U distinct label
 * tokens in the batch, M (row, class) pairs (M_t: their target tokens), R decoder steps, V vocabulary.
 *
 * <p>Row i is laid out [prompt_i (N_i)][tokens_i (T_i)][padding], exactly as when its prompt runs
 * alone, so positions and masks match the single-prompt path. The embeddings are assembled by two
 * gathers and a select: token embeddings [B, S, D] and prompt rows [B, S, D] from one table of every
 * slot's prompt [A, D], mixed by a 0/1 mask. Only the rows at each decision position meet the LM head,
 * and only the label tokens' columns of it. With the prefix cache (decoder-only models) a prompt's
 * keys and values are computed once and batches run only their rows' tokens.
 */
public final class Scorer implements AutoCloseable {
    /**
     * A prompt: values row-major [N·O], N, the label tokens of its task, where it enters the model
     * (an input prompt's values [N·D]; a deep prompt's PEFT's prefix table [N·L·2·Hkv·K]), and the ids
     * every row of its task begins with ({@link Encoder#sharedHead}: a chat's system turn and header),
     * which the prefix cache holds after the prompt. Compared by identity of its arrays.
     */
    public record Slot(float[] values, int tokens, Encoder.Labels labels, PromptSite site, long[] head) {
        /** An input prompt. */
        public Slot(float[] values, int tokens, Encoder.Labels labels) {
            this(values, tokens, labels, PromptSite.INPUT);
        }

        /** A prompt whose rows share no head the cache may hold. */
        public Slot(float[] values, int tokens, Encoder.Labels labels, PromptSite site) {
            this(values, tokens, labels, site, new long[0]);
        }
    }

    /** One row to score: which slot's prompt it carries, and its encoded input. */
    public record Item(int slot, Encoder.Encoded row) {}

    private final LanguageModel lm;
    private final AtomicLong forwardPasses = new AtomicLong();
    private final boolean prefixCache;
    private final int padTo;
    private final PromptCaches caches;
    private final AtomicLong headRows = new AtomicLong();

    /** Without the prefix cache: rows of different prompts share each forward pass. */
    public Scorer(LanguageModel lm) {
        this(lm, false, 0);
    }

    /**
     * With {@code prefixCache} on a decoder-only model, each prompt's keys and values at every layer
     * are computed once (they do not depend on the input: attention is causal) and every batch feeds
     * only its rows' tokens; rows of different prompts still share a pass. Other kinds ignore it: a
     * prompt under bidirectional attention depends on the input. Caches live until {@link #forget} or
     * {@link #close}.
     */
    public Scorer(LanguageModel lm, boolean prefixCache) {
        this(lm, prefixCache, 0);
    }

    /** As {@link #Scorer(LanguageModel, boolean)}, padding every batch's tokens to at least padTo (benchmarks at fixed shapes). */
    public Scorer(LanguageModel lm, boolean prefixCache, int padTo) {
        this.lm = lm;
        this.prefixCache = prefixCache && lm.kind() == LanguageModel.Kind.DECODER;
        this.padTo = padTo;
        // decoders keep prompt caches: every prompt's with the prefix cache, deep prompts' always
        this.caches = lm.kind() != LanguageModel.Kind.SEQ2SEQ ? new PromptCaches(lm) : null;
    }

    public boolean cached() {
        return prefixCache;
    }

    /**
     * Drops a prompt's cached keys and values (the prompt was replaced or removed). Safe from any
     * thread: the cache is closed by the scoring thread, before or after a batch, never during one.
     */
    public void forget(Slot slot) {
        if (slot.site().pass(lm, prefixCache) == PromptSite.Pass.PREFIX) { // only these keep a cache
            caches.forget(slot);
        }
    }

    private void dropForgotten() {
        if (caches != null) {
            caches.dropForgotten();
        }
    }

    @Override
    public void close() {
        if (caches != null) {
            caches.close();
        }
    }

    /** Rows scored after their task's shared head held in the prefix cache, so far. */
    public long headRows() {
        return headRows.get();
    }

    /** Forward passes of the transformer so far (one per batch). */
    public long forwardPasses() {
        return forwardPasses.get();
    }

    /**
     * Batches of item indices for this scorer, cut at {@code batchSize} rows or when B × S would pass
     * {@code tokenBudget} (0: no budget), sorted so that padding stays small in the way this scorer lays
     * a batch out ({@link LengthBuckets}). The only length bucketer: every scoring path batches this way.
     */
    public List<int[]> batches(List<Slot> slots, List<Item> items, int batchSize, int tokenBudget) {
        return buckets(slots, items, batchSize, tokenBudget, prefixCache);
    }

    /** As {@link #batches}: {@code cached} says the batch is laid out as [prompt cache][text]. */
    static List<int[]> buckets(List<Slot> slots, List<Item> items, int batchSize, int tokenBudget, boolean cached) {
        return LengthBuckets.of(slots, items, batchSize, tokenBudget, cached);
    }

    /**
     * One prompt's class probabilities [rows][C] in input order, batchSize rows per pass; its prefix
     * cache (if any) is dropped afterwards, so a prompt that changes (training) never piles up caches.
     */
    public float[][] probabilities(Slot slot, List<Encoder.Encoded> rows, int batchSize) {
        List<Slot> slots = List.of(slot);
        List<Item> items = new ArrayList<>(rows.size());
        for (Encoder.Encoded r : rows) {
            items.add(new Item(0, r));
        }
        try {
            return score(slots, items, batches(slots, items, batchSize, 0));
        } finally {
            forget(slot);
            dropForgotten();
        }
    }

    /** The class with the highest probability (the first of equals). */
    public static int argmax(float[] p) {
        int best = 0;
        for (int i = 1; i < p.length; i++) {
            if (p[i] > p[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Probabilities per item over its own slot's classes, in item order; one forward pass per batch. */
    public float[][] score(List<Slot> slots, List<Item> items, List<int[]> batches) {
        dropForgotten();
        try {
            return scoreAll(slots, items, batches);
        } finally {
            dropForgotten();
        }
    }

    private float[][] scoreAll(List<Slot> slots, List<Item> items, List<int[]> batches) {
        float[][] out = new float[items.size()][];
        int d = lm.hiddenSize();
        int[] offset = new int[slots.size()];
        int total = 0;
        for (int k = 0; k < slots.size(); k++) { // the prompts whose rows sit in the sequence: [N, D] each
            offset[k] = total;
            total += slots.get(k).site().sequenceRows(slots.get(k).tokens());
        }
        float[] table = new float[Math.max(1, total) * d];
        for (int k = 0; k < slots.size(); k++) {
            int rows = slots.get(k).site().sequenceRows(slots.get(k).tokens());
            System.arraycopy(slots.get(k).values(), 0, table, offset[k] * d, rows * d);
        }
        try (NDManager m = NDManager.newBaseManager(lm.device())) {
            NDArray prompts = Tensors.create(m, table, new Shape(Math.max(1, total), d)); // [A, D]
            for (int[] batch : batches) {
                List<Item> part = new ArrayList<>(batch.length);
                for (int i : batch) {
                    part.add(items.get(i));
                }
                float[][] probs = scoreBatch(m, prompts, offset, slots, part);
                for (int k = 0; k < batch.length; k++) {
                    out[batch[k]] = probs[k];
                }
            }
        }
        return out;
    }

    /**
     * One batch: each row takes the pass its prompt's site asks for ({@link PromptSite#pass}); rows of
     * different passes are scored in groups. On a decoder LM attention is causal, so an input prompt's
     * keys and values do not depend on its input: beside rows that run from a prefix, every row does.
     */
    private float[][] scoreBatch(NDManager parent, NDArray prompts, int[] offset, List<Slot> slots, List<Item> part) {
        PromptSite.Pass[] pass = part.stream().map(it -> slots.get(it.slot()).site().pass(lm, prefixCache))
                .toArray(PromptSite.Pass[]::new);
        if (lm.kind() == LanguageModel.Kind.DECODER && Arrays.asList(pass).contains(PromptSite.Pass.PREFIX)) {
            Arrays.fill(pass, PromptSite.Pass.PREFIX);
        }
        // a prompt's own pass holds its rows alone; prefixes stack only where they enter the same layer
        int[] key = new int[pass.length];
        for (int i = 0; i < key.length; i++) {
            Slot sl = slots.get(part.get(i).slot());
            key[i] = pass[i] == PromptSite.Pass.OWN ? -1 - part.get(i).slot()
                    : pass[i].ordinal() + PromptSite.Pass.values().length * sl.site().firstLayer(lm);
        }
        if (Arrays.stream(key).anyMatch(k -> k != key[0])) {
            return scoreGroups(parent, prompts, offset, slots, part, key);
        }
        return switch (pass[0]) {
            case PREFIX -> scoreCached(parent, slots, part);
            case OWN -> scoreOwn(parent, slots, part);
            case INLINE -> scoreInline(parent, prompts, offset, slots, part);
        };
    }

    /** Rows laid out [prompt][tokens][padding], the prompts gathered from the batch's table [A, D]. */
    private float[][] scoreInline(NDManager parent, NDArray prompts, int[] offset, List<Slot> slots, List<Item> part) {
        int b = part.size();
        int s = part.stream().mapToInt(it -> slots.get(it.slot()).tokens() + Math.max(padTo, it.row().ids().length))
                .max().orElse(1);
        long pad = lm.specials().pad();
        long[] ids = new long[b * s];
        long[] pidx = new long[b * s];
        float[] isPrompt = new float[b * s];
        long[] mask = new long[b * s];
        long[] decision = new long[b];
        Arrays.fill(ids, pad);
        for (int i = 0; i < b; i++) {
            Item it = part.get(i);
            int n = slots.get(it.slot()).tokens();
            long[] row = it.row().ids();
            for (int j = 0; j < n; j++) {
                pidx[i * s + j] = offset[it.slot()] + j;
                isPrompt[i * s + j] = 1f;
                mask[i * s + j] = 1;
            }
            for (int j = 0; j < row.length; j++) {
                ids[i * s + n + j] = row[j];
                mask[i * s + n + j] = 1;
            }
            decision[i] = (long) i * s + n + it.row().position();
        }
        try (NDManager m = parent.newSubManager()) {
            NDArray tok = lm.embed(Tensors.create(m, ids, new Shape(b, s)));               // [B, S, D]
            NDArray pr = Layers.embedding(Tensors.create(m, pidx, new Shape(b, s)), prompts); // [B, S, D]
            pr.attach(m);
            NDArray w = Tensors.create(m, isPrompt, new Shape(b, s, 1));                 // [B, S, 1]
            NDArray embeds = tok.add(pr.sub(tok).mul(w));                               // [B, S, D]
            NDArray msk = Tensors.create(m, mask, new Shape(b, s));                      // [B, S]
            forwardPasses.incrementAndGet();
            if (lm.kind() == LanguageModel.Kind.SEQ2SEQ) {
                NDArray enc = lm.forward(embeds, msk);                                   // [B, S, D]
                return ClassHeads.sequenceScores(lm, m, enc, msk, slots, part);
            }
            NDArray h = lm.forwardRows(embeds, msk, decision);                           // [B, D]
            return ClassHeads.labelProbabilities(lm, m, h, slots, part);
        }
    }

    /** The rows in groups of equal {@code key}, each group scored on its own; results in the rows' order. */
    private float[][] scoreGroups(NDManager parent, NDArray prompts, int[] offset, List<Slot> slots, List<Item> part,
            int[] key) {
        Map<Integer, List<Integer>> groups = new LinkedHashMap<>();
        for (int i = 0; i < part.size(); i++) {
            groups.computeIfAbsent(key[i], k -> new ArrayList<>()).add(i);
        }
        float[][] out = new float[part.size()][];
        for (List<Integer> at : groups.values()) {
            float[][] some = scoreBatch(parent, prompts, offset, slots, at.stream().map(part::get).toList());
            for (int k = 0; k < at.size(); k++) {
                out[at.get(k)] = some[k];
            }
        }
        return out;
    }

    /**
     * Rows of one prompt through its site's own forward: the tokens [B, T] (for T5 through the encoder with
     * the prompt's prefix in every layer's self-attention, then each row's classes scored by the decoder on
     * that output; else the hidden states at the decision positions).
     */
    private float[][] scoreOwn(NDManager parent, List<Slot> slots, List<Item> part) {
        Slot sl = slots.get(part.get(0).slot());
        int b = part.size();
        int t = part.stream().mapToInt(it -> Math.max(padTo, it.row().ids().length)).max().orElse(1);
        long[] ids = new long[b * t];
        long[] mask = new long[b * t];
        Arrays.fill(ids, lm.specials().pad());
        for (int i = 0; i < b; i++) {
            long[] row = part.get(i).row().ids();
            for (int j = 0; j < row.length; j++) {
                ids[i * t + j] = row[j];
                mask[i * t + j] = 1;
            }
        }
        try (NDManager m = parent.newSubManager()) {
            NDArray table = sl.site().tensor(m, lm, sl.values(), sl.tokens());              // [N, O]
            NDArray msk = Tensors.create(m, mask, new Shape(b, t));                         // [B, T]
            NDArray tok = Tensors.create(m, ids, new Shape(b, t));                          // [B, T]
            forwardPasses.incrementAndGet();
            if (lm.kind() != LanguageModel.Kind.SEQ2SEQ) {
                long[] at = part.stream().mapToLong(it -> it.row().position()).toArray();
                return ClassHeads.labelProbabilities(lm, m, sl.site().hiddenAt(lm, table, tok, msk, at), slots, part); // [B, D]
            }
            NDList enc = sl.site().run(lm, table, tok, msk);                                // [B, S, D], [B, S]
            return ClassHeads.sequenceScores(lm, m, enc.get(0), enc.get(1), slots, part);
        }
    }

    /**
     * Only the rows' tokens run, after their prompts' cached keys and values (and their task's shared
     * head): rows with one cache share it; other rows get their own, padded to the longest P (masked)
     * with each row's positions continuing from its own cached length. Tokens [B, T], key mask [B, P + T].
     */
    private float[][] scoreCached(NDManager parent, List<Slot> slots, List<Item> part) {
        int b = part.size();
        int[] skip = new int[b];
        List<KvCache> rowPrefix = new ArrayList<>(b);
        for (int i = 0; i < b; i++) {
            Slot slot = slots.get(part.get(i).slot());
            skip[i] = caches.shared(slot, part.get(i).row());
            rowPrefix.add(skip[i] > 0 ? caches.withHead(slot) : caches.prompt(slot));
        }
        boolean one = rowPrefix.stream().allMatch(c -> c == rowPrefix.get(0));
        int p = rowPrefix.stream().mapToInt(KvCache::length).max().orElse(0);
        boolean level = rowPrefix.stream().allMatch(c -> c.length() == p); // every row's tokens start at P
        int t = padTo;
        for (int i = 0; i < b; i++) {
            t = Math.max(t, Math.max(1, part.get(i).row().ids().length - skip[i]));
        }
        long[] ids = new long[b * t];
        Arrays.fill(ids, lm.specials().pad());
        long[] mask = new long[b * (p + t)];
        long[] decision = new long[b];
        for (int i = 0; i < b; i++) {
            long[] row = part.get(i).row().ids();
            System.arraycopy(row, skip[i], ids, i * t, row.length - skip[i]);
            Arrays.fill(mask, i * (p + t), i * (p + t) + rowPrefix.get(i).length(), 1L);      // its prompt's (and head's) positions
            Arrays.fill(mask, i * (p + t) + p, i * (p + t) + p + row.length - skip[i], 1L); // its tokens
            decision[i] = (long) i * t + part.get(i).row().position() - skip[i];
            headRows.addAndGet(skip[i] > 0 ? 1 : 0);
        }
        try (NDManager m = parent.newSubManager();
             KvCache cache = one ? rowPrefix.get(0).expand(m, b) : KvCache.stack(m, rowPrefix)) {
            // prompts entering above the bottom: the rows' states entering their layer, once per distinct row (kept by a
            // caching model) when every row's tokens start at P, else the frozen layers run with the bare layers' masks
            int first = level ? cache.firstFilled() : 0;
            NDArray tok = first == 0 ? lm.embed(Tensors.create(m, ids, new Shape(b, t)))          // [B, T, D]
                    : FrozenRows.entering(lm, m, ids, mask, b, p, t, first);
            NDArray keyMask = Tensors.create(m, mask, new Shape(b, p + t));                  // [B, P+T]
            forwardPasses.incrementAndGet();
            NDArray h = Layers.rows(lm.forward(tok, keyMask, cache, Span.from(first)), decision); // [B, D]
            return ClassHeads.labelProbabilities(lm, m, h, slots, part);
        }
    }
}
