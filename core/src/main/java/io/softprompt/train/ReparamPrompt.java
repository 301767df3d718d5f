package io.softprompt.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.softprompt.model.Layers;
import io.softprompt.util.Tensors;
import io.softprompt.util.UserException;

/**
 * A reparameterised prompt ({@link Reparam}): the optimiser updates θ [Z]; each step the forward passes
 * differentiate the folded prompt f(θ) as a leaf of its own, and the step's gradient with respect to θ is
 * then one more backward pass, through f alone, of Σ f(θ) ⊙ ∂loss/∂f — the chain rule in two stages, so
 * any number of micro-batch and pack passes share one prompt and none has to keep f's graph alive. With a
 * half-precision model the leaf is the folded prompt in the model's dtype, its gradient widened to float32.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): N prompt tokens, O the prompt's width (D, or L·2·Hkv·K for a deep
 * prompt), Z every trained number.
 */
final class ReparamPrompt implements Trainable {
    private final Reparam reparam;
    private final NDManager own;    // θ, its optimiser state and what each step leaves, freed together at the end
    private final NDArray theta;    // [Z] float32: every trained number, the optimiser's master
    private final DataType dtype;
    private final Optimizer opt;
    private final NDArray rate;     // [Z] each number's learning rate ÷ the prompt's (reparam_lr), or null: all alike
    private NDArray leaf;           // [N, O] this step's folded prompt, detached from θ: what the passes differentiate

    /** From θ [Z] (a fresh run's θ₀, or a checkpoint's θ, whose optimiser state is restored). */
    ReparamPrompt(NDManager root, Reparam reparam, float[] values, DataType dtype, TrainPlan plan, Checkpoint from) {
        if (values.length != reparam.size()) {
            throw new UserException("checkpoint: its reparameterisation holds " + values.length + " numbers, but "
                    + reparam.kind.name().toLowerCase(java.util.Locale.ROOT) + " with these sizes has " + reparam.size());
        }
        this.reparam = reparam;
        this.own = root.newSubManager();
        this.theta = Tensors.create(own, values, new Shape(values.length));                              // [Z]
        theta.setRequiresGradient(true);
        this.dtype = dtype;
        this.opt = Optimizer.create(plan.optimizer(), own, theta, plan.config().weightDecay());
        Double networkLr = Reparam.networkLr(plan.config(), plan.lr());
        this.rate = networkLr == null ? null
                : Tensors.create(own, reparam.rateScale((float) (networkLr / plan.lr())), new Shape(values.length)); // [Z]
        if (from != null) {
            opt.restore(from.optimizer(), from.state().optimizerSteps());
        }
    }

    /** f(θ) in float32, outside gradient recording, its temporaries freed. */
    private NDArray fold() {
        return Layers.scoped(theta, false, reparam::apply);                                          // [N, O]
    }

    @Override
    public NDArray beginStep() {
        try (NDArray f = fold()) {
            leaf = dtype == DataType.FLOAT32 ? f.stopGradient() : f.toType(dtype, true);               // [N, O]
        }
        leaf.setRequiresGradient(true);
        return leaf;
    }

    @Override
    public NDArray gradient() {
        // every array of this chain (f·g's product and what backward makes among them) dies with the scope
        try (NDManager scope = own.newSubManager();
             GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray g = leaf.getGradient();                                                            // [N, O]
            g.attach(scope);
            NDArray wide = g.toType(DataType.FLOAT32, true);                                           // [N, O] float32
            NDArray f = fold();                                                                        // [N, O]
            f.attach(scope);
            gc.backward(f.mul(wide).sum());                                                            // []
        }
        return theta.getGradient();                                                                    // [Z]
    }

    @Override
    public void update(NDArray grad, double lr) {
        if (rate == null) {
            opt.step(theta, grad, lr);
        } else {
            // AdamW's change of each number (its step and its decay) is proportional to the rate and its moments
            // do not depend on it, so a number's own rate is the change at lr scaled by its rate ÷ lr
            try (NDArray before = theta.duplicate()) {                                                    // [Z]
                opt.step(theta, grad, lr);
                theta.subi(before).muli(rate).addi(before);
            }
        }
        grad.subi(grad); // θ's gradient accumulates: zero it for the next step
    }

    @Override
    public void endStep() {
        if (leaf != null) {
            leaf.close();
            leaf = null;
        }
    }

    @Override
    public NDArray master() {
        return theta;
    }

    /** The folded prompt [N·O]: what checkpoints keep as the prompt and .sp files hold. */
    @Override
    public float[] values() {
        try (NDArray f = fold()) {
            return f.toFloatArray();
        }
    }

    @Override
    public float[] reparameterisation() {
        return theta.toFloatArray();
    }

    @Override
    public Optimizer optimizer() {
        return opt;
    }

    @Override
    public void close() {
        endStep();
        opt.close();
        own.close();
    }
}
