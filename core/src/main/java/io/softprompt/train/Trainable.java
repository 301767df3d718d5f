package io.softprompt.train;

import ai.djl.ndarray.NDArray;

/**
 * What a run learns, behind one interface: the loop asks it for the tensor each step differentiates,
 * that tensor's gradient, an update, and its values. Nothing in the loop knows what it is; a new kind
 * of trainable state (a per-layer prefix, a reparameterised prompt) is a new implementation.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): N prompt tokens, D hidden size, Z every number a reparameterised prompt trains.
 */
interface Trainable extends AutoCloseable {
    /** Readies a step; returns the leaf the step's forward passes differentiate ([N, D] for a prompt). */
    NDArray beginStep();

    /** This step's gradient, float32, shaped as the master values (the caller closes it). */
    NDArray gradient();

    /** One optimiser update with {@code grad} at {@code lr}; the step's own gradient is then cleared. */
    void update(NDArray grad, double lr);

    /** The step is over: what it alone needed goes (a half-precision leaf, its gradient with it). */
    void endStep();

    /** The float32 master tensor the optimiser updates ([N, D]); data-parallel gradients are made beside it. */
    NDArray master();

    /** The current values, as written to checkpoints and .sp files ([N·D]). */
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
