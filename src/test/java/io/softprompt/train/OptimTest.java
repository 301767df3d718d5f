package io.softprompt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

class OptimTest {
    @Test
    void warmupThenConstant() {
        assertEquals(0.1, Schedule.warmupConstant(1.0, 10, 1), 1e-12);
        assertEquals(0.5, Schedule.warmupConstant(1.0, 10, 5), 1e-12);
        assertEquals(1.0, Schedule.warmupConstant(1.0, 10, 10), 1e-12);
        assertEquals(1.0, Schedule.warmupConstant(1.0, 10, 11), 1e-12);
        assertEquals(1.0, Schedule.warmupConstant(1.0, 0, 1), 1e-12);
    }

    /** Two AdamW steps computed by hand (torch.optim.AdamW's formulas) for p = [1, -2], g = [0.5, 0.1] then [-0.2, 0.3]. */
    @Test
    void adamwMatchesHandComputedSteps() {
        double lr = 0.1;
        double wd = 0.01;
        double b1 = 0.9;
        double b2 = 0.999;
        double eps = 1e-8;
        double[] p = {1, -2};
        double[][] grads = {{0.5, 0.1}, {-0.2, 0.3}};
        double[] m = new double[2];
        double[] v = new double[2];
        for (int t = 1; t <= 2; t++) {
            for (int i = 0; i < 2; i++) {
                double g = grads[t - 1][i];
                p[i] *= 1 - lr * wd;
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                double denom = Math.sqrt(v[i]) / Math.sqrt(1 - Math.pow(b2, t)) + eps;
                p[i] -= lr / (1 - Math.pow(b1, t)) * m[i] / denom;
            }
        }
        try (NDManager nd = NDManager.newBaseManager()) {
            NDArray param = nd.create(new float[] {1, -2});
            try (AdamW opt = new AdamW(nd, param, b1, b2, eps, wd)) {
                opt.step(param, nd.create(new float[] {0.5f, 0.1f}), lr);
                opt.step(param, nd.create(new float[] {-0.2f, 0.3f}), lr);
            }
            float[] got = param.toFloatArray();
            assertEquals(p[0], got[0], 1e-6);
            assertEquals(p[1], got[1], 1e-6);
        }
    }
}
