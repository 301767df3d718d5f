package io.softprompt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.softprompt.Fixtures;
import io.softprompt.data.Encoder;
import io.softprompt.data.Task;
import io.softprompt.loader.LoadedModel;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.scoring.Objective;
import io.softprompt.scoring.Scorer;
import io.softprompt.util.UserException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Half-precision weights (--dtype float16) on every architecture, on CPU where float16 works in DJL
 * 0.36: the frozen weights are float16, the embedding table, prompt, logits and gradients float32; the
 * prompted logits and the verbalizer gradient agree with the float32 reference within float16's
 * precision, and the model's fingerprint is the float32 load's. bfloat16 is refused on CPU (it aborts
 * the JVM there), and so is a GPU when PyTorch sees none.
 */
class HalfPrecisionTest {
    @TestFactory
    Stream<DynamicTest> float16WeightsAgreeWithTheReferenceWithinHalfPrecision() {
        return Stream.of("gpt2", "llama", "t5", "bert").map(arch -> DynamicTest.dynamicTest(arch, () -> check(Fixtures.of(arch))));
    }

    static void check(Path dir) throws Exception {
        SafetensorsFile g = SafetensorsFile.open(dir.resolve("golden.safetensors"));
        try (LoadedModel half = LoadedModel.load(dir, "half", "cpu", "float16");
             LoadedModel full = LoadedModel.load(dir, "full", "cpu", "float32");
             NDManager m = NDManager.newBaseManager(half.device())) {
            LanguageModel lm = half.lm();
            assertEquals(DataType.FLOAT16, half.dtype());
            assertEquals(DataType.FLOAT32, lm.embeddings().getDataType(), "the embedding table stays float32");
            assertEquals(full.fingerprint(), half.fingerprint(), "one model, one fingerprint, whatever the precision");
            NDArray ids = m.create(g.readLongs("input_ids"), g.info("input_ids").djlShape());
            NDArray mask = m.create(g.readLongs("attention_mask"), g.info("attention_mask").djlShape());
            boolean seq2seq = lm.kind() == LanguageModel.Kind.SEQ2SEQ;
            NDArray decIds = seq2seq ? m.create(g.readLongs("decoder_input_ids"), g.info("decoder_input_ids").djlShape()) : null;
            NDArray prompt = m.create(g.readFloats("prompt"), g.info("prompt").djlShape());                       // [N, D]
            NDArray logits = GoldenParityTest.logitsOf(lm, prompt, ids, mask, decIds);                              // [B·L, V]
            assertEquals(DataType.FLOAT32, logits.getDataType(), "logits are float32");
            float[] ref = GoldenParityTest.logitsOf(full.lm(), prompt, ids, mask, decIds).toFloatArray();
            double logitRel = relative(logits.toFloatArray(), ref);

            long[] pShape = g.info("prompt").shape();
            int b = (int) g.info("input_ids").shape()[0];
            int n = (int) pShape[0];
            long[] positions = new long[b];
            long[] vpos = g.readLongs("verbalizer_position");
            for (int i = 0; i < b; i++) {
                positions[i] = vpos[i] - (seq2seq ? 0 : n);
            }
            long[] vids = g.readLongs("verbalizer_ids");
            Encoder.Labels labels = new Encoder.Labels(vids, new long[][] {{vids[0]}, {vids[1]}});
            float[] halfGrad = lossAndGrad(lm, m, g.readFloats("prompt"), pShape, ids, mask, positions,
                    g.readLongs("class_labels"), labels, Objective.VERBALIZER);
            float[] fullGrad = GoldenParityTest.lossAndGrad(full.lm(), m, g.readFloats("prompt"), pShape, ids, mask, positions,
                    g.readLongs("class_labels"), labels, Objective.VERBALIZER);
            double lossRel = Math.abs(halfGrad[0] - fullGrad[0]) / Math.abs(fullGrad[0]);
            double gradRel = relative(Arrays.copyOfRange(halfGrad, 1, halfGrad.length),
                    Arrays.copyOfRange(fullGrad, 1, fullGrad.length));
            double gmax = 0;
            for (int i = 1; i < fullGrad.length; i++) {
                gmax = Math.max(gmax, Math.abs(fullGrad[i]));
            }
            System.out.printf("HALF %-10s float16 weights vs float32: prompted logits %.1e, verbalizer loss %.1e, "
                    + "prompt gradient %.1e (max difference / max magnitude %.1e)%n", dir.getFileName(), logitRel, lossRel,
                    gradRel, gmax);
            // float16 keeps 11 significant bits (2^-11 = 4.9e-4 relative per value); a few layers of sums stay well inside 1e-2
            assertTrue(logitRel < 1e-2, "logits " + logitRel);
            assertTrue(lossRel < 1e-2, "loss " + lossRel);
            // T5 does not scale its attention scores, so its float16 softmax is the least precise (transformers
            // upcasts T5's softmax to float32; DJL casts cut gradients, see Layers.upcast): measured 4.3e-2
            double gradTol = seq2seq ? 6e-2 : 1e-2;
            assertTrue(gradRel < gradTol, "gradient " + gradRel);
            assertTrue(logitRel > 0, "the float16 path really ran in float16");
        }
    }

    /** As GoldenParityTest's, with the prompt made in the model's dtype (a cast would cut the gradient; see Layers.upcast). */
    static float[] lossAndGrad(LanguageModel lm, NDManager m, float[] promptValues, long[] pShape, NDArray ids,
            NDArray mask, long[] positions, long[] classes, Encoder.Labels labels, Objective objective) {
        try (NDManager scope = m.newSubManager()) {
            NDArray prompt = scope.create(promptValues, new Shape(pShape)).toType(lm.dtype(), true);
            prompt.setRequiresGradient(true);
            float loss;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray l = objective.loss(lm, prompt, ids, mask, positions, classes, labels);
                assertEquals(DataType.FLOAT32, l.getDataType(), "the loss is float32");
                loss = l.getFloat();
                gc.backward(l);
            }
            float[] grad;
            try (NDArray gr = prompt.getGradient()) {
                grad = gr.toType(DataType.FLOAT32, true).toFloatArray();
            }
            float[] out = new float[grad.length + 1];
            out[0] = loss;
            System.arraycopy(grad, 0, out, 1, grad.length);
            return out;
        }
    }

    /** max |a - b| / max |b|. */
    static double relative(float[] a, float[] b) {
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return diff / scale;
    }

    /** Scoring through a half model (the prefix cache included) gives the float32 model's probabilities within 1e-2. */
    @TestFactory
    Stream<DynamicTest> aHalfModelScoresAsTheFloat32ModelDoes() {
        return Stream.of("gpt2", "llama", "t5", "bert").map(arch -> DynamicTest.dynamicTest(arch, () -> {
            Path dir = Fixtures.of(arch);
            try (LoadedModel half = LoadedModel.load(dir, "half", "cpu", "float16");
                 LoadedModel full = LoadedModel.load(dir, "full", "cpu", "float32")) {
                Task t = new Task("mood", "{sentence} it was", null, null,
                        new LinkedHashMap<>(Map.of("0", " bad", "1", " good")), null, null, null, null)
                        .validated("mood");
                Encoder enc = new Encoder(full.tokenizer(), t, 32, full.lm());
                List<Encoder.Encoded> rows = new ArrayList<>();
                for (String text : new String[] {"a great film", "a dull boring plot", "good fun and a fine story", "bad"}) {
                    rows.add(enc.encode(text, -1));
                }
                int d = full.lm().hiddenSize();
                float[] p = new float[3 * d];
                Random r = new Random(4);
                for (int i = 0; i < p.length; i++) {
                    p[i] = (float) (r.nextGaussian() * 0.05);
                }
                double worst = 0;
                try (Scorer hs = new Scorer(half.lm(), true);
                     Scorer fs = new Scorer(full.lm(), true)) {
                    float[][] a = hs.probabilities(new Scorer.Slot(p, 3, enc.labels()), rows, 2);
                    float[][] b = fs.probabilities(new Scorer.Slot(p, 3, enc.labels()), rows, 2);
                    for (int i = 0; i < a.length; i++) {
                        for (int c = 0; c < a[i].length; c++) {
                            worst = Math.max(worst, Math.abs(a[i][c] - b[i][c]));
                        }
                    }
                }
                System.out.printf("HALF %-10s scoring: largest probability difference to float32 %.1e%n", dir.getFileName(), worst);
                assertTrue(worst < 1e-2, arch + ": " + worst);
            }
        }));
    }

    /** A float16 checkpoint loads as float16 straight from its bytes: the same values as widened to float32. */
    @Test
    void aFloat16CheckpointStaysFloat16(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path f16 = FixtureCopies.copy(Fixtures.of("gpt2"), tmp.resolve("gpt2-f16"), "F16", 1);
        try (LoadedModel half = LoadedModel.load(f16, "half", "cpu", "float16");
             LoadedModel wide = LoadedModel.load(f16, "wide", "cpu", "float32");
             NDManager m = NDManager.newBaseManager(half.device())) {
            assertEquals(DataType.FLOAT16, half.dtype());
            assertEquals(wide.fingerprint(), half.fingerprint());
            NDArray ids = m.create(new long[] {5, 6, 7, 8}, new Shape(1, 4));
            NDArray mask = m.create(new long[] {1, 1, 1, 1}, new Shape(1, 4));
            float[] a = GoldenParityTest.logitsOf(half.lm(), null, ids, mask, null).toFloatArray();
            float[] b = GoldenParityTest.logitsOf(wide.lm(), null, ids, mask, null).toFloatArray();
            double rel = relative(a, b);
            System.out.printf("HALF gpt2 F16 checkpoint: float16 compute vs the same weights in float32: logits %.1e%n", rel);
            assertTrue(rel < 1e-2 && rel > 0, "" + rel);
        }
    }

    @Test
    void bfloat16AndAbsentGpusAreOneLineRefusals() {
        Path dir = Fixtures.of("gpt2");
        UserException bf = assertThrows(UserException.class, () -> LoadedModel.load(dir, "x", "cpu", "bfloat16"));
        assertTrue(bf.getMessage().contains("bfloat16 arrays abort"), bf.getMessage());
        UserException bad = assertThrows(UserException.class, () -> LoadedModel.load(dir, "x", "cpu", "float8"));
        assertTrue(bad.getMessage().startsWith("dtype float8: expected auto, float32, float16 or bfloat16"), bad.getMessage());
        UserException dev = assertThrows(UserException.class, () -> LoadedModel.load(dir, "x", "tpu", "auto"));
        assertTrue(dev.getMessage().startsWith("device tpu: expected cpu, gpu, gpu:N or auto"), dev.getMessage());
        if (Engine.getInstance().getGpuCount() == 0) {
            UserException gpu = assertThrows(UserException.class, () -> LoadedModel.load(dir, "x", "gpu:1", "auto"));
            assertTrue(gpu.getMessage().contains("PyTorch sees no GPU"), gpu.getMessage());
            try (LoadedModel auto = LoadedModel.load(dir, "x", "auto", "auto")) {
                assertEquals(Device.cpu(), auto.device());
                assertEquals(DataType.FLOAT32, auto.dtype(), "auto keeps float32 on CPU");
            }
        }
    }
}
