package io.softprompt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Adafactor (Shazeer &amp; Stern 2018) in the setting Lester et al. 2021 tuned prompts with: no first
 * moment, second-moment decay β₂(t) = 1 − t^(−0.8), factored second moments for a 2-D parameter,
 * update clipping at RMS 1.0, no relative step size and no parameter-scale multiplication (the
 * learning rate is absolute, 0.3 in the paper), decoupled weight decay 1e-5. The arithmetic is that
 * of Hugging Face's {@code transformers.optimization.Adafactor} with {@code scale_parameter=False,
 * relative_step=False, warmup_init=False, beta1=None}:
 *
 * <pre>
 *   g2   = g² + ε₁                                   [N, D]
 *   R    = β₂ R + (1−β₂) mean_D(g2)                  [N]     row statistics
 *   C    = β₂ C + (1−β₂) mean_N(g2)                  [D]     column statistics
 *   u    = g / sqrt(R / mean(R)) / sqrt(C)           [N, D]  (1-D parameter: u = g / sqrt(V))
 *   u   /= max(1, RMS(u) / clip)
 *   p    = p − lr·wd·p − lr·u
 * </pre>
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): N prompt tokens, D hidden.
 */
public final class Adafactor implements Optimizer {
    public static final double DECAY_RATE = 0.8;
    public static final double CLIP_THRESHOLD = 1.0;
    public static final double EPS1 = 1e-30;

    private final double decayRate;
    private final double clip;
    private final double eps1;
    private final double weightDecay;
    private final boolean factored;
    private final NDArray row; // [N] factored second moment, rows (or [N, D] unfactored V)
    private final NDArray col; // [D] factored second moment, columns (null when unfactored)
    private int t;

    public Adafactor(NDManager manager, NDArray param, double decayRate, double clip, double eps1, double weightDecay) {
        this.decayRate = decayRate;
        this.clip = clip;
        this.eps1 = eps1;
        this.weightDecay = weightDecay;
        long[] s = param.getShape().getShape();
        this.factored = s.length == 2;
        if (factored) {
            row = manager.zeros(new Shape(s[0]));
            col = manager.zeros(new Shape(s[1]));
        } else {
            row = manager.zeros(param.getShape());
            col = null;
        }
    }

    /** β₂ at step t (counting from 1). */
    public static double beta2(int t, double decayRate) {
        return 1.0 - Math.pow(t, -decayRate);
    }

    @Override
    public void step(NDArray param, NDArray grad, double lr) {
        t++;
        float b2 = (float) beta2(t, decayRate);
        try (NDManager s = param.getManager().newSubManager()) {
            NDArray g = grad.duplicate();                                  // [N, D]
            g.attach(s);
            NDArray g2 = g.square().addi((float) eps1);                     // [N, D]
            NDArray u;
            if (factored) {
                NDArray rMean = g2.mean(new int[] {1}).muli(1 - b2);       // [N]
                NDArray cMean = g2.mean(new int[] {0}).muli(1 - b2);       // [D]
                row.muli(b2).addi(rMean);
                col.muli(b2).addi(cMean);
                NDArray r = row.duplicate();                               // [N]
                r.attach(s);
                NDArray c = col.duplicate();                               // [D]
                c.attach(s);
                NDArray rFactor = r.divi(r.mean()).sqrt().expandDims(1);   // [N, 1]
                NDArray cFactor = c.sqrt().expandDims(0);                  // [1, D]
                u = g.div(rFactor).divi(cFactor);                          // [N, D]
            } else {
                row.muli(b2).addi(g2.mul(1 - b2));
                NDArray v = row.duplicate();
                v.attach(s);
                u = g.div(v.sqrt());
            }
            double rms = Math.sqrt(u.square().mean().getFloat());
            double scale = lr / Math.max(1.0, rms / clip);
            if (weightDecay != 0) {
                param.muli((float) (1 - lr * weightDecay));
            }
            param.subi(u.muli((float) scale));
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
        Map<String, NDArray> m = new LinkedHashMap<>();
        if (factored) {
            m.put("adafactor.exp_avg_sq_row", row);
            m.put("adafactor.exp_avg_sq_col", col);
        } else {
            m.put("adafactor.exp_avg_sq", row);
        }
        return m;
    }

    @Override
    public void close() {
        row.close();
        if (col != null) {
            col.close();
        }
    }
}
