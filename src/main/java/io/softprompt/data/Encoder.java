package io.softprompt.data;

import io.softprompt.model.TextTokenizer;
import io.softprompt.util.UserException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns examples into token ids with the task's template, and batches them with right padding.
 *
 * <p>Truncation keeps the template's tail (the words right before the decision, e.g. "It was"):
 * when prefix + text + suffix exceeds {@code maxLength} tokens, the text is cut from its end.
 */
public final class Encoder {
    /** One encoded example: token ids (no padding) and class index (-1 when unknown). */
    public record Encoded(long[] ids, int label) {}

    /**
     * A padded batch. ids and mask are [B, T] row-major; positions [B] is each row's decision position
     * (its last real token); classes [B].
     */
    public record Batch(long[] ids, long[] mask, int size, int length, long[] positions, long[] classes) {}

    private final TextTokenizer tokenizer;
    private final Task task;
    private final int maxLength;
    private final long[] suffixIds;
    private final long[] labelTokens;
    private final Map<String, long[]> cache = new HashMap<>();

    public Encoder(TextTokenizer tokenizer, Task task, int maxLength) {
        this.tokenizer = tokenizer;
        this.task = task;
        this.maxLength = maxLength;
        this.suffixIds = tokenizer.encode(task.suffix());
        if (suffixIds.length >= maxLength) {
            throw new UserException("--max-length " + maxLength + " leaves no room for text: the template's tail '"
                    + task.suffix() + "' alone is " + suffixIds.length + " tokens");
        }
        this.labelTokens = labelTokens(tokenizer, task);
    }

    /**
     * The first token of each class's label word, in class order. Label words whose first tokens
     * collide cannot be told apart at the decision position and are refused.
     */
    public static long[] labelTokens(TextTokenizer tokenizer, Task task) {
        List<String> words = task.words();
        long[] ids = new long[words.size()];
        Map<Long, String> seen = new HashMap<>();
        for (int i = 0; i < ids.length; i++) {
            long[] t = tokenizer.encode(words.get(i));
            if (t.length == 0) {
                throw new UserException("task " + task.name() + ": label word '" + words.get(i) + "' encodes to no tokens");
            }
            ids[i] = t[0];
            String prev = seen.put(t[0], words.get(i));
            if (prev != null) {
                throw new UserException("task " + task.name() + ": label words '" + prev + "' and '" + words.get(i)
                        + "' start with the same token (" + t[0] + "); multi-token words are scored by their first token");
            }
        }
        return ids;
    }

    public long[] labelTokens() {
        return labelTokens.clone();
    }

    public Task task() {
        return task;
    }

    public int maxLength() {
        return maxLength;
    }

    public Encoded encode(Example e) {
        return new Encoded(encodeText(e.text()), e.label());
    }

    /** Token ids of template(text), truncated to maxLength keeping the template's tail. */
    public synchronized long[] encodeText(String text) {
        long[] cached = cache.get(text);
        if (cached != null) {
            return cached;
        }
        String full = task.prefix() + text.strip() + task.suffix();
        long[] ids = tokenizer.encode(full);
        if (ids.length > maxLength) {
            long[] head = tokenizer.encode(task.prefix() + text.strip());
            int keep = maxLength - suffixIds.length;
            ids = new long[maxLength];
            System.arraycopy(head, 0, ids, 0, Math.min(keep, head.length));
            System.arraycopy(suffixIds, 0, ids, keep, suffixIds.length);
        }
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
        int t = Math.max(padTo, rows.stream().mapToInt(r -> r.ids().length).max().orElse(0));
        int b = rows.size();
        long[] ids = new long[b * t];
        long[] mask = new long[b * t];
        long[] pos = new long[b];
        long[] cls = new long[b];
        for (int i = 0; i < b; i++) {
            long[] r = rows.get(i).ids();
            System.arraycopy(r, 0, ids, i * t, r.length);
            Arrays.fill(mask, i * t, i * t + r.length, 1L);
            pos[i] = r.length - 1;
            cls[i] = rows.get(i).label();
        }
        return new Batch(ids, mask, b, t, pos, cls);
    }

    /**
     * Batches for inference: rows sorted by length so each batch pads little; returns index lists into
     * {@code rows} so results can be put back in input order.
     */
    public static List<int[]> lengthBuckets(List<Encoded> rows, int batchSize) {
        Integer[] order = new Integer[rows.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingInt((Integer i) -> rows.get(i).ids().length).thenComparingInt(i -> i));
        List<int[]> out = new ArrayList<>();
        for (int s = 0; s < order.length; s += batchSize) {
            int e = Math.min(order.length, s + batchSize);
            int[] idx = new int[e - s];
            for (int k = s; k < e; k++) {
                idx[k - s] = order[k];
            }
            out.add(idx);
        }
        return out;
    }
}
