package io.softprompt.infer;

import io.softprompt.loader.LoadedModel;
import io.softprompt.scoring.Decoding;
import io.softprompt.scoring.Generator;
import io.softprompt.scoring.Scorer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Rows of several tasks, each answered with its own prompt: classification rows of every task share
 * length-bucketed forward passes through the {@link Scorer} (prefix cache, label logits only);
 * text-to-text rows are generated. Answers come back in row order.
 */
public final class MultiTask {
    /** One row: the index of its member (prompt) and its text. */
    public record Row(int member, String text) {}

    /**
     * One answer: the member's name, the label, its verbalizer word and the class probabilities
     * (classification), or the generated text.
     *
     * @param task the member's (task's) name
     * @param label the chosen label, or null when generating
     * @param word the label's word, stripped, or null when generating
     * @param probabilities the class probabilities by label, or null when generating
     * @param generated the generated text, or null when classifying
     */
    public record Answer(String task, String label, String word, Map<String, Float> probabilities, String generated) {}

    /**
     * How rows are batched, and how text-to-text rows generate.
     *
     * @param batchSize the most rows in one pass
     * @param tokenBudget the most tokens in one pass (0: no budget)
     * @param prefixCache whether each prompt's keys and values are computed once
     * @param decoding how text-to-text rows generate
     */
    public record Batching(int batchSize, int tokenBudget, boolean prefixCache, Decoding decoding) {}

    private MultiTask() {}

    /**
     * Answers rows of several members (prompts of different tasks and lengths) in shared batches.
     *
     * @param model the model
     * @param members the prompts fitted to it
     * @param rows each row's member index and text
     * @param how the batching
     * @return one answer per row, in their order
     */
    public static List<Answer> answer(LoadedModel model, List<Member> members, List<Row> rows, Batching how) {
        List<Scorer.Slot> slots = new ArrayList<>();
        for (Member m : members) {
            slots.add(m.slot());
        }
        List<Scorer.Item> items = new ArrayList<>();
        List<Integer> itemRow = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            Member m = members.get(r.member());
            if (!m.task().textToText()) {
                items.add(new Scorer.Item(r.member(), m.encoder().encode(r.text(), -1)));
                itemRow.add(i);
            }
        }
        float[][] probs;
        try (Scorer scorer = new Scorer(model.lm(), how.prefixCache())) {
            probs = scorer.score(slots, items, scorer.batches(slots, items, how.batchSize(), how.tokenBudget()));
        }
        float[][] byRow = new float[rows.size()][];
        for (int k = 0; k < items.size(); k++) {
            byRow[itemRow.get(k)] = probs[k];
        }
        List<Integer> genRows = new ArrayList<>();
        List<Generator.Request> requests = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            Member m = members.get(rows.get(i).member());
            if (m.task().textToText()) {
                genRows.add(i);
                requests.add(m.request(rows.get(i).text(), how.decoding()));
            }
        }
        String[] generated = new String[rows.size()];
        if (!requests.isEmpty()) {
            Generator g = new Generator(model.lm(), model.tokenizer(), true);
            int size = Math.max(1, how.batchSize());
            for (int from = 0; from < requests.size(); from += size) {
                List<Generator.Output> o = g.generate(requests.subList(from, Math.min(requests.size(), from + size)));
                for (int k = 0; k < o.size(); k++) {
                    generated[genRows.get(from + k)] = o.get(k).text();
                }
            }
        }
        List<Answer> out = new ArrayList<>(rows.size());
        for (int i = 0; i < rows.size(); i++) {
            Member m = members.get(rows.get(i).member());
            out.add(m.task().textToText() ? new Answer(m.name(), null, null, null, generated[i]) : classified(m, byRow[i]));
        }
        return out;
    }

    /**
     * The member's label for probabilities p [C], with p keyed by label.
     *
     * @param m the member
     * @param p its class probabilities [C]
     * @return the answer
     */
    public static Answer classified(Member m, float[] p) {
        List<String> labels = m.task().labels();
        Map<String, Float> pm = new LinkedHashMap<>();
        for (int c = 0; c < labels.size(); c++) {
            pm.put(labels.get(c), p[c]);
        }
        int best = Scorer.argmax(p);
        return new Answer(m.name(), labels.get(best), m.task().words().get(best).strip(), pm, null);
    }
}
