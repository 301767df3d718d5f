package io.softprompt.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.softprompt.Fixtures;
import io.softprompt.data.Encoder;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.PromptSite;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.scoring.Objective;
import io.softprompt.util.Tensors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Reparameterised prompts ({@link Reparam}, {@link ReparamPrompt}): the gradient training uses (the
 * forward passes' gradient at the folded prompt, carried back through f by a second backward pass)
 * equals central finite differences of the loss in θ, on every architecture, for mlp and residual
 * (input prompts) and for the prefix projection (deep prompts); residual starts exactly at its init.
 */
class ReparamTest {
    static final int N = 3;
    static final int H = 8;

    /**
     * On each fixture and kind: the verbalizer loss at the golden rows (T5: its decoder's first step), θ a
     * generic point (θ₀ plus noise, so the residual's LayerNorm gain is not 0), the 6 coordinates of E and
     * the 6 of the weights with the largest gradient checked against central differences within 2e-4 +
     * 2% (float32) at one of the steps 1e-2, 3e-3, 1e-3 (ReLUs, the MLPs' and T5's, have kinks that a step may
     * straddle; a wrong gradient matches at none). The gradients checked are far above the tolerance, so a wrong or vanishing
     * gradient in either stage fails.
     */
    @TestFactory
    Stream<DynamicTest> gradientsThroughTheReparameterisationMatchFiniteDifferences() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : Fixtures.all()) {
            for (Reparam.Kind kind : Reparam.Kind.values()) {
                tests.add(DynamicTest.dynamicTest(dir.getFileName() + " " + kind.name().toLowerCase(Locale.ROOT), () -> check(dir, kind)));
            }
        }
        return tests.stream();
    }

    private static void check(Path dir, Reparam.Kind kind) throws Exception {
        try (LoadedModel model = LoadedModel.load(dir, "x"); NDManager m = NDManager.newBaseManager()) {
            LanguageModel lm = model.lm();
            boolean deep = kind == Reparam.Kind.PROJECTION;
            SafetensorsFile g = SafetensorsFile.open(dir.resolve("golden.safetensors"));
            boolean seq2seq = lm.kind() == LanguageModel.Kind.SEQ2SEQ;
            long goldenN = g.info("prompt").shape()[0];
            NDArray ids = m.create(g.readLongs("input_ids"), g.info("input_ids").djlShape());
            NDArray mask = m.create(g.readLongs("attention_mask"), g.info("attention_mask").djlShape());
            long[] positions = g.readLongs("verbalizer_position");
            for (int i = 0; i < positions.length; i++) {
                positions[i] -= seq2seq ? 0 : goldenN;
            }
            long[] vids = g.readLongs("verbalizer_ids");
            long[] classes = g.readLongs("class_labels");
            Encoder.Labels labels = new Encoder.Labels(vids, new long[][] {{vids[0]}, {vids[1]}});
            java.util.function.UnaryOperator<NDArray> lossOf = p -> Objective.VERBALIZER.loss(lm, p, deep ? PromptSite.DEEP : PromptSite.INPUT, ids, mask, positions,
                    classes, labels);

            int d = lm.hiddenSize();
            Reparam r = new Reparam(kind, N, d, H, deep ? lm.attention().prefixWidth() : d);
            Random rnd = new Random(7);
            float[] e = new float[N * d];
            for (int i = 0; i < e.length; i++) {
                e[i] = (float) (rnd.nextGaussian() * 0.5);
            }
            float[] theta = r.start(e, 11);
            for (int i = 0; i < theta.length; i++) {
                theta[i] += (float) (rnd.nextGaussian() * 0.1);
            }
            TrainConfig cfg = TrainConfig.builder().tokens(N).optimizer("adamw").objective("verbalizer").steps(1).warmup(0)
                    .build();
            float loss;
            float[] grad;
            try (NDManager root = m.newSubManager();
                 ReparamPrompt rp = new ReparamPrompt(root, r, theta, DataType.FLOAT32, TrainPlan.of(cfg), null)) {
                NDArray leaf = rp.beginStep();                                                              // [N, W]
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray l = lossOf.apply(leaf);
                    loss = l.getFloat();
                    gc.backward(l);
                }
                try (NDArray gr = rp.gradient()) {                                                          // [T]
                    grad = gr.toFloatArray();
                }
                rp.endStep();
            }
            ToDoubleFunction<float[]> lossAt = th -> {
                try (NDManager s = m.newSubManager()) {
                    return lossOf.apply(r.apply(Tensors.create(s, th))).getFloat();
                }
            };
            assertEquals(lossAt.applyAsDouble(theta), loss, 1e-5, "the folded prompt is what the loss saw");
            int eSize = N * d;
            List<Integer> checked = new ArrayList<>(top(grad, 0, eSize, 6));
            checked.addAll(top(grad, eSize, grad.length, 6));
            double worst = 0;
            double largestWeight = 0;
            for (int i : checked) {
                double best = Double.MAX_VALUE; // the closest of three steps: a ReLU kink within a step skews its difference
                for (float h : new float[] {1e-2f, 3e-3f, 1e-3f}) {
                    float[] plus = theta.clone();
                    float[] minus = theta.clone();
                    plus[i] += h;
                    minus[i] -= h;
                    double fd = (lossAt.applyAsDouble(plus) - lossAt.applyAsDouble(minus)) / (2.0 * h);
                    best = Math.min(best, Math.abs(fd - grad[i]) / (2e-4 + 0.02 * Math.abs(grad[i])));
                }
                worst = Math.max(worst, best);
                if (i >= eSize) {
                    largestWeight = Math.max(largestWeight, Math.abs(grad[i]));
                }
            }
            System.out.printf(Locale.ROOT, "REPARAM-GRADCHECK %-12s %-10s Z %6d, loss %.4f, largest |weight gradient| %.3e, "
                    + "largest |fd - autograd| / (2e-4 + 2%%) = %.3f%n", dir.getFileName(), kind.name().toLowerCase(Locale.ROOT),
                    theta.length, loss, largestWeight, worst);
            assertTrue(largestWeight > 5e-3, "the reparameterisation's weights move the loss, far above the tolerance");
            double eTop = Math.abs(grad[top(grad, 0, eSize, 1).get(0)]);
            // above the check's absolute tolerance (2e-4), so a wrong gradient of E cannot pass; ModernBERT's is the
            // smallest (5.4e-4 for mlp: the prompt rows pass its embedding LayerNorm and its local windows)
            assertTrue(eTop > 3e-4, "E moves the loss: its largest gradient " + eTop);
            assertTrue(worst <= 1.0, dir.getFileName() + " " + kind + ": " + worst);
        }
    }

    /** The k indices in [from, to) with the largest |g|. */
    private static List<Integer> top(float[] g, int from, int to, int k) {
        Integer[] idx = new Integer[to - from];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = from + i;
        }
        Arrays.sort(idx, (a, b) -> Float.compare(Math.abs(g[b]), Math.abs(g[a])));
        return Arrays.asList(idx).subList(0, Math.min(k, idx.length));
    }

    /** Residual prompt tuning starts exactly at its init (the LayerNorm's gain starts at 0); θ's layout is as documented. */
    @Test
    void residualStartsAtItsInitAndTheLayoutIsAsDocumented() {
        Reparam r = new Reparam(Reparam.Kind.RESIDUAL, 2, 4, 3, 4);
        float[] e = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f, 0.7f, -0.8f};
        try (NDManager m = NDManager.newBaseManager()) {
            float[] folded = r.apply(Tensors.create(m, r.start(e, 1))).toFloatArray();
            assertArrayEquals(e, folded, 0f, "f(θ₀) = E");
        }
        assertEquals(List.of("E", "W1", "b1", "W2", "b2", "gain", "shift"),
                r.parts().stream().map(Reparam.Part::name).toList());
        assertEquals(2 * 4 + 3 * 4 + 3 + 4 * 3 + 4 + 4 + 4, r.size());
        Reparam mlp = new Reparam(Reparam.Kind.MLP, 2, 4, 5, 4);
        assertEquals(2 * 4 + (5 * 4 + 5) + (5 * 5 + 5) + (4 * 5 + 4), mlp.size(), "PEFT's MLP head: D→H→H→D");
        Reparam proj = new Reparam(Reparam.Kind.PROJECTION, 2, 4, 5, 16);
        assertEquals(2 * 4 + (5 * 4 + 5) + (16 * 5 + 16), proj.size(), "PEFT's prefix projection: D→H→L·2·D");
        float[] t = mlp.start(e, 3);
        float bound = (float) (1 / Math.sqrt(4));
        for (int i = 8; i < 8 + 25; i++) {
            assertTrue(Math.abs(t[i]) <= bound, "torch.nn.Linear's init: within ±1/√fan_in");
        }
        assertArrayEquals(t, mlp.start(e, 3), 0f, "θ₀ is a function of the seed");
        float[] other = mlp.start(e, 4);
        assertTrue(!Arrays.equals(t, other), "another seed draws other weights");
        try (NDManager m = NDManager.newBaseManager()) {
            assertEquals(new Shape(2, 16), proj.apply(Tensors.create(m, proj.start(e, 1))).getShape());
        }
    }
    /** The network's rate: reparam_lr when set; residual's capped at 0.01 by default; mlp and projection at the prompt's. */
    @Test
    void theNetworksRateIsResidualsCappedDefaultOrTheConfigs() {
        TrainConfig residual = TrainConfig.builder().reparam("residual").build();
        assertEquals(Reparam.RESIDUAL_LR, Reparam.networkLr(residual, 0.3));
        assertEquals(0.01, Reparam.networkLr(residual, 0.1));
        assertEquals(null, Reparam.networkLr(residual, 0.01), "at or below the cap: the prompt's own rate");
        assertEquals(null, Reparam.networkLr(residual, 0.003));
        assertEquals(0.05, Reparam.networkLr(residual.toBuilder().reparamLr(0.05).build(), 0.3), "reparam_lr wins");
        assertEquals(null, Reparam.networkLr(TrainConfig.builder().reparam("mlp").build(), 0.3), "mlp: as PEFT");
        assertEquals(null, Reparam.networkLr(TrainConfig.builder().prefixProjection(true).build(), 0.3), "projection: as PEFT");
    }
}
