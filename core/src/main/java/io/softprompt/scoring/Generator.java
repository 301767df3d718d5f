package io.softprompt.scoring;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.model.KvCache;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.PromptSite;
import io.softprompt.model.TextTokenizer;
import io.softprompt.util.Tensors;
import io.softprompt.util.UserException;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Text generation with a soft prompt, for decoder LMs (the prompt, then the input, then generated
 * tokens) and encoder-decoders (the prompt in front of the encoder input; the decoder generates),
 * greedy or sampled ({@link Decoding}). Rows of different prompts, inputs and settings are generated
 * together: with the key/value cache each row's prompt and input run once (decoders: one pass per row,
 * then the rows' caches stacked, each row at its own positions; encoder-decoders: each row encoded,
 * padded and masked), and every later step feeds one token per row in one batched pass. Without the
 * cache each step recomputes each row's whole sequence alone: the reference the cached path is tested
 * against. A row ends at end-of-sequence, after its token budget, or at one of its stop strings.
 *
 * <p>A deep prompt (PEFT's prefix table, {@link io.softprompt.model.DeepSite}) is its own cache: its rows start from it
 * and run only their tokens; it stacks with input prompts' caches like any other.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B rows, N prompt tokens, T input tokens, D hidden, V vocabulary,
 * S = N + T, P cached positions, L layers, Hkv key/value heads, K head size.
 */
public final class Generator {
    /**
     * One row to generate for.
     *
     * @param prompt the prompt [N·D] row-major
     * @param n its tokens N
     * @param input the input ids, already framed by the task's encoder
     * @param decoding how to generate
     * @param site where the prompt enters the model (a deep prompt: PEFT's prefix table [N·L·2·Hkv·K], decoder LMs)
     */
    public record Request(float[] prompt, int n, long[] input, Decoding decoding, PromptSite site) {
        /** An input prompt. */
        public Request(float[] prompt, int n, long[] input, Decoding decoding) {
            this(prompt, n, input, decoding, PromptSite.INPUT);
        }
    }

    /**
     * What a row generated.
     *
     * @param ids the generated token ids (end-of-sequence excluded)
     * @param text their text, cut before a stop string when one ended it
     * @param finish why it ended: {@code eos}, {@code stop} or {@code length}
     */
    public record Output(long[] ids, String text, String finish) {}

    private final LanguageModel lm;
    private final TextTokenizer tokenizer;
    private final boolean useCache;

    public Generator(LanguageModel lm, TextTokenizer tokenizer, boolean useCache) {
        if (lm.kind() == LanguageModel.Kind.MASKED) {
            throw new UserException(lm.modelType() + " is a masked LM: it classifies but does not generate text");
        }
        this.lm = lm;
        this.tokenizer = tokenizer;
        this.useCache = useCache;
    }

    /**
     * Refuses a request no row of any batch could run: a prompt site that does not generate on this
     * model, or a prompt and input that fill every position the model has (no room for one token).
     * Callers that batch requests of many clients (serve) call it as each request arrives, so that one
     * client's request fails alone.
     *
     * @param lm the model
     * @param r the request
     */
    public static void checkRoom(LanguageModel lm, Request r) {
        r.site().checkGenerates(lm, "a " + r.site().noun());
        if (room(lm, r) < 1) {
            throw new UserException("the prompt's " + r.n() + " tokens and an input of " + r.input().length + " tokens fill all "
                    + lm.maxPositions() + " positions of the model: no room to generate; shorten the input or lower "
                    + "{{max_length}}");
        }
    }

    /**
     * How many tokens a row may generate before it runs out of the model's positions (decoders: the
     * prompt, the input and the tokens generated share them; encoder-decoders: the decoder's own).
     */
    static long room(LanguageModel lm, Request r) {
        long used = lm.kind() == LanguageModel.Kind.SEQ2SEQ ? 1 : (long) r.n() + r.input().length;
        return lm.maxPositions() - used;
    }

    /** One row. */
    public Output generate(Request r) {
        return generate(List.of(r)).get(0);
    }

    /** Rows in one batch (see the class comment); outputs in the same order. */
    public List<Output> generate(List<Request> rows) {
        if (rows.isEmpty()) {
            return List.of();
        }
        List<Row> state = new ArrayList<>();
        for (Request r : rows) {
            checkRoom(lm, r);
            state.add(new Row(r));
        }
        try (NDManager m = NDManager.newBaseManager(lm.device())) {
            if (!useCache) {
                for (Row r : state) {
                    uncached(m, r);
                }
            } else if (lm.kind() == LanguageModel.Kind.SEQ2SEQ) {
                seq2seq(m, state);
            } else { // caches stack where prompts enter the same layer (above the bottom: with the same length too)
                Map<List<Integer>, List<Row>> groups = new LinkedHashMap<>();
                for (Row r : state) {
                    int first = r.req.site().firstLayer(lm);
                    groups.computeIfAbsent(List.of(first, first == 0 ? 0 : r.req.n()), k -> new ArrayList<>()).add(r);
                }
                groups.values().forEach(group -> decoder(m, group));
            }
        }
        return state.stream().map(Row::output).toList();
    }

    /** A row being generated: its request, random stream, tokens so far and whether it has ended. */
    private final class Row {
        final Request req;
        final SplittableRandom rng;
        final List<Long> out = new ArrayList<>();
        String text = "";
        String finish;

        /** The most tokens this row generates: its max_new_tokens, or fewer where the model's positions end. */
        final long budget;

        Row(Request req) {
            this.req = req;
            this.rng = new SplittableRandom(req.decoding().seed());
            this.budget = Math.min(req.decoding().maxNewTokens(), room(lm, req));
            if (budget <= 0) {
                finish = "length";
            }
        }

        boolean done() {
            return finish != null;
        }

        /** Takes the next token from logits [V]; ends the row at EOS, a stop string or its budget. */
        void next(float[] logits) {
            long t = Sampler.pick(logits, req.decoding(), rng);
            if (lm.specials().ends(t)) { // eos, or another end id the checkpoint names (end of turn)
                finish = "eos";
                return;
            }
            out.add(t);
            List<String> stops = req.decoding().stop();
            if (!stops.isEmpty()) {
                text = tokenizer.decode(ids());
                int cut = -1;
                for (String s : stops) {
                    int at = text.indexOf(s);
                    if (at >= 0 && (cut < 0 || at < cut)) {
                        cut = at;
                    }
                }
                if (cut >= 0) {
                    text = text.substring(0, cut);
                    finish = "stop";
                    return;
                }
            }
            if (out.size() >= budget) {
                finish = "length";
            }
        }

        /** The last token fed back (EOS for a row that has ended: its output is no longer read). */
        long last() {
            return done() || out.isEmpty() ? lm.specials().eos() : out.get(out.size() - 1);
        }

        long[] ids() {
            return out.stream().mapToLong(Long::longValue).toArray();
        }

        Output output() {
            return new Output(ids(), "stop".equals(finish) ? text : tokenizer.decode(ids()), finish);
        }
    }

    /** Decoder LMs: each row's prompt + input once (its own cache), the caches stacked, then one token per row per step. */
    private void decoder(NDManager m, List<Row> rows) {
        List<KvCache> own = new ArrayList<>();
        try (NDManager pre = m.newSubManager()) {
            for (Row r : rows) {
                PromptSite site = r.req.site();
                KvCache c = site.startCache(m, lm, r.req.prompt(), r.req.n()); // empty, or a deep prompt's own prefix
                own.add(c);
                long[] in = r.req.input();
                NDArray h = lm.forward(site.firstPass(pre, lm, r.req.prompt(), r.req.n(), in),
                        pre.ones(new Shape(1, r.req.n() + in.length), DataType.INT64), c);                 // [1, S, D]
                if (!r.done()) {
                    r.next(lastLogits(h)[0]);
                }
            }
        }
        List<Row> live = new ArrayList<>(rows);
        int[] lengths = own.stream().mapToInt(KvCache::length).toArray();
        try (KvCache cache = KvCache.stack(m, own)) {
            own.forEach(KvCache::close);
            int p = cache.length();
            for (int step = 1; ; step++) {
                // a finished row leaves the batch: it is no longer computed, and its positions stop where it ended,
                // so a batch-mate's long input never runs this row past the model's positions (nor the reverse)
                int[] keep = java.util.stream.IntStream.range(0, live.size()).filter(i -> !live.get(i).done()).toArray();
                if (keep.length == 0) {
                    break;
                }
                if (keep.length < live.size()) {
                    cache.keep(keep);
                    int[] kept = new int[keep.length];
                    List<Row> still = new ArrayList<>();
                    for (int i = 0; i < keep.length; i++) {
                        kept[i] = lengths[keep[i]];
                        still.add(live.get(keep[i]));
                    }
                    lengths = kept;
                    live.clear();
                    live.addAll(still);
                }
                int b = live.size();
                try (NDManager s = m.newSubManager()) {
                    long[] ids = new long[b];
                    long[] mask = new long[b * (p + step)];                              // [B, P + step]
                    for (int i = 0; i < b; i++) {
                        ids[i] = live.get(i).last();
                        for (int j = 0; j < p + step; j++) {
                            mask[i * (p + step) + j] = j < lengths[i] || j >= p ? 1 : 0; // a row's padding is masked
                        }
                    }
                    NDArray e = lm.embed(Tensors.create(s, ids, new Shape(b, 1)));                  // [B, 1, D]
                    NDArray h = lm.forward(e, Tensors.create(s, mask, new Shape(b, p + step)), cache); // [B, 1, D]
                    float[][] logits = lastLogits(h);
                    for (int i = 0; i < b; i++) {
                        live.get(i).next(logits[i]);
                    }
                }
            }
        }
    }

    /** Encoder-decoders: each row encoded with its prompt, padded to the longest and masked; the decoder steps batched. */
    private void seq2seq(NDManager m, List<Row> rows) {
        int b = rows.size();
        try (NDManager enc = m.newSubManager(); KvCache cache = new KvCache(m)) {
            List<NDList> encoded = new ArrayList<>();
            int longest = 0;
            for (Row r : rows) {
                NDArray p = r.req.site().tensor(enc, lm, r.req.prompt(), r.req.n());                    // [N, D]
                long[] in = r.req.input();
                NDList e = r.req.site().run(lm, p, Tensors.create(enc, in, new Shape(1, in.length)),
                        enc.ones(new Shape(1, in.length), DataType.INT64));                     // [1, S, D], [1, S]
                encoded.add(e);
                longest = Math.max(longest, (int) e.get(0).getShape().get(1));
            }
            NDList hs = new NDList();
            NDList masks = new NDList();
            for (NDList e : encoded) {
                long s = e.get(0).getShape().get(1);
                NDArray h = e.get(0);
                NDArray mask = e.get(1).toType(DataType.INT64, false);
                if (s < longest) {
                    h = NDArrays.concat(new NDList(h, enc.zeros(new Shape(1, longest - s, h.getShape().get(2)), h.getDataType())), 1);
                    mask = NDArrays.concat(new NDList(mask, enc.zeros(new Shape(1, longest - s), DataType.INT64)), 1);
                }
                hs.add(h);
                masks.add(mask);
            }
            NDArray hidden = NDArrays.concat(hs, 0);                                              // [B, S, D]
            NDArray mask = NDArrays.concat(masks, 0);                                             // [B, S]
            for (int step = 0; rows.stream().anyMatch(r -> !r.done()); step++) {
                try (NDManager s = m.newSubManager()) {
                    long[] ids = new long[b];
                    for (int i = 0; i < b; i++) {
                        ids[i] = step == 0 ? lm.specials().decoderStart() : rows.get(i).last();
                    }
                    NDArray h = lm.decode(Tensors.create(s, ids, new Shape(b, 1)), hidden, mask, cache); // [B, 1, D]
                    float[][] logits = lastLogits(h);
                    for (int i = 0; i < b; i++) {
                        if (!rows.get(i).done()) {
                            rows.get(i).next(logits[i]);
                        }
                    }
                }
            }
        }
    }

    /** One row without the cache: every step runs the whole sequence again (the reference). */
    private void uncached(NDManager m, Row r) {
        PromptSite site = r.req.site();
        NDArray p = site.tensor(m, lm, r.req.prompt(), r.req.n());                                      // [N, O]
        NDArray encoded = null;
        NDArray encMask = null;
        if (lm.kind() == LanguageModel.Kind.SEQ2SEQ) {
            long[] in = r.req.input();
            NDList e = site.run(lm, p, Tensors.create(m, in, new Shape(1, in.length)),
                    m.ones(new Shape(1, in.length), DataType.INT64));                              // [1, S, D], [1, S]
            encoded = e.get(0);
            encMask = e.get(1);
        }
        while (!r.done()) {
            try (NDManager s = m.newSubManager()) {
                NDArray h;
                if (encoded != null) {
                    long[] dec = concat(new long[] {lm.specials().decoderStart()}, r.out);
                    h = lm.decode(Tensors.create(s, dec, new Shape(1, dec.length)), encoded, encMask, null);     // [1, R, D]
                } else {
                    long[] ids = concat(r.req.input(), r.out);
                    h = site.hidden(lm, p, Tensors.create(s, ids, new Shape(1, ids.length)),
                            s.ones(new Shape(1, ids.length), DataType.INT64));                                  // [1, S, D]
                }
                r.next(lastLogits(h)[0]);
            }
        }
    }

    /** The logits after the last position of h [B, L, D], per row: [B][V]. */
    private float[][] lastLogits(NDArray h) {
        long l = h.getShape().get(1);
        NDArray last = h.get(new NDIndex(":, " + (l - 1) + ", :"));                       // [B, D]
        NDArray logits = lm.logits(last).toType(DataType.FLOAT32, false);                  // [B, V]
        int b = (int) logits.getShape().get(0);
        int v = (int) logits.getShape().get(1);
        float[] flat = logits.toFloatArray();
        float[][] out = new float[b][v];
        for (int i = 0; i < b; i++) {
            System.arraycopy(flat, i * v, out[i], 0, v);
        }
        return out;
    }

    private static long[] concat(long[] a, List<Long> b) {
        long[] out = new long[a.length + b.size()];
        System.arraycopy(a, 0, out, 0, a.length);
        for (int i = 0; i < b.size(); i++) {
            out[a.length + i] = b.get(i);
        }
        return out;
    }
}
