package io.softprompt.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.softprompt.data.Encoder;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.PromptSite;
import io.softprompt.scoring.PackedLoss;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A step's forward and backward passes: how the rows of a pack's runs are laid into passes, and one
 * pass over them, solo or packed, with each run's loss weighted and checked.
 *
 * <p>A pack lays out its rows by length: every run's rows of micro-batch j, sorted by their length
 * (prompt and text), cut into passes of at most as many rows as the largest run's batch (what one run
 * computes at a time alone) or, under a token budget, of at most that many rows × positions. A pass
 * pads its rows to its longest, so rows of similar length ride together and a pack does no more padded
 * arithmetic than its runs would alone (each of whose batches pads to its own longest row). A run's
 * rows may so spread over several passes: each piece's loss is the mean over its rows, weighted by
 * its share of the step's loss terms, so the run's gradient is its step's mean, as alone.
 */
final class Passes {
    private Passes() {}

    /**
     * Some of a run's rows of micro-batch j in one pass.
     *
     * @param member the run
     * @param rows its rows in this pass
     * @param whole whether they are its whole micro-batch (then a pass of its own takes the solo path)
     */
    record Piece(PackMember member, List<Encoder.Encoded> rows, boolean whole) {}

    /**
     * The passes of micro-batch j. A run alone, or a deep prompt's run (its rows read a prefix in every
     * layer), takes a pass of its own over its whole micro-batch: the solo path, exactly as measured
     * against PEFT. The other runs' rows are laid out by length (see the class comment).
     */
    static List<List<Piece>> plan(List<PackMember> runs, int j, int tokenBudget) {
        List<List<Piece>> out = new ArrayList<>();
        List<PackMember> shared = new ArrayList<>();
        for (PackMember m : runs) {
            if (m.plan.site().pass(m.lm, false) != PromptSite.Pass.INLINE) { // a shared pass lays prompts inline
                out.add(List.of(new Piece(m, m.microBatch(j), true)));
            } else {
                shared.add(m);
            }
        }
        if (shared.size() == 1) {
            out.add(List.of(new Piece(shared.get(0), shared.get(0).microBatch(j), true)));
            return out;
        }
        record Row(PackMember member, int order, Encoder.Encoded row, int length) {}
        List<Row> rows = new ArrayList<>();
        int maxRows = 1;
        for (int k = 0; k < shared.size(); k++) {
            PackMember m = shared.get(k);
            maxRows = Math.max(maxRows, m.cfg.batchSize());
            for (Encoder.Encoded r : m.microBatch(j)) {
                rows.add(new Row(m, k, r, m.n + r.ids().length + (r.target() == null ? 0 : r.target().length)));
            }
        }
        rows.sort(Comparator.comparingInt(Row::length)); // stable: equal lengths keep run and row order
        int from = 0;
        while (from < rows.size()) {
            int to = from + 1;
            // under a budget, as many rows as fit (whatever the batch sizes); else the largest batch's rows
            while (to < rows.size() && (tokenBudget > 0 ? (long) (to - from + 1) * rows.get(to).length() <= tokenBudget
                    : to - from < maxRows)) {
                to++;
            }
            // the pass's rows, grouped by run in pack order
            Map<PackMember, List<Encoder.Encoded>> byRun = new LinkedHashMap<>();
            rows.subList(from, to).stream().sorted(Comparator.comparingInt(Row::order))
                    .forEach(r -> byRun.computeIfAbsent(r.member(), x -> new ArrayList<>()).add(r.row()));
            List<Piece> pass = new ArrayList<>();
            byRun.forEach((m, mine) -> pass.add(new Piece(m, mine, mine.size() == m.microBatch(j).size())));
            out.add(pass);
            from = to;
        }
        return out;
    }

    /**
     * One forward and backward pass over some runs' rows of micro-batch j: a run's whole micro-batch
     * alone takes the solo path (the prompt at its site, the objective of
     * {@code Objective}); anything else shares one pass ({@link PackedLoss}). Every temporary dies with
     * the pass's scope; gradients accumulate in each trainable until its update.
     */
    static void forwardBackward(LanguageModel lm, NDManager root, List<Piece> pass, int j) {
        try (NDManager scope = root.newSubManager();
             GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            List<NDArray> losses = pass.size() == 1 && pass.get(0).whole() ? List.of(pass.get(0).member().soloLoss(scope, j))
                    : PackedLoss.losses(lm, scope, pass.stream().map(p -> p.member().part(p.rows())).toList());
            NDArray total = null;
            for (int k = 0; k < pass.size(); k++) {
                NDArray weighted = pass.get(k).member().weigh(losses.get(k), pass.get(k).rows(), scope); // []
                if (weighted != null) {
                    total = total == null ? weighted : total.add(weighted);
                }
            }
            if (total != null) {
                gc.backward(total);
            }
        }
    }
}
