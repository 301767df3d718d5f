package io.softprompt.scoring;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The scorer's one length bucketer: batches of item indices cut at a batch size or when B × S would
 * pass a token budget, items sorted so that padding stays small, in the order a batch is laid out.
 * With the prefix cache a batch is [the longest prompt's cache][the longest text]: the prompt positions
 * only take part in attention, so items are sorted by text length T alone and rows of N 10, 20 and 30
 * share a pass (scripts/bench-prompts.sh, 64 input prompts of N 10/20/30: 0.62× one prompt's rows/s
 * sorted by N + T, 0.77× by N then T, by T alone in the line docs/bench-prompts.md gives). Without it
 * each row is [its prompt][its text] padded to the longest N + T, so items are sorted by N + T.
 */
final class LengthBuckets {
    private LengthBuckets() {}

    /** {@code cached} says the batch is laid out as [prompt cache][text]; tokenBudget 0: none. */
    static List<int[]> of(List<Scorer.Slot> slots, List<Scorer.Item> items, int batchSize, int tokenBudget, boolean cached) {
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

    private static int length(List<Scorer.Slot> slots, Scorer.Item it) {
        return slots.get(it.slot()).tokens() + it.row().ids().length;
    }
}
