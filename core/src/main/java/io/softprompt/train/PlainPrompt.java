package io.softprompt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.util.Tensors;

/**
 * A prompt trained as it is, the only tensor that learns: its table [N, O] float32 at its site (N
 * vectors [N, D] in front of the embedded input, Lester et al. 2021; or a deep prompt's prefix table
 * [N, L·2·Hkv·K]). For a model computing in half precision, each step differentiates a half copy of
 * this float32 master and the update is applied to the master (DJL's toType cuts gradients, so the
 * copy is made fresh, in the model's dtype, as a leaf of its own).
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): N prompt tokens, O the prompt's width.
 */
final class PlainPrompt implements Trainable {
    private final NDArray prompt;   // [N, O] float32: the master copy the optimiser updates
    private final DataType dtype;   // the model's: a half dtype means a half leaf each step
    private final boolean half;
    private final Optimizer opt;
    private NDArray leaf;           // [N, D] what this step differentiates: the prompt itself, or its half copy
    private NDArray ownGradient;    // the handle gradient() last returned for a float32 leaf

    /** From values [N·D] (a fresh run's init, or a checkpoint's prompt, whose optimiser state is restored). */
    PlainPrompt(NDManager root, float[] values, int n, int d, DataType dtype, TrainPlan plan, Checkpoint from) {
        this.prompt = Tensors.create(root, values, new Shape(n, d));                                  // [N, D]
        this.dtype = dtype;
        this.half = dtype != DataType.FLOAT32;
        if (!half) {
            prompt.setRequiresGradient(true);
            leaf = prompt;
        }
        this.opt = Optimizer.create(plan.optimizer(), root, prompt, plan.config().weightDecay());
        if (from != null) {
            opt.restore(from.optimizer(), from.state().optimizerSteps());
        }
    }

    @Override
    public NDArray beginStep() {
        if (half) { // mixed precision: the forward runs in the model's dtype, the update on the float32 master
            leaf = prompt.toType(dtype, true);                                                        // [N, D]
            leaf.setRequiresGradient(true);
        }
        return leaf;
    }

    @Override
    public NDArray gradient() {
        NDArray g = leaf.getGradient();                                                               // [N, D]
        if (!half) {
            ownGradient = g;
            return g;
        }
        try (g) {
            NDArray wide = g.toType(DataType.FLOAT32, true);                                          // [N, D] float32
            wide.attach(prompt.getManager());
            return wide;
        }
    }

    @Override
    public void update(NDArray grad, double lr) {
        opt.step(prompt, grad, lr);
        if (!half && grad == ownGradient) {
            grad.subi(grad);                                                                          // zero for the next step
        }
        ownGradient = null;
    }

    @Override
    public void endStep() {
        if (half) {
            leaf.close();
        }
    }

    @Override
    public NDArray master() {
        return prompt;
    }

    @Override
    public float[] values() {
        return prompt.toFloatArray();
    }

    @Override
    public Optimizer optimizer() {
        return opt;
    }

    @Override
    public void close() {
        if (half && leaf != null) {
            leaf.close();
        }
        opt.close();
    }
}
