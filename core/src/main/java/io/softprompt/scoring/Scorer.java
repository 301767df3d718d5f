package io.softprompt.scoring;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.data.Encoder;
import io.softprompt.model.DeepPrefix;
import io.softprompt.model.KvCache;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.model.Prompted;
import io.softprompt.util.Tensors;
import io.softprompt.util.UserException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToIntFunction;

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
     * A prompt: values row-major, N, the label tokens of its task, and whether it is a deep prompt
     * (values [N·L·2·Hkv·K], PEFT's prefix table, {@link DeepPrefix}) rather than an input prompt
     * (values [N·D]). Compared by identity of its arrays.
     */
    public record Slot(float[] values, int tokens, Encoder.Labels labels, boolean deep) {
        /** An input prompt. */
        public Slot(float[] values, int tokens, Encoder.Labels labels) {
            this(values, tokens, labels, false);
        }
    }

    /** One row to score: which slot's prompt it carries, and its encoded input. */
    public record Item(int slot, Encoder.Encoded row) {}

    private final LanguageModel lm;
    private final AtomicLong forwardPasses = new AtomicLong();
    private final boolean prefixCache;
    private final int padTo;
    private final NDManager cacheManager;
    private final Map<Slot, KvCache> prefixes = new ConcurrentHashMap<>();
    private final Queue<Slot> forgotten = new ConcurrentLinkedQueue<>();

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
        this.cacheManager = lm.kind() != LanguageModel.Kind.SEQ2SEQ ? NDManager.newBaseManager(lm.device()) : null;
    }

    public boolean cached() {
        return prefixCache;
    }

    /**
     * Drops a prompt's cached keys and values (the prompt was replaced or removed). Safe from any
     * thread: the cache is closed by the scoring thread, before or after a batch, never during one.
     */
    public void forget(Slot slot) {
        if (prefixCache || slot.deep()) {
            forgotten.add(slot);
        }
    }

    private void dropForgotten() {
        for (Slot s; (s = forgotten.poll()) != null; ) {
            KvCache c = prefixes.remove(s);
            if (c != null) {
                c.close();
            }
        }
    }

    @Override
    public void close() {
        prefixes.values().forEach(KvCache::close);
        prefixes.clear();
        if (cacheManager != null) {
            cacheManager.close();
        }
    }

    /** Forward passes of the transformer so far (one per batch). */
    public long forwardPasses() {
        return forwardPasses.get();
    }

    /**
     * Batches of item indices for this scorer, cut at {@code batchSize} rows or when B × S would pass
     * {@code tokenBudget} (0: no budget), items sorted so that padding stays small. The order follows
     * how a batch is laid out. With the prefix cache a batch is [the longest prompt's cache][the longest
     * text]: the prompt positions only take part in attention, so items are sorted by text length T
     * alone and rows of N 10, 20 and 30 share a pass (scripts/bench-prompts.sh, 64 input prompts of N
     * 10/20/30: 0.62× one prompt's rows/s sorted by N + T, 0.77× by N then T, by T alone in the line
     * docs/bench-prompts.md gives). Without it each row is [its prompt][its text] padded to the longest
     * N + T, so items are sorted by N + T. The only length bucketer: every scoring path batches this way.
     */
    public List<int[]> batches(List<Slot> slots, List<Item> items, int batchSize, int tokenBudget) {
        return buckets(slots, items, batchSize, tokenBudget, prefixCache);
    }

    /** As {@link #batches}: {@code cached} says the batch is laid out as [prompt cache][text]. */
    static List<int[]> buckets(List<Slot> slots, List<Item> items, int batchSize, int tokenBudget, boolean cached) {
        Integer[] order = new Integer[items.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Comparator<Integer> byLength = cached
                ? Comparator.comparingInt((Integer i) -> items.get(i).row().ids().length)
                        .thenComparingInt(i -> slots.get(items.get(i).slot()).tokens())
                : Comparator.comparingInt((Integer i) -> length(slots, items.get(i)));
        Arrays.sort(order, byLength.thenComparingInt(i -> i));
        List<int[]> out = new ArrayList<>();
        List<Integer> cur = new ArrayList<>();
        int longestN = 0;
        int longestT = 0;
        int longest = 0;
        for (int i : order) {
            int n = slots.get(items.get(i).slot()).tokens();
            int t = items.get(i).row().ids().length;
            // S of the batch with this item in it: [longest N][longest T] cached, the longest N + T inline
            int s = cached ? Math.max(longestN, n) + Math.max(longestT, t) : Math.max(longest, n + t);
            if (!cur.isEmpty() && (cur.size() == batchSize || (tokenBudget > 0 && (long) s * (cur.size() + 1) > tokenBudget))) {
                out.add(cur.stream().mapToInt(Integer::intValue).toArray());
                cur.clear();
                longestN = 0;
                longestT = 0;
                longest = 0;
            }
            cur.add(i);
            longestN = Math.max(longestN, n);
            longestT = Math.max(longestT, t);
            longest = Math.max(longest, n + t);
        }
        if (!cur.isEmpty()) {
            out.add(cur.stream().mapToInt(Integer::intValue).toArray());
        }
        return out;
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

    private static int length(List<Slot> slots, Item it) {
        return slots.get(it.slot()).tokens() + it.row().ids().length;
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
        for (int k = 0; k < slots.size(); k++) { // input prompts only: a deep prompt always runs as a cache
            offset[k] = total;
            total += slots.get(k).deep() ? 0 : slots.get(k).tokens();
        }
        float[] table = new float[Math.max(1, total) * d];
        for (int k = 0; k < slots.size(); k++) {
            if (!slots.get(k).deep()) {
                System.arraycopy(slots.get(k).values(), 0, table, offset[k] * d, slots.get(k).tokens() * d);
            }
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

    private float[][] scoreBatch(NDManager parent, NDArray prompts, int[] offset, List<Slot> slots, List<Item> part) {
        boolean anyDeep = part.stream().anyMatch(it -> slots.get(it.slot()).deep());
        if (anyDeep && lm.kind() == LanguageModel.Kind.SEQ2SEQ) {
            // the prefix sits in the encoder: each deep prompt's rows take an encoder pass of their own, input rows theirs
            int s0 = part.get(0).slot();
            if (part.stream().allMatch(it -> it.slot() == s0)) {
                return scoreDeepEncoder(parent, slots, part);
            }
            return scoreGroups(parent, prompts, offset, slots, part, it -> slots.get(it.slot()).deep() ? it.slot() : -1);
        }
        if (anyDeep && lm.kind() != LanguageModel.Kind.DECODER && !part.stream().allMatch(it -> slots.get(it.slot()).deep())) {
            // attention both ways: an input prompt's keys depend on the tokens, so only deep rows run as caches
            return scoreGroups(parent, prompts, offset, slots, part, it -> slots.get(it.slot()).deep() ? 1 : 0);
        }
        if (prefixCache || anyDeep) {
            return scoreCached(parent, slots, part);
        }
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
                return sequenceScores(m, enc, msk, slots, part);
            }
            NDArray h = lm.forwardRows(embeds, msk, decision);                           // [B, D]
            return labelProbabilities(m, h, slots, part);
        }
    }

    /** The rows in groups of equal {@code key}, each group scored on its own; results in the rows' order. */
    private float[][] scoreGroups(NDManager parent, NDArray prompts, int[] offset, List<Slot> slots, List<Item> part,
            ToIntFunction<Item> key) {
        Map<Integer, List<Integer>> groups = new LinkedHashMap<>();
        for (int i = 0; i < part.size(); i++) {
            groups.computeIfAbsent(key.applyAsInt(part.get(i)), k -> new ArrayList<>()).add(i);
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
     * T5 rows of one deep prompt: the tokens [B, T] through the encoder with the prompt's prefix in every
     * layer's self-attention, then each row's classes scored by the decoder on that output.
     */
    private float[][] scoreDeepEncoder(NDManager parent, List<Slot> slots, List<Item> part) {
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
            NDArray table = DeepPrefix.table(m, lm, sl.values(), sl.tokens());              // [N, L·2·Hkv·K]
            NDArray msk = Tensors.create(m, mask, new Shape(b, t));                         // [B, T]
            NDArray enc = DeepPrefix.hidden(lm, table, lm.embed(Tensors.create(m, ids, new Shape(b, t))), msk); // [B, T, D]
            forwardPasses.incrementAndGet();
            return sequenceScores(m, enc, msk, slots, part);
        }
    }

    /**
     * The prompt's keys and values at every layer, B = 1, computed on first use and kept: an input
     * prompt run through the model, a deep prompt's table laid out as its cache.
     */
    private KvCache prefix(Slot slot) {
        return prefixes.computeIfAbsent(slot, sl -> {
            if (sl.deep()) {
                DeepPrefix.check(lm);
                // the cache keeps views of the table: closing the table's own handle leaves their storage
                try (NDManager m = cacheManager.newSubManager()) {
                    return DeepPrefix.cache(cacheManager, lm, DeepPrefix.table(m, lm, sl.values(), sl.tokens()), 1);
                }
            }
            KvCache c = new KvCache(cacheManager);
            try (NDManager m = cacheManager.newSubManager()) {
                NDArray p = Tensors.create(m, sl.values(), new Shape(1, sl.tokens(), lm.hiddenSize())); // [1, N, D]
                lm.forward(p, m.ones(new Shape(1, sl.tokens()), DataType.INT64), c);
            }
            return c;
        });
    }

    /**
     * Only the rows' tokens run, after their prompts' cached keys and values: one prompt's rows share
     * its cache; rows of different prompts get their own, padded to the longest prompt P (masked)
     * with each row's positions continuing from its own N_i. Tokens [B, T], key mask [B, P + T].
     */
    private float[][] scoreCached(NDManager parent, List<Slot> slots, List<Item> part) {
        int b = part.size();
        boolean one = part.stream().allMatch(it -> it.slot() == part.get(0).slot());
        int p = part.stream().mapToInt(it -> slots.get(it.slot()).tokens()).max().orElse(0);
        int t = Math.max(padTo, part.stream().mapToInt(it -> it.row().ids().length).max().orElse(1));
        long[] ids = new long[b * t];
        Arrays.fill(ids, lm.specials().pad());
        long[] mask = new long[b * (p + t)];
        long[] decision = new long[b];
        List<KvCache> rowPrefix = new ArrayList<>(b);
        for (int i = 0; i < b; i++) {
            Slot slot = slots.get(part.get(i).slot());
            long[] row = part.get(i).row().ids();
            System.arraycopy(row, 0, ids, i * t, row.length);
            Arrays.fill(mask, i * (p + t), i * (p + t) + slot.tokens(), 1L);             // its prompt's positions
            Arrays.fill(mask, i * (p + t) + p, i * (p + t) + p + row.length, 1L);       // its tokens
            decision[i] = (long) i * t + part.get(i).row().position();
            rowPrefix.add(prefix(slot));
        }
        try (NDManager m = parent.newSubManager();
             KvCache cache = one ? rowPrefix.get(0).expand(m, b) : KvCache.stack(m, rowPrefix)) {
            NDArray tok = lm.embed(Tensors.create(m, ids, new Shape(b, t)));                 // [B, T, D]
            NDArray keyMask = Tensors.create(m, mask, new Shape(b, p + t));                  // [B, P+T]
            forwardPasses.incrementAndGet();
            NDArray h = Prompted.rows(lm.forward(tok, keyMask, cache), decision);            // [B, D]
            return labelProbabilities(m, h, slots, part);
        }
    }

    /** Softmax over each row's own label tokens, from one product with the batch's distinct label rows [U, D]. */
    private float[][] labelProbabilities(NDManager m, NDArray h, List<Slot> slots, List<Item> part) {
        Map<Long, Integer> column = new LinkedHashMap<>();
        for (Item it : part) {
            for (long tk : slots.get(it.slot()).labels().first()) {
                column.putIfAbsent(tk, column.size());
            }
        }
        long[] union = column.keySet().stream().mapToLong(Long::longValue).toArray();
        float[] logits = lm.logits(h, Tensors.create(m, union)).toFloatArray();           // [B, U]
        float[][] out = new float[part.size()][];
        for (int i = 0; i < part.size(); i++) {
            long[] first = slots.get(part.get(i).slot()).labels().first();
            float[] l = new float[first.length];
            for (int c = 0; c < first.length; c++) {
                l[c] = logits[i * union.length + column.get(first[c])];
            }
            out[i] = softmax(l);
        }
        return out;
    }

    /** Encoder-decoder: log p(target_c | input) for each row's own classes, all (row, class) pairs decoded at once. */
    private float[][] sequenceScores(NDManager m, NDArray enc, NDArray mask, List<Slot> slots, List<Item> part) {
        int b = part.size();
        List<long[]> targets = new ArrayList<>();
        List<Long> rowOf = new ArrayList<>();
        int[] first = new int[b];
        for (int i = 0; i < b; i++) {
            first[i] = targets.size();
            for (long[] seq : slots.get(part.get(i).slot()).labels().sequences()) {
                targets.add(seq);
                rowOf.add((long) i);
            }
        }
        int pairs = targets.size();
        Shape es = enc.getShape();
        NDArray pick = Tensors.create(m, rowOf.stream().mapToLong(Long::longValue).toArray());   // [M]
        NDArray encRep = Layers.embedding(pick, enc.reshape(b, -1)).reshape(pairs, es.get(1), es.get(2)); // [M, S, D]
        NDArray maskRep = Layers.embedding(pick, mask.toType(DataType.FLOAT32, false)).toType(DataType.INT64, false); // [M, S]
        Objective.Teacher t = Objective.Teacher.of(targets, lm.specials().decoderStart(), lm.specials().pad());
        NDArray h = lm.decode(Tensors.create(m, t.inputs(), new Shape(pairs, t.steps())), encRep, maskRep); // [M, R, D]
        NDArray logp = lm.logits(Prompted.rows(h, t.flat())).logSoftmax(1);              // [M_t, V]
        NDArray tok = logp.gather(Tensors.create(m, t.targets()).reshape(-1, 1), 1).reshape(-1); // [M_t]
        float[] lp = tok.toFloatArray();
        float[] sums = new float[pairs];
        for (int j = 0; j < t.flat().length; j++) {
            sums[(int) (t.flat()[j] / t.steps())] += lp[j];
        }
        float[][] out = new float[b][];
        for (int i = 0; i < b; i++) {
            int c = slots.get(part.get(i).slot()).labels().sequences().length;
            out[i] = softmax(Arrays.copyOfRange(sums, first[i], first[i] + c));
        }
        return out;
    }

    static float[] softmax(float[] l) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : l) {
            max = Math.max(max, v);
        }
        double sum = 0;
        double[] e = new double[l.length];
        for (int i = 0; i < l.length; i++) {
            e[i] = Math.exp(l[i] - max);
            sum += e[i];
        }
        float[] p = new float[l.length];
        for (int i = 0; i < l.length; i++) {
            p[i] = (float) (e[i] / sum);
        }
        return p;
    }

}
