package io.softprompt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class OptimTest {
    @Test
    void warmupThenConstant() {
        assertEquals(0.1, Schedule.CONSTANT.lr(1.0, 10, 100, 1), 1e-12);
        assertEquals(0.5, Schedule.CONSTANT.lr(1.0, 10, 100, 5), 1e-12);
        assertEquals(1.0, Schedule.CONSTANT.lr(1.0, 10, 100, 10), 1e-12);
        assertEquals(1.0, Schedule.CONSTANT.lr(1.0, 10, 100, 11), 1e-12);
        assertEquals(1.0, Schedule.CONSTANT.lr(1.0, 0, 100, 1), 1e-12);
        assertEquals(1.0, Schedule.CONSTANT.lr(1.0, 10, 100, 100), 1e-12);
    }

    /** warmup 10 of 110 steps, peak 2: the decays by hand at the start, a quarter, half and the end. */
    @Test
    void linearAndCosineDecayAfterWarmup() {
        for (Schedule s : new Schedule[] {Schedule.LINEAR, Schedule.COSINE}) {
            assertEquals(0.2, s.lr(2.0, 10, 110, 1), 1e-12, s + " warms up like the others");
            assertEquals(2.0, s.lr(2.0, 10, 110, 10), 1e-12, s + " reaches the peak at the end of warmup");
            assertEquals(0.0, s.lr(2.0, 10, 110, 110), 1e-12, s + " ends at 0");
        }
        assertEquals(1.5, Schedule.LINEAR.lr(2.0, 10, 110, 35), 1e-12);
        assertEquals(1.0, Schedule.LINEAR.lr(2.0, 10, 110, 60), 1e-12);
        assertEquals(1.0 + Math.sqrt(0.5), Schedule.COSINE.lr(2.0, 10, 110, 35), 1e-12); // 0.5·2·(1 + cos(π/4))
        assertEquals(1.0, Schedule.COSINE.lr(2.0, 10, 110, 60), 1e-12);
        assertEquals(2.0, Schedule.COSINE.lr(2.0, 0, 100, 0), 1e-12);
    }

    /**
     * Adafactor on a 2×3 prompt for three steps, against the paper's setting computed independently in
     * double precision; step 1's result is also pinned to numbers worked out outside Java. The third
     * gradient is chosen so that the factored estimate underestimates and update clipping acts.
     */
    @Test
    void adafactorMatchesHandComputedSteps() {
        double lr = 0.3;
        double wd = 1e-5;
        double[][] p = {{0.5, -1.0, 2.0}, {1.5, 0.25, -0.75}};
        double[][][] grads = {{{1, 2, 3}, {4, 5, 6}}, {{-0.5, 0.2, 0.1}, {0.3, -0.4, 2.0}}, {{1, 1, 1}, {1, 10, 1}}};
        double[] r = new double[2];
        double[] c = new double[3];
        boolean clipped = false;
        double[][][] expected = new double[3][][];
        for (int t = 1; t <= 3; t++) {
            double b2 = 1 - Math.pow(t, -0.8);
            double[][] g = grads[t - 1];
            for (int i = 0; i < 2; i++) {
                double s = 0;
                for (int j = 0; j < 3; j++) {
                    s += g[i][j] * g[i][j] + 1e-30;
                }
                r[i] = b2 * r[i] + (1 - b2) * s / 3;
            }
            for (int j = 0; j < 3; j++) {
                c[j] = b2 * c[j] + (1 - b2) * (g[0][j] * g[0][j] + g[1][j] * g[1][j] + 2e-30) / 2;
            }
            double meanR = (r[0] + r[1]) / 2;
            double[][] u = new double[2][3];
            double sq = 0;
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 3; j++) {
                    u[i][j] = g[i][j] / Math.sqrt(r[i] / meanR) / Math.sqrt(c[j]);
                    sq += u[i][j] * u[i][j];
                }
            }
            double rms = Math.sqrt(sq / 6);
            clipped |= rms > 1;
            double scale = Math.max(1, rms);
            double[][] next = new double[2][3];
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 3; j++) {
                    next[i][j] = p[i][j] * (1 - lr * wd) - lr * u[i][j] / scale;
                }
            }
            p = next;
            expected[t - 1] = next;
        }
        assertEquals(true, clipped, "the third step exercises update clipping");
        // step 1 worked out in Python: β₂(1) = 0, so the moments are that step's own statistics
        double[][] step1 = {{0.31449441727974736, -1.2840562458843996, 1.6579413724702587},
            {1.1835986734172137, -0.05280892354994232, -1.0417012108826387}};
        try (NDManager nd = NDManager.newBaseManager()) {
            NDArray param = nd.create(new float[] {0.5f, -1f, 2f, 1.5f, 0.25f, -0.75f}, new Shape(2, 3));
            try (Optimizer opt = Optimizer.create(Optimizer.Kind.ADAFACTOR, nd, param, wd)) {
                for (int t = 0; t < 3; t++) {
                    float[] g = new float[6];
                    for (int k = 0; k < 6; k++) {
                        g[k] = (float) grads[t][k / 3][k % 3];
                    }
                    opt.step(param, nd.create(g, new Shape(2, 3)), lr);
                    float[] got = param.toFloatArray();
                    for (int k = 0; k < 6; k++) {
                        assertEquals(expected[t][k / 3][k % 3], got[k], 2e-6, "step " + (t + 1) + " element " + k);
                        if (t == 0) {
                            assertEquals(step1[k / 3][k % 3], got[k], 2e-6);
                        }
                    }
                }
                assertEquals(3, opt.steps());
                assertEquals(2, opt.state().size(), "factored: one row and one column statistic");
                assertEquals(new Shape(2), opt.state().get("adafactor.exp_avg_sq_row").getShape());
                assertEquals(new Shape(3), opt.state().get("adafactor.exp_avg_sq_col").getShape());
            }
        }
    }

    @Test
    void adafactorBeta2Decays() {
        assertEquals(0.0, Adafactor.beta2(1, 0.8), 1e-12);
        assertEquals(1 - Math.pow(10, -0.8), Adafactor.beta2(10, 0.8), 1e-12);
    }

    @Test
    void gradientNormIsTheL2Norm() {
        try (NDManager nd = NDManager.newBaseManager()) {
            assertEquals(13.0, PackMember.norm(nd.create(new float[] {3, 4, 12})), 1e-9);
        }
    }

    @Test
    void dataOrderIsAPureFunctionOfSeedAndEpoch() {
        assertEquals(Arrays.toString(DataOrder.order(50, 7, 3)), Arrays.toString(DataOrder.order(50, 7, 3)));
        org.junit.jupiter.api.Assertions.assertNotEquals(Arrays.toString(DataOrder.order(50, 7, 3)),
                Arrays.toString(DataOrder.order(50, 7, 4)));
        int[] sorted = DataOrder.order(50, 7, 3).clone();
        Arrays.sort(sorted);
        for (int i = 0; i < 50; i++) {
            assertEquals(i, sorted[i], "a permutation");
        }
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
