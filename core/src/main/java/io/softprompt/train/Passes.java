package io.softprompt.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.softprompt.data.Encoder;
import io.softprompt.model.LanguageModel;
import io.softprompt.scoring.PackedLoss;
import java.util.ArrayList;
import java.util.List;

/**
 * A step's forward and backward passes: which runs of a pack share a pass (under a token budget), and
 * one pass over them, solo or packed, with each run's loss weighted and checked.
 */
final class Passes {
    private Passes() {}

    /**
     * The runs of micro-batch j in passes of at most tokenBudget rows × length (each run whole in one pass);
     * a deep prompt's run takes a pass of its own.
     */
    static List<List<PackMember>> plan(List<PackMember> runs, int j, int tokenBudget) {
        List<List<PackMember>> out = new ArrayList<>();
        List<PackMember> cur = new ArrayList<>();
        long rows = 0;
        int longest = 0;
        for (PackMember m : runs) {
            if (m.cfg.deep()) { // its rows read a prefix in every layer: the solo path, a pass of its own
                out.add(List.of(m));
                continue;
            }
            List<Encoder.Encoded> mb = m.microBatch(j);
            int len = m.cfg.tokens() + mb.stream().mapToInt(r -> r.ids().length + (r.target() == null ? 0 : r.target().length))
                    .max().orElse(0);
            long nextRows = rows + mb.size();
            int nextLongest = Math.max(longest, len);
            if (!cur.isEmpty() && tokenBudget > 0 && nextRows * nextLongest > tokenBudget) {
                out.add(cur);
                cur = new ArrayList<>();
                nextRows = mb.size();
                nextLongest = len;
            }
            cur.add(m);
            rows = nextRows;
            longest = nextLongest;
        }
        if (!cur.isEmpty()) {
            out.add(cur);
        }
        return out;
    }

    /**
     * One forward and backward pass over the runs' micro-batch j: a run alone takes the solo path (the
     * prompt prepended by {@code Prompted}, the objective of {@code Objective}); several share one
     * pass ({@link PackedLoss}). Every temporary dies with the pass's scope; gradients accumulate in
     * each trainable until its update.
     */
    static void forwardBackward(LanguageModel lm, NDManager root, List<PackMember> pass, int j) {
        try (NDManager scope = root.newSubManager();
             GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            List<NDArray> losses = pass.size() == 1 ? List.of(pass.get(0).soloLoss(scope, j))
                    : PackedLoss.losses(lm, scope, pass.stream().map(m -> m.part(j)).toList());
            NDArray total = null;
            for (int k = 0; k < pass.size(); k++) {
                NDArray weighted = pass.get(k).weigh(losses.get(k), j, scope);                     // []
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
