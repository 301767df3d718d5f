package io.softprompt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.softprompt.model.LanguageModel;
import io.softprompt.util.UserException;
import java.util.Locale;

/**
 * What a run learns, behind one interface: the loop asks it for the tensor each step differentiates,
 * that tensor's gradient, an update, and its values. Nothing in the loop knows what it is; a new kind
 * of trainable state is a new implementation, picked by {@link #of}: a plain prompt at its site
 * ({@link PlainPrompt}, input or deep alike) or a reparameterised one ({@link ReparamPrompt}).
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): N prompt tokens, O the prompt's width, Z every number a
 * reparameterised prompt trains.
 */
interface Trainable extends AutoCloseable {
    /**
     * What a run learns: its plan's reparameterisation if it has one, else its prompt as it is, at the
     * plan's site; from {@code init} [N·O] or the checkpoint {@code from}. A data-parallel run
     * ({@code distributed}) is refused, before anything is made, where the workers cannot compute
     * its step: a reparameterised prompt, a half-precision model, an anchor term.
     */
    static Trainable of(TrainPlan plan, LanguageModel lm, NDManager root, float[] init, Checkpoint from, boolean distributed,
            boolean anchored) {
        TrainConfig cfg = plan.config();
        Reparam reparam = Reparam.of(cfg, lm);
        if (distributed && reparam != null) {
            throw new UserException("distributed training learns plain input and deep prompts, so far: drop "
                    + (cfg.prefixProjection() ? "{{prefix_projection}}" : "{{reparam}} " + cfg.reparam()));
        }
        if (distributed && (lm.dtype() != DataType.FLOAT32 || anchored)) {
            throw new UserException("distributed training computes in float32 without {{anchor_text}}: " + (anchored
                    ? "drop {{anchor_text}}" : "drop {{dtype}} " + lm.dtype().toString().toLowerCase(Locale.ROOT)));
        }
        if (reparam != null) {
            return new ReparamPrompt(root, reparam, from == null ? reparam.start(init, cfg.seed()) : from.reparam(), lm.dtype(),
                    plan, from);
        }
        return new PlainPrompt(root, from == null ? init : from.prompt(), cfg.tokens(), plan.site().width(lm), lm.dtype(), plan,
                from);
    }

    /** Readies a step; returns the leaf the step's forward passes differentiate ([N, O] for a prompt). */
    NDArray beginStep();

    /** This step's gradient, float32, shaped as the master values (the caller closes it). */
    NDArray gradient();

    /** One optimiser update with {@code grad} at {@code lr}; the step's own gradient is then cleared. */
    void update(NDArray grad, double lr);

    /** The step is over: what it alone needed goes (a half-precision leaf, its gradient with it). */
    void endStep();

    /** The float32 master tensor the optimiser updates ([N, O]); data-parallel gradients are made beside it. */
    NDArray master();

    /** The current values, as written to checkpoints and .sp files ([N·O]). */
    float[] values();

    /** θ [Z] of a reparameterised prompt, which a checkpoint keeps beside the folded values; null for a plain one. */
    default float[] reparameterisation() {
        return null;
    }

    /** The optimiser, whose state and step count a checkpoint saves. */
    Optimizer optimizer();

    @Override
    void close();
}
