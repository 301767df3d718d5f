package io.softprompt.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.softprompt.data.Encoder;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.model.PromptSite;
import io.softprompt.scoring.Objective;
import io.softprompt.scoring.PackedLoss;
import io.softprompt.util.Tensors;
import java.io.Serializable;
import java.util.List;

/**
 * The data-parallel protocol: a run's step computed by workers (the softprompt-spark module) rather
 * than by this process's own forward pass. The trainer draws the step's rows and hands them to a
 * {@link Gradients}; workers compute {@link Sums} of shards with {@link #shard}, the very loss code of a
 * local step; the trainer divides by the step's loss terms and goes on exactly as alone.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): N prompt tokens, D hidden size, B rows, T tokens.
 */
public final class DataParallel {
    private DataParallel() {}

    /**
     * Where a run's loss and gradient come from when not from this process's own forward pass:
     * data-parallel workers (the softprompt-spark module). Opened once per run with what any worker
     * needs to compute a share of a step; everything else (the rows drawn, clipping, the optimiser,
     * the schedule, evaluation, checkpoints) stays here, so a distributed run is the local run.
     */
    @FunctionalInterface
    public interface Distributor {
        Gradients open(LossSpec spec);
    }

    /** A step's sums over its rows, computed elsewhere. */
    public interface Gradients extends AutoCloseable {
        /** The loss and gradient [N·D] summed over {@code rows} at {@code prompt} [N·D]. */
        Sums compute(float[] prompt, List<Encoder.Encoded> rows);

        @Override
        default void close() {}
    }

    /**
     * What a worker needs to compute the loss of any rows: the prompt's shape [N, W] (W: D, or a deep
     * prompt's L·2·Hkv·K), whether it is deep, the objective and label words.
     */
    public record LossSpec(int tokens, int hidden, PromptSite site, Objective objective, Encoder.Labels labels, boolean textToText,
            int padTo)
            implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /**
     * The loss and its gradient [N·D] summed (not averaged) over some rows, with the number of loss
     * terms they make ({@link PackedLoss#terms}): sums of shards add up to the step's, which divides by its terms.
     */
    public record Sums(double loss, double[] gradient, long terms) implements Serializable {
        private static final long serialVersionUID = 1L;

        public static Sums zero(int size) {
            return new Sums(0, new double[size], 0);
        }

        /** this + o (a new array: aggregations may hold either operand). */
        public Sums plus(Sums o) {
            double[] g = gradient.clone();
            for (int i = 0; i < g.length; i++) {
                g[i] += o.gradient[i];
            }
            return new Sums(loss + o.loss, g, terms + o.terms);
        }
    }

    /**
     * One shard of a step on this process's model: the loss of {@code rows} at {@code prompt} [N·W],
     * computed by the very code a local step runs ({@link #loss}), scaled from a mean to a sum, and its
     * gradient. Workers call it; one call at a time per JVM (DJL allows one gradient collector).
     */
    public static Sums shard(LanguageModel lm, LossSpec spec, float[] prompt, List<Encoder.Encoded> rows) {
        try (NDManager scope = NDManager.newBaseManager(lm.device())) {
            NDArray leaf = Tensors.create(scope, prompt, new Shape(spec.tokens(), spec.hidden()));         // [N, D]
            leaf.setRequiresGradient(true);
            int terms = PackedLoss.terms(lm, spec.objective(), spec.labels(), spec.textToText(), rows);
            double loss;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray mean = loss(lm, leaf, spec.site(), scope, rows, spec.objective(), spec.labels(), spec.textToText(), spec.padTo()); // []
                NDArray sum = mean.mul(Layers.scalar(mean, terms));                                          // []
                loss = sum.getFloat();
                gc.backward(sum);
            }
            float[] g;
            try (NDArray grad = leaf.getGradient()) {                                                    // [N, D]
                g = grad.toFloatArray();
            }
            double[] wide = new double[g.length];
            for (int i = 0; i < g.length; i++) {
                wide[i] = g[i];
            }
            return new Sums(loss, wide, terms);
        }
    }

    /**
     * The mean loss [] of rows at prompt leaf [N, D] (deep: a prefix table [N, L·2·Hkv·K]): Objective's
     * loss, as measured against PEFT.
     */
    static NDArray loss(LanguageModel lm, NDArray leaf, PromptSite site, NDManager scope, List<Encoder.Encoded> rows,
            Objective objective, Encoder.Labels labels, boolean textToText, int padTo) {
        if (textToText) {
            return Objective.sequenceLoss(lm, leaf, site, scope, rows, padTo);
        }
        Encoder.Batch b = Encoder.batch(rows, padTo, lm.specials().pad());
        NDArray ids = Tensors.create(scope, b.ids(), new Shape(b.size(), b.length()));   // [B, T]
        NDArray mask = Tensors.create(scope, b.mask(), new Shape(b.size(), b.length())); // [B, T]
        return objective.loss(lm, leaf, site, ids, mask, b.positions(), b.classes(), labels);
    }
}
