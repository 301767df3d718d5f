package io.softprompt.train;

import ai.djl.ndarray.NDArray;
import io.softprompt.eval.Metrics;

/** A {@link Trainer.Listener} that passes every call to another; a subclass overrides what it adds to. */
public class ForwardingListener implements Trainer.Listener {
    protected final Trainer.Listener inner;

    public ForwardingListener(Trainer.Listener inner) {
        this.inner = inner;
    }

    @Override
    public void onStep(Trainer.Step s) {
        inner.onStep(s);
    }

    @Override
    public void onEvalStart(int step, int examples) {
        inner.onEvalStart(step, examples);
    }

    @Override
    public void onEval(int step, Metrics dev, boolean best) {
        inner.onEval(step, dev, best);
    }

    @Override
    public void onBest(int step, float[] prompt, Metrics dev) {
        inner.onBest(step, prompt, dev);
    }

    @Override
    public NDArray loss(int step, NDArray loss) {
        return inner.loss(step, loss);
    }
}
