package io.softprompt.scoring;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.softprompt.data.Encoder;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.model.PromptSite;
import io.softprompt.util.Tensors;
import io.softprompt.util.UserException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What training minimises. For decoder and masked LMs it is read at one decision position per example
 * (the last real token, or the mask); for encoder-decoders at the decoder's steps.
 *
 * <ul>
 *   <li>{@code verbalizer} (default): cross-entropy over the C label tokens only: logits [B, C] from
 *       C rows of the LM head, at the decision position (T5: decoder step 0).
 *   <li>{@code lm}: full-vocabulary cross-entropy [B, V] of the label token at that position: the loss
 *       a PEFT user gets from {@code labels=}. For T5 it is Lester et al.'s text-to-text loss: the mean
 *       cross-entropy over the target's tokens (label word, then EOS).
 * </ul>
 *
 * <p>A label word that tokenizes into several pieces is scored by its first piece at the decision
 * position (decoder and masked LMs); T5's text-to-text loss uses every piece. Tasks whose label words
 * share a first piece are refused when loaded.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B rows, T tokens, S positions (N + T), D hidden, V vocabulary, C classes, R decoder steps, M selected rows.
 */
public enum Objective {
    VERBALIZER,
    LM;

    public static Objective parse(String s) {
        if (s == null) {
            throw new UserException("{{objective}}: no value (expected verbalizer or lm)");
        }
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UserException("{{objective}}: unknown value " + UserException.quote(s) + " (expected verbalizer or lm)");
        }
    }

    /**
     * Mean loss over the batch of an input prompt [N, D] or [B, N, D]; ids, mask [B, T]; positions [B] on
     * the token axis; classes [B] class indices; labels the label words' tokens.
     */
    public NDArray loss(LanguageModel lm, NDArray prompt, NDArray ids, NDArray mask, long[] positions,
            long[] classes, Encoder.Labels labels) {
        return loss(lm, prompt, PromptSite.INPUT, ids, mask, positions, classes, labels);
    }

    /** As above, for a prompt at {@code site} (a deep prompt: PEFT's prefix table [N, L·2·Hkv·K] as every layer's prefix). */
    public NDArray loss(LanguageModel lm, NDArray prompt, PromptSite site, NDArray ids, NDArray mask, long[] positions,
            long[] classes, Encoder.Labels labels) {
        NDManager m = ids.getManager();
        if (lm.kind() != LanguageModel.Kind.SEQ2SEQ) {
            NDArray h = site.hiddenAt(lm, prompt, ids, mask, positions);  // [B, D]
            return switch (this) {
                case VERBALIZER -> crossEntropy(lm.logits(h, Tensors.create(m, labels.first())), Tensors.create(m, classes)); // [B, C]
                case LM -> crossEntropy(lm.logits(h), Tensors.create(m, pick(labels.first(), classes)));          // [B, V]
            };
        }
        NDList enc = site.run(lm, prompt, ids, mask);                      // [B, S, D], [B, S]
        int b = classes.length;
        if (this == VERBALIZER) {
            long[] start = new long[b];
            Arrays.fill(start, lm.specials().decoderStart());
            NDArray h = lm.decode(Tensors.create(m, start, new Shape(b, 1)), enc.get(0), enc.get(1)); // [B, 1, D]
            return crossEntropy(lm.logits(h.reshape(b, -1), Tensors.create(m, labels.first())), Tensors.create(m, classes));
        }
        List<long[]> targets = new ArrayList<>();
        for (long c : classes) {
            targets.add(labels.sequences()[(int) c]);
        }
        Teacher t = Teacher.of(targets, lm.specials().decoderStart(), lm.specials().pad());
        NDArray h = lm.decode(Tensors.create(m, t.inputs(), new Shape(b, t.steps())), enc.get(0), enc.get(1)); // [B, R, D]
        NDArray rows = Layers.rows(h, t.flat());                                  // [M, D]
        return crossEntropy(lm.logits(rows), Tensors.create(m, t.targets()));     // [M, V]
    }

    /**
     * Text-to-text loss of an input prompt: the mean cross-entropy over every row's target tokens (then
     * EOS), full vocabulary. Decoder LMs read the target after the input ([prompt][input][target]); T5
     * decodes it from the encoded [prompt][input].
     */
    public static NDArray sequenceLoss(LanguageModel lm, NDArray prompt, NDManager m, List<Encoder.Encoded> rows,
            int padTo) {
        return sequenceLoss(lm, prompt, PromptSite.INPUT, m, rows, padTo);
    }

    /**
     * As {@link #sequenceLoss(LanguageModel, NDArray, NDManager, List, int)}, the prompt at {@code site}: a
     * deep prompt (decoder LMs) is the prefix of every layer and the rows' tokens run alone, [input][target].
     */
    public static NDArray sequenceLoss(LanguageModel lm, NDArray prompt, PromptSite site, NDManager m, List<Encoder.Encoded> rows,
            int padTo) {
        site.checkGenerates(lm, "a " + site.noun());
        long pad = lm.specials().pad();
        if (lm.kind() == LanguageModel.Kind.SEQ2SEQ) {
            Encoder.Batch b = Encoder.batch(rows, padTo, pad);
            NDArray ids = Tensors.create(m, b.ids(), new Shape(b.size(), b.length()));         // [B, T]
            NDArray mask = Tensors.create(m, b.mask(), new Shape(b.size(), b.length()));       // [B, T]
            NDList enc = site.run(lm, prompt, ids, mask);                             // [B, S, D], [B, S]
            Teacher t = Teacher.of(rows.stream().map(Encoder.Encoded::target).toList(), lm.specials().decoderStart(), pad);
            NDArray h = lm.decode(Tensors.create(m, t.inputs(), new Shape(b.size(), t.steps())), enc.get(0), enc.get(1)); // [B, R, D]
            return crossEntropy(lm.logits(Layers.rows(h, t.flat())), Tensors.create(m, t.targets())); // [M, V]
        }
        List<Encoder.Encoded> joined = new ArrayList<>();
        for (Encoder.Encoded r : rows) {
            long[] all = Arrays.copyOf(r.ids(), r.ids().length + r.target().length);
            System.arraycopy(r.target(), 0, all, r.ids().length, r.target().length);
            joined.add(new Encoder.Encoded(all, -1));
        }
        Encoder.Batch b = Encoder.batch(joined, padTo, pad);
        NDArray ids = Tensors.create(m, b.ids(), new Shape(b.size(), b.length()));             // [B, T]
        NDArray mask = Tensors.create(m, b.mask(), new Shape(b.size(), b.length()));           // [B, T]
        NDArray h = site.hidden(lm, prompt, ids, mask);                               // [B, S, D]
        long s = h.getShape().get(1);
        long n = s - b.length();
        int total = rows.stream().mapToInt(r -> r.target().length).sum();
        long[] flat = new long[total];
        long[] targets = new long[total];
        int k = 0;
        for (int i = 0; i < rows.size(); i++) {
            long[] tgt = rows.get(i).target();
            int inputLen = rows.get(i).ids().length;
            for (int j = 0; j < tgt.length; j++) {
                flat[k] = i * s + n + inputLen - 1 + j;   // the logits at this position predict target j
                targets[k++] = tgt[j];
            }
        }
        return crossEntropy(lm.logits(Layers.rows(h, flat)), Tensors.create(m, targets)); // [M, V]
    }

    /** Mean cross-entropy of logits [B, C] against targets [B] (class indices). */
    public static NDArray crossEntropy(NDArray logits, NDArray targets) {
        NDArray logp = logits.logSoftmax(1);                              // [B, C]
        NDArray picked = logp.gather(targets.reshape(-1, 1), 1);          // [B, 1]
        return picked.neg().mean();                                       // []
    }

    static long[] pick(long[] byClass, long[] classes) {
        long[] out = new long[classes.length];
        for (int i = 0; i < classes.length; i++) {
            out[i] = byClass[(int) classes[i]];
        }
        return out;
    }

    /**
     * Teacher forcing for a decoder: inputs [B, R] are each target shifted right behind the start token
     * (padded), and the M real (row, step) pairs with their target ids.
     */
    public record Teacher(long[] inputs, int steps, long[] flat, long[] targets) {
        public static Teacher of(List<long[]> seqs, long start, long pad) {
            int r = seqs.stream().mapToInt(a -> a.length).max().orElse(1);
            int b = seqs.size();
            long[] in = new long[b * r];
            Arrays.fill(in, pad);
            int m = seqs.stream().mapToInt(a -> a.length).sum();
            long[] flat = new long[m];
            long[] tgt = new long[m];
            int k = 0;
            for (int i = 0; i < b; i++) {
                long[] s = seqs.get(i);
                in[i * r] = start;
                for (int j = 0; j < s.length; j++) {
                    if (j + 1 < r && j + 1 < s.length) {
                        in[i * r + j + 1] = s[j];
                    }
                    flat[k] = (long) i * r + j;
                    tgt[k++] = s[j];
                }
            }
            return new Teacher(in, r, flat, tgt);
        }
    }
}
