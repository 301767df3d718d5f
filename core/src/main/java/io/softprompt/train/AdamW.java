package io.softprompt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW exactly as torch.optim.AdamW (decoupled weight decay, bias-corrected moments, eps added to
 * the corrected sqrt of the second moment).
 *
 * <p>Shapes: the parameter, gradient and both moments are [N, D].
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): N prompt tokens, D hidden.
 */
public final class AdamW implements Optimizer {
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final NDArray m; // [N, D] first moment
    private final NDArray v; // [N, D] second moment
    private int t;

    public AdamW(NDManager manager, NDArray param, double beta1, double beta2, double eps, double weightDecay) {
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.m = manager.zeros(param.getShape());
        this.v = manager.zeros(param.getShape());
    }

    @Override
    public void step(NDArray param, NDArray grad, double lr) {
        t++;
        if (weightDecay != 0) {
            param.muli((float) (1 - lr * weightDecay));
        }
        try (NDArray g1 = grad.mul((float) (1 - beta1))) {
            m.muli((float) beta1).addi(g1);
        }
        try (NDArray g2 = grad.mul(grad)) {
            v.muli((float) beta2).addi(g2.muli((float) (1 - beta2)));
        }
        double bc1 = 1 - Math.pow(beta1, t);
        double bc2 = 1 - Math.pow(beta2, t);
        double stepSize = lr / bc1;
        try (NDArray denom = v.sqrt()) {
            denom.divi((float) Math.sqrt(bc2)).addi((float) eps);
            try (NDArray upd = m.div(denom)) {
                param.subi(upd.muli((float) stepSize));
            }
        }
    }

    @Override
    public int steps() {
        return t;
    }

    @Override
    public void setSteps(int steps) {
        t = steps;
    }

    @Override
    public Map<String, NDArray> state() {
        Map<String, NDArray> s = new LinkedHashMap<>();
        s.put("adamw.exp_avg", m);
        s.put("adamw.exp_avg_sq", v);
        return s;
    }

    @Override
    public void close() {
        m.close();
        v.close();
    }
}
