package io.softprompt.scoring;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.data.Encoder;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.util.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The training losses of several prompts from one forward pass: each prompt's rows are laid out as
 * they are alone, [prompt (N_k)][tokens][padding], and share the batch with the other prompts' rows;
 * each prompt's loss is the mean over its own rows (its own objective, label words, task kind), so
 * its gradient is the gradient of that loss alone: nothing in a prompt-tuning step depends on
 * another prompt except the batch it rides in.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): B rows of all parts, S = max over rows of N_k + T_i, D hidden,
 * A prompt rows of all parts (the prompt table), V vocabulary, C a part's classes, R decoder steps,
 * M a part's loss terms.
 *
 * <p>The embeddings are two gathers and a select (torch.where, exact): token embeddings [B, S, D] and
 * rows of the table of all parts' prompts [A, D], which is differentiable in every prompt.
 */
public final class PackedLoss {
    /**
     * One prompt's share of a pass: its trainable prompt [N, D], objective, label words, whether its
     * task is text-to-text, its rows (for text-to-text, inputs with their targets).
     */
    public record Part(NDArray prompt, Objective objective, Encoder.Labels labels, boolean textToText,
            List<Encoder.Encoded> rows) {}

    private PackedLoss() {}

    /** The parts' losses [] in part order, in m's scope. */
    public static List<NDArray> losses(LanguageModel lm, NDManager m, List<Part> parts) {
        boolean seq2seq = lm.kind() == LanguageModel.Kind.SEQ2SEQ;
        // what each row feeds the transformer: T5 encodes the input alone; decoders read text-to-text targets in line
        List<long[]> inputs = new ArrayList<>();
        List<Integer> partOf = new ArrayList<>();
        int[] offset = new int[parts.size()];
        int a = 0;
        for (int k = 0; k < parts.size(); k++) {
            offset[k] = a;
            a += (int) parts.get(k).prompt().getShape().get(0);
            for (Encoder.Encoded r : parts.get(k).rows()) {
                inputs.add(parts.get(k).textToText() && !seq2seq ? concat(r.ids(), r.target()) : r.ids());
                partOf.add(k);
            }
        }
        int b = inputs.size();
        int s = 0;
        for (int i = 0; i < b; i++) {
            s = Math.max(s, tokens(parts, partOf.get(i)) + inputs.get(i).length);
        }
        long pad = lm.specials().pad();
        long[] ids = new long[b * s];
        long[] pidx = new long[b * s];
        boolean[] isPrompt = new boolean[b * s];
        long[] mask = new long[b * s];
        Arrays.fill(ids, pad);
        for (int i = 0; i < b; i++) {
            int k = partOf.get(i);
            int n = tokens(parts, k);
            for (int j = 0; j < n; j++) {
                pidx[i * s + j] = offset[k] + j;
                isPrompt[i * s + j] = true;
                mask[i * s + j] = 1;
            }
            long[] row = inputs.get(i);
            for (int j = 0; j < row.length; j++) {
                ids[i * s + n + j] = row[j];
                mask[i * s + n + j] = 1;
            }
        }
        NDList prompts = new NDList();
        for (Part p : parts) {
            prompts.add(p.prompt());
        }
        NDArray table = parts.get(0).prompt();                                                       // [A, D]
        if (parts.size() > 1) {
            table = NDArrays.concat(prompts, 0);
            table.attach(m); // a temporary of this pass (the prompts themselves live on)
        }
        NDArray tok = lm.embed(Tensors.create(m, ids, new Shape(b, s)));                           // [B, S, D]
        NDArray pr = Layers.embedding(Tensors.create(m, pidx, new Shape(b, s)), table);              // [B, S, D]
        pr.attach(m);
        NDArray select = Tensors.create(m, toLong(isPrompt), new Shape(b, s, 1)).toType(DataType.BOOLEAN, false); // [B, S, 1]
        NDArray embeds = NDArrays.where(select.broadcast(b, s, lm.hiddenSize()), pr, tok);           // [B, S, D]
        NDArray keyMask = Tensors.create(m, mask, new Shape(b, s));                                  // [B, S]
        List<NDArray> out = new ArrayList<>(parts.size());
        if (seq2seq) {
            NDArray h = lm.forward(embeds, keyMask);                                                 // [B, S, D]
            int first = 0;
            for (Part p : parts) {
                out.add(decoderLoss(lm, m, p, h, keyMask, first, p.rows().size()));
                first += p.rows().size();
            }
            return out;
        }
        // decoder and masked LMs read each part's loss at a few rows: one forward for all of them (forwardRows)
        List<long[]> flats = new ArrayList<>();
        int first = 0;
        int total = 0;
        for (int k = 0; k < parts.size(); k++) {
            long[] flat = rowsOf(parts.get(k), s, tokens(parts, k), first);
            flats.add(flat);
            first += parts.get(k).rows().size();
            total += flat.length;
        }
        long[] all = new long[total];
        int at = 0;
        for (long[] f : flats) {
            System.arraycopy(f, 0, all, at, f.length);
            at += f.length;
        }
        NDArray h = lm.forwardRows(embeds, keyMask, all);                                             // [M, D]
        at = 0;
        for (int k = 0; k < parts.size(); k++) {
            int len = flats.get(k).length;
            NDArray mine = h.get(new NDIndex(at + ":" + (at + len)));                                   // [M_k, D]
            mine.attach(m);
            out.add(inLineLoss(lm, m, parts.get(k), mine));
            at += len;
        }
        return out;
    }

    /** The flat rows b·S + s a part's loss reads: its decision positions, or (text-to-text) the positions predicting its targets. */
    private static long[] rowsOf(Part p, int s, int n, int first) {
        int rows = p.rows().size();
        if (p.textToText()) {
            long[] flat = new long[p.rows().stream().mapToInt(r -> r.target().length).sum()];
            int t = 0;
            for (int i = 0; i < rows; i++) {
                Encoder.Encoded r = p.rows().get(i);
                for (int j = 0; j < r.target().length; j++) {
                    flat[t++] = (long) (first + i) * s + n + r.ids().length - 1 + j; // these logits predict target j
                }
            }
            return flat;
        }
        long[] flat = new long[rows];
        for (int i = 0; i < rows; i++) {
            flat[i] = (long) (first + i) * s + n + p.rows().get(i).position();
        }
        return flat;
    }

    /** Decoder and masked LMs: the loss read at the part's rows of the final hidden states, at [M_k, D] (see rowsOf). */
    private static NDArray inLineLoss(LanguageModel lm, NDManager m, Part p, NDArray at) {
        if (p.textToText()) {
            long[] targets = p.rows().stream().flatMapToLong(r -> Arrays.stream(r.target())).toArray();
            return Objective.crossEntropy(lm.logits(at), Tensors.create(m, targets));                  // [M, V]
        }
        long[] classes = p.rows().stream().mapToLong(Encoder.Encoded::label).toArray();
        return switch (p.objective()) {
            case VERBALIZER -> Objective.crossEntropy(lm.logits(at, Tensors.create(m, p.labels().first())),
                    Tensors.create(m, classes));                                                     // [B_k, C]
            case LM -> Objective.crossEntropy(lm.logits(at), Tensors.create(m, Objective.pick(p.labels().first(), classes))); // [B_k, V]
        };
    }

    /** Encoder-decoders: the part's rows of the encoder output feed the decoder, teacher-forced on their targets. */
    private static NDArray decoderLoss(LanguageModel lm, NDManager m, Part p, NDArray enc, NDArray keyMask, int first,
            int rows) {
        long[] pick = new long[rows];
        for (int i = 0; i < rows; i++) {
            pick[i] = first + i;
        }
        Shape es = enc.getShape();
        NDArray index = Tensors.create(m, pick);                                                     // [B_k]
        NDArray encK = Layers.embedding(index, enc.reshape(es.get(0), -1)).reshape(rows, es.get(1), es.get(2)); // [B_k, S, D]
        NDArray maskK = Layers.embedding(index, keyMask.toType(DataType.FLOAT32, false)).toType(DataType.INT64, false); // [B_k, S]
        if (!p.textToText() && p.objective() == Objective.VERBALIZER) {
            long[] start = new long[rows];
            long[] classes = new long[rows];
            Arrays.fill(start, lm.specials().decoderStart());
            for (int i = 0; i < rows; i++) {
                classes[i] = p.rows().get(i).label();
            }
            NDArray hd = lm.decode(Tensors.create(m, start, new Shape(rows, 1)), encK, maskK);       // [B_k, 1, D]
            return Objective.crossEntropy(lm.logits(hd.reshape(rows, -1), Tensors.create(m, p.labels().first())),
                    Tensors.create(m, classes));                                                     // [B_k, C]
        }
        List<long[]> targets = new ArrayList<>(rows);
        for (Encoder.Encoded r : p.rows()) {
            targets.add(p.textToText() ? r.target() : p.labels().sequences()[r.label()]);
        }
        Objective.Teacher t = Objective.Teacher.of(targets, lm.specials().decoderStart(), lm.specials().pad());
        NDArray hd = lm.decode(Tensors.create(m, t.inputs(), new Shape(rows, t.steps())), encK, maskK);   // [B_k, R, D]
        return Objective.crossEntropy(lm.logits(Layers.rows(hd, t.flat())), Tensors.create(m, t.targets())); // [M, V]
    }

    private static int tokens(List<Part> parts, int k) {
        return (int) parts.get(k).prompt().getShape().get(0);
    }

    /** How many loss terms a part's rows make (rows; target tokens for sequence losses): micro-batches are weighted by it. */
    public static int terms(LanguageModel lm, Objective objective, Encoder.Labels labels, boolean textToText,
            List<Encoder.Encoded> rows) {
        if (textToText) {
            return rows.stream().mapToInt(r -> r.target().length).sum();
        }
        if (lm.kind() == LanguageModel.Kind.SEQ2SEQ && objective == Objective.LM) {
            return rows.stream().mapToInt(r -> labels.sequences()[r.label()].length).sum();
        }
        return rows.size();
    }

    private static long[] concat(long[] a, long[] b) {
        long[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static long[] toLong(boolean[] v) {
        long[] out = new long[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i] ? 1 : 0;
        }
        return out;
    }
}
