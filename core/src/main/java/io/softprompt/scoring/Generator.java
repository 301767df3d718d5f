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
import io.softprompt.model.Prompted;
import io.softprompt.util.Tensors;
import io.softprompt.util.UserException;
import java.util.ArrayList;
import java.util.List;

/**
 * Greedy decoding with a soft prompt, for decoder LMs (the prompt, then the input, then generated
 * tokens) and encoder-decoders (the prompt in front of the encoder input; the decoder generates).
 * With the key/value cache each step feeds one token; without it each step recomputes the whole
 * sequence (kept as the reference the cached path is tested against). Stops at EOS or maxNew tokens.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): N prompt tokens, T input tokens, D hidden, V vocabulary, S = N + T.
 */
public final class Generator {
    private final LanguageModel lm;
    private final boolean useCache;

    public Generator(LanguageModel lm, boolean useCache) {
        if (lm.kind() == LanguageModel.Kind.MASKED) {
            throw new UserException(lm.modelType() + " is a masked LM: it classifies but does not generate text");
        }
        this.lm = lm;
        this.useCache = useCache;
    }

    /** Generated token ids (EOS excluded). prompt [N·D] row-major; input already framed by the encoder. */
    public long[] generate(float[] prompt, int n, long[] input, int maxNew) {
        try (NDManager m = NDManager.newBaseManager(lm.device())) {
            NDArray p = Tensors.create(m, prompt, new Shape(n, lm.hiddenSize()));                 // [N, D]
            return lm.kind() == LanguageModel.Kind.SEQ2SEQ ? seq2seq(m, p, input, maxNew) : decoder(m, p, input, maxNew);
        }
    }

    private long[] decoder(NDManager m, NDArray prompt, long[] input, int maxNew) {
        List<Long> out = new ArrayList<>();
        long eos = lm.specials().eos();
        try (KvCache cache = useCache ? new KvCache(m) : null) {
            for (int step = 0; step < maxNew; step++) {
                long next;
                try (NDManager s = m.newSubManager()) {
                    NDArray h;
                    if (cache != null && step > 0) {
                        NDArray e = lm.embed(Tensors.create(s, new long[] {out.get(out.size() - 1)}, new Shape(1, 1))); // [1, 1, D]
                        h = lm.forward(e, s.ones(new Shape(1, cache.length() + 1), DataType.INT64), cache);  // [1, 1, D]
                    } else {
                        long[] ids = concat(input, out);
                        NDArray idArr = Tensors.create(s, ids, new Shape(1, ids.length));
                        NDArray tokens = lm.embed(idArr);                                        // [1, T, D]
                        NDArray row = prompt.expandDims(0);                                      // [1, N, D]
                        row.attach(s);
                        NDArray embeds = NDArrays.concat(new NDList(row, tokens), 1);            // [1, S, D]
                        NDArray mask = s.ones(new Shape(1, embeds.getShape().get(1)), DataType.INT64);
                        h = lm.forward(embeds, mask, cache);                                     // [1, S, D]
                    }
                    next = argmaxLast(h);
                }
                if (next == eos) {
                    break;
                }
                out.add(next);
            }
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    private long[] seq2seq(NDManager m, NDArray prompt, long[] input, int maxNew) {
        List<Long> out = new ArrayList<>();
        long eos = lm.specials().eos();
        try (NDManager enc = m.newSubManager(); KvCache cache = useCache ? new KvCache(m) : null) {
            NDArray ids = Tensors.create(enc, input, new Shape(1, input.length));
            NDList encoded = Prompted.run(lm, prompt, ids, enc.ones(new Shape(1, input.length), DataType.INT64)); // [1, S, D]
            for (int step = 0; step < maxNew; step++) {
                long next;
                try (NDManager s = m.newSubManager()) {
                    long[] dec = cache != null
                            ? new long[] {step == 0 ? lm.specials().decoderStart() : out.get(out.size() - 1)}
                            : concat(new long[] {lm.specials().decoderStart()}, out);
                    NDArray h = lm.decode(Tensors.create(s, dec, new Shape(1, dec.length)), encoded.get(0), encoded.get(1), cache); // [1, R, D]
                    next = argmaxLast(h);
                }
                if (next == eos) {
                    break;
                }
                out.add(next);
            }
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    /** The most likely next token after the last position of h [1, L, D]. */
    private long argmaxLast(NDArray h) {
        long l = h.getShape().get(1);
        NDArray last = h.get(new NDIndex(":, " + (l - 1) + ", :"));                       // [1, D]
        return lm.logits(last).argMax(1).getLong(0);                                       // [1, V] → id
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
