package io.softprompt.data;

import io.softprompt.model.ChatTemplate;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Specials;
import io.softprompt.model.TextTokenizer;
import io.softprompt.util.UserException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Turns examples into token ids with the task's template, framed as the model expects, and batches
 * them with right padding.
 *
 * <ul>
 *   <li>decoder LMs: [BOS when the tokenizer or config asks for it] template; the decision is read at
 *       the last token.
 *   <li>masked LMs: [CLS] template [SEP], where the template's {@code {mask}} (appended as
 *       " {mask}." when the template has none) becomes the mask token; the decision is read there.
 *   <li>encoder-decoders: template [EOS]; the decoder produces the label word then EOS.
 * </ul>
 *
 * <p>A chat task ({@link Task#chatFramed()}) is framed by the model's chat template instead ({@link ChatFrame}):
 * the rendered conversation around the text, no special ids added.
 *
 * <p>Truncation keeps the template's tail (the words right before the decision, e.g. "It was"):
 * when the framed input exceeds {@code maxLength} tokens, the text is cut from its end.
 */
public final class Encoder {
    /**
     * One encoded example: token ids (no padding), class index (-1 when unknown), decision index in ids,
     * and for text-to-text tasks the target's tokens followed by EOS (else null).
     */
    public record Encoded(long[] ids, int label, int position, long[] target) implements Serializable {
        private static final long serialVersionUID = 1L;

        /** An input whose decision is read at its last token. */
        public Encoded(long[] ids, int label) {
            this(ids, label, ids.length - 1, null);
        }

        public Encoded(long[] ids, int label, int position) {
            this(ids, label, position, null);
        }
    }

    /**
     * The label words as token ids: the first token of each (what is read at the decision position) and
     * each whole word (for encoder-decoders, followed by EOS: the decoder's target).
     */
    public record Labels(long[] first, long[][] sequences) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /**
     * A padded batch. ids and mask are [B, T] row-major; positions [B] is each row's decision position
     * (its last real token); classes [B].
     */
    public record Batch(long[] ids, long[] mask, int size, int length, long[] positions, long[] classes) {}

    private final TextTokenizer tokenizer;
    private final Task task;
    private final int maxLength;
    private final LanguageModel.Kind kind;
    private final Specials specials;
    private final String prefix;
    private final String suffix;
    /** The special ids around the framed text: the model's (BOS, CLS ... SEP, EOS), none in a chat (the template has them). */
    private final long[] head;
    private final long[] tail;
    private final long[] suffixIds;
    private final Labels labels;
    private final Map<String, long[]> cache = new HashMap<>();

    /** An encoder framing inputs for the given model. */
    public Encoder(TextTokenizer tokenizer, Task task, int maxLength, LanguageModel lm) {
        this(tokenizer, task, maxLength, lm.kind(), lm.specials());
    }

    /**
     * An encoder for the given model, framing a chat task's rows by the model's chat template.
     *
     * @param tokenizer the model's tokenizer
     * @param task the task
     * @param maxLength the longest input in tokens
     * @param lm the model
     * @param chat the model's chat template (null when it has none), asked for only by a chat task
     */
    public Encoder(TextTokenizer tokenizer, Task task, int maxLength, LanguageModel lm, Supplier<ChatTemplate> chat) {
        this(tokenizer, task, maxLength, lm.kind(), lm.specials(), task.chatFramed() ? chat.get() : null);
    }

    /**
     * Refuses, in one line, a task this model cannot frame (a chat without a template, a chat on a
     * model that does not chat, label words that collide), before anything is trained or written.
     *
     * @param tokenizer the model's tokenizer
     * @param task the task
     * @param lm the model
     * @param chat the model's chat template (null when it has none), asked for only by a chat task
     */
    public static void check(TextTokenizer tokenizer, Task task, LanguageModel lm, Supplier<ChatTemplate> chat) {
        new Encoder(tokenizer, task, Integer.MAX_VALUE / 2, lm, chat);
    }

    public Encoder(TextTokenizer tokenizer, Task task, int maxLength, LanguageModel.Kind kind, Specials specials) {
        this(tokenizer, task, maxLength, kind, specials, null);
    }

    public Encoder(TextTokenizer tokenizer, Task task, int maxLength, LanguageModel.Kind kind, Specials specials,
            ChatTemplate chat) {
        this.tokenizer = tokenizer;
        this.task = task;
        this.maxLength = maxLength;
        this.kind = kind;
        this.specials = specials;
        String suf = task.suffix();
        if (task.textToText() && kind == LanguageModel.Kind.MASKED) {
            throw new UserException("task " + task.name() + " is text-to-text, but a masked LM cannot generate text; "
                    + "use a decoder LM or T5");
        }
        if (kind == LanguageModel.Kind.MASKED) {
            if (specials.maskText() == null) {
                throw new UserException("the model's tokenizer has no mask token");
            }
            if (!suf.contains("{mask}") && !task.prefix().contains("{mask}")) {
                suf = suf + " {mask}.";
            }
            suf = suf.replace("{mask}", specials.maskText());
        } else if (suf.contains("{mask}")) {
            suf = suf.substring(0, suf.indexOf("{mask}")).stripTrailing();
        }
        String pre = kind == LanguageModel.Kind.MASKED && specials.maskText() != null
                ? task.prefix().replace("{mask}", specials.maskText()) : task.prefix();
        if (task.chatFramed()) {
            String[] frame = ChatFrame.around(task, pre, suf, kind, chat);
            pre = frame[0];
            suf = frame[1];
            this.head = new long[0]; // transformers tokenizes a rendered chat without special tokens: a BOS is the template's
            this.tail = new long[0];
        } else {
            this.head = specials.prefix();
            this.tail = specials.suffix();
        }
        this.prefix = pre;
        this.suffix = suf;
        this.suffixIds = tokenizer.encode(suffix);
        int framing = head.length + tail.length;
        if (suffixIds.length + framing >= maxLength) {
            throw new UserException("{{max_length}} " + maxLength + " leaves no room for text: the template's tail '"
                    + suffix + "' and special tokens alone are " + (suffixIds.length + framing) + " tokens");
        }
        this.labels = labels(tokenizer, task, kind == LanguageModel.Kind.SEQ2SEQ ? specials.eos() : -1);
    }

    /**
     * Each class's label word as tokens, in class order (followed by {@code eos} when it is ≥ 0). Label
     * words whose first tokens collide cannot be told apart at the decision position and are refused.
     */
    public static Labels labels(TextTokenizer tokenizer, Task task, long eos) {
        List<String> words = task.words();
        long[] ids = new long[words.size()];
        long[][] seqs = new long[words.size()][];
        Map<Long, String> seen = new HashMap<>();
        for (int i = 0; i < ids.length; i++) {
            long[] t = tokenizer.encode(words.get(i));
            if (t.length == 0) {
                throw new UserException("task " + task.name() + ": label word '" + words.get(i) + "' encodes to no tokens");
            }
            ids[i] = t[0];
            seqs[i] = eos >= 0 ? concat(t, new long[] {eos}) : t;
            String prev = seen.put(t[0], words.get(i));
            if (prev != null) {
                throw new UserException("task " + task.name() + ": label words '" + prev + "' and '" + words.get(i)
                        + "' start with the same token (" + t[0] + "); multi-token words are scored by their first token");
            }
        }
        return new Labels(ids, seqs);
    }

    /** The first token of each class's label word, in class order. */
    public long[] labelTokens() {
        return labels.first().clone();
    }

    public Labels labels() {
        return labels;
    }

    static long[] concat(long[]... parts) {
        int n = 0;
        for (long[] p : parts) {
            n += p.length;
        }
        long[] out = new long[n];
        int at = 0;
        for (long[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    public Task task() {
        return task;
    }

    public TextTokenizer tokenizer() {
        return tokenizer;
    }

    public int maxLength() {
        return maxLength;
    }

    public Encoded encode(Example e) {
        Encoded x = encode(e.text(), e.label());
        return e.target() == null ? x : new Encoded(x.ids(), -1, x.position(), encodeTarget(e.target()));
    }

    /** A target text's tokens followed by EOS (so generation learns to stop). */
    public long[] encodeTarget(String target) {
        long[] t = tokenizer.encode(target);
        return specials.eos() >= 0 ? concat(t, new long[] {specials.eos()}) : t;
    }

    /** A text framed for the model, with its decision position. */
    public Encoded encode(String text, int label) {
        long[] ids = encodeText(text);
        int pos = ids.length - 1;
        if (kind == LanguageModel.Kind.MASKED) {
            pos = lastIndexOf(ids, specials.mask());
            if (pos < 0) {
                throw new UserException("the mask token '" + specials.maskText() + "' did not survive tokenization of '"
                        + text + "'");
            }
        } else if (kind == LanguageModel.Kind.SEQ2SEQ) {
            pos = 0; // decoder step 0 predicts the label word
        }
        return new Encoded(ids, label, pos);
    }

    private static int lastIndexOf(long[] a, long v) {
        for (int i = a.length - 1; i >= 0; i--) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }

    /**
     * The text the model reads for a row before truncation and special ids: the task's template (a chat
     * task's: the rendered conversation) around the stripped text.
     *
     * @param text the row's text
     * @return the framed text
     */
    public String framed(String text) {
        return prefix + text.strip() + suffix;
    }

    /**
     * The ids every row of this task begins with: the special ids in front, then the framing text up to
     * the end of its last added token (a chat's system turn and header: the tokenizer cuts text at added
     * tokens first, so these ids are the same whatever text follows). Empty when rows share nothing
     * certain. Rows cut so short that they lose part of it are scored without it (the scorer checks).
     *
     * @return the shared ids, possibly empty
     */
    public long[] sharedHead() {
        int cut = -1;
        for (String t : tokenizer.addedTokens()) {
            int at = prefix.lastIndexOf(t);
            if (at >= 0) {
                cut = Math.max(cut, at + t.length());
            }
        }
        long[] shared = cut <= 0 ? head.clone() : concat(head, tokenizer.encode(prefix.substring(0, cut)));
        for (String probe : new String[] {"a", "x y", "0."}) {
            long[] ids = encodeText(probe);
            if (ids.length < shared.length || !Arrays.equals(Arrays.copyOf(ids, shared.length), shared)) {
                return head.clone(); // a tokenizer that does not cut at its added tokens: nothing but the specials is certain
            }
        }
        return shared;
    }

    /**
     * What the model reads for one row, for a person to check.
     *
     * @param rendered the framed text (a chat task's: the rendered conversation), before truncation
     * @param ids the token ids the model gets, special ids included, truncated as the model gets them
     * @param pieces each id's text
     * @param decisionAt the index in ids whose output is read (an encoder-decoder's: its decoder's first step)
     */
    public record Shown(String rendered, long[] ids, List<String> pieces, int decisionAt) {}

    /**
     * A row as the model reads it.
     *
     * @param text the row's text
     * @return the framed text, ids, their pieces and the decision index
     */
    public Shown show(String text) {
        Encoded e = encode(text, -1);
        List<String> pieces = new ArrayList<>(e.ids().length);
        for (long id : e.ids()) {
            pieces.add(tokenizer.decode(new long[] {id}));
        }
        return new Shown(framed(text), e.ids(), pieces, e.position());
    }

    /** Token ids of template(text) with the model's special tokens, at most maxLength, template tail kept. */
    public synchronized long[] encodeText(String text) {
        long[] cached = cache.get(text);
        if (cached != null) {
            return cached;
        }
        String t = text.strip();
        long[] body = tokenizer.encode(prefix + t + suffix);
        int budget = maxLength - head.length - tail.length;
        if (body.length > budget) {
            long[] head = tokenizer.encode(prefix + t);
            int keep = budget - suffixIds.length;
            body = concat(Arrays.copyOf(head, Math.min(keep, head.length)), suffixIds);
        }
        long[] ids = concat(head, body, tail);
        if (ids.length == 0) {
            throw new UserException("input '" + text + "' encodes to no tokens");
        }
        if (cache.size() < 200_000) {
            cache.put(text, ids);
        }
        return ids;
    }

    public List<Encoded> encodeAll(List<Example> examples) {
        List<Encoded> out = new ArrayList<>(examples.size());
        for (Example e : examples) {
            out.add(encode(e));
        }
        return out;
    }

    /** Right-pads rows to the longest one (or to padTo when larger); pad id 0, masked out. */
    public static Batch batch(List<Encoded> rows, int padTo) {
        return batch(rows, padTo, 0L);
    }

    /** As {@link #batch(List, int)} with an explicit pad id. */
    public static Batch batch(List<Encoded> rows, int padTo, long padId) {
        int t = Math.max(padTo, rows.stream().mapToInt(r -> r.ids().length).max().orElse(0));
        int b = rows.size();
        if ((long) b * t > Integer.MAX_VALUE / 8) {
            throw new UserException("a batch of " + b + " rows x " + t + " tokens is too large; lower {{batch_size}}");
        }
        long[] ids = new long[b * t];
        Arrays.fill(ids, padId);
        long[] mask = new long[b * t];
        long[] pos = new long[b];
        long[] cls = new long[b];
        for (int i = 0; i < b; i++) {
            long[] r = rows.get(i).ids();
            System.arraycopy(r, 0, ids, i * t, r.length);
            Arrays.fill(mask, i * t, i * t + r.length, 1L);
            pos[i] = rows.get(i).position();
            cls[i] = rows.get(i).label();
        }
        return new Batch(ids, mask, b, t, pos, cls);
    }
}
