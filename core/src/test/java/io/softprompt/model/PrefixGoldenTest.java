package io.softprompt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.loader.LoadedModel;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.scoring.Objective;
import io.softprompt.util.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Deep prompts (prefix tuning, P-Tuning v2) at the model level ({@link DeepSite}): PEFT's prefix table
 * Q [Np, L·2·Hkv·K] as a key/value cache computes exactly what peft 0.17.1's PrefixTuningConfig computes
 * (the mask grown by Np ones, the input's positions starting at Np), checked against
 * golden-prefix.safetensors on every fixture that holds one (gpt2 and llama from peft; bert from
 * P-Tuning v2's own path, as peft 0.17.1 fails there; committed copies and -Dsoftprompt.fixtures
 * folders): logits, both losses and both gradients with respect to Q, largest difference printed. And
 * deep = input on the decoders: the table an input prompt leaves in every layer scores as that prompt.
 * T5, with no reference, by gradient checks (as every architecture).
 */
class PrefixGoldenTest {
    @TestFactory
    Stream<DynamicTest> prefixesMatchPeftAndPTuningV2() {
        List<DynamicTest> tests = new ArrayList<>();
        List<Path> dirs = new ArrayList<>(Fixtures.all());
        dirs.addAll(Fixtures.extra());
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Path dir : dirs) {
            if (Files.isRegularFile(dir.resolve("golden-prefix.safetensors")) && takesPrefix(dir) && seen.add(digest(dir))) {
                tests.add(DynamicTest.dynamicTest(dir.getFileName().toString(), () -> check(dir)));
            }
        }
        assertTrue(tests.size() >= 3, "the committed gpt2, llama and bert fixtures hold prefix goldens");
        return tests.stream();
    }

    /** The prefix golden's and the model's bytes: an extra fixture identical to a committed one runs once. */
    static String digest(Path dir) {
        try {
            java.security.MessageDigest md = io.softprompt.util.Hashing.sha256();
            md.update(Files.readAllBytes(dir.resolve("golden-prefix.safetensors")));
            md.update(Files.readAllBytes(dir.resolve("model.safetensors")));
            return java.util.HexFormat.of().formatHex(md.digest());
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    static String type(Path dir) {
        try {
            return Json.MAPPER.readTree(dir.resolve("config.json").toFile()).path("model_type").asText();
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Whether the model takes a deep prompt (every architecture but T5, so far). */
    static boolean takesPrefix(Path dir) {
        return !type(dir).equals("t5");
    }

    /** Whether the model is a decoder LM (an input prompt's keys and values do not depend on the input). */
    static boolean decoder(Path dir) {
        return !List.of("t5", "bert", "roberta", "modernbert").contains(type(dir)); // encoders: their prompts see the input
    }

    /** Hidden states [B, T, D] of the input after the prefix. */
    static NDArray hidden(LanguageModel lm, NDArray q, NDArray ids, NDArray mask) {
        return PromptSite.DEEP.hidden(lm, q, ids, mask);
    }

    static void check(Path dir) throws Exception {
        JsonNode atol = Json.MAPPER.readTree(dir.resolve("golden-prefix.json").toFile()).get("suggested_atol");
        double atolLogits = atol.get("logits_prefix").asDouble();
        double atolGrad = atol.get("grad_prefix").asDouble();
        double atolLoss = Json.MAPPER.readTree(dir.resolve("golden.json").toFile()).get("suggested_atol").get("loss").asDouble();
        SafetensorsFile g = SafetensorsFile.open(dir.resolve("golden.safetensors"));
        SafetensorsFile gp = SafetensorsFile.open(dir.resolve("golden-prefix.safetensors"));
        List<String> report = new ArrayList<>();
        try (LoadedModel model = LoadedModel.load(dir, dir.getFileName().toString());
             NDManager m = NDManager.newBaseManager()) {
            LanguageModel lm = model.lm();
            int b = (int) g.info("input_ids").shape()[0];
            int t = (int) g.info("input_ids").shape()[1];
            int v = lm.vocabSize();
            long[] maskFlat = g.readLongs("attention_mask");
            NDArray ids = m.create(g.readLongs("input_ids"), g.info("input_ids").djlShape());
            NDArray mask = m.create(maskFlat, g.info("attention_mask").djlShape());
            float[] qValues = gp.readFloats("prefix");
            Shape qShape = gp.info("prefix").djlShape();

            // logits of the input tokens [B, T, V], at real positions
            NDArray h = hidden(lm, m.create(qValues, qShape), ids, mask);
            float[] logits = lm.logits(h.reshape(-1, h.getShape().get(2))).toFloatArray();
            float[] golden = gp.readFloats("logits_prefix");
            assertEquals(golden.length, logits.length);
            double d = GoldenParityTest.maxDiffAtReal(logits, golden, maskFlat, b, t, 0, v);
            report.add(line("logits_prefix", d, atolLogits));

            // full-vocabulary loss at (b, position, target) and its gradient with respect to Q
            long[] rows = g.readLongs("loss_batch_index");
            long[] pos = gp.readLongs("loss_position_prefix");
            long[] target = g.readLongs("loss_target");
            float[] lmLoss = lossAndGrad(lm, m, qValues, qShape, ids, mask, flat(rows, pos, t), target, null);
            // a loss near 6 is only known to a few float32 steps (ulp 4.8e-7): the tolerance is at least 4 of them
            float goldenLoss = gp.readFloats("loss_prefix")[0];
            report.add(line("loss_prefix", Math.abs(lmLoss[0] - goldenLoss), Math.max(atolLoss, 4 * Math.ulp(goldenLoss))));
            report.add(line("grad_prefix", maxDiff(lmLoss, gp.readFloats("grad_prefix")), atolGrad));

            // verbalizer loss: CE over the two label words at each row's decision position
            long[] vpos = gp.readLongs("verbalizer_position_prefix");
            long[] all = new long[b];
            for (int i = 0; i < b; i++) {
                all[i] = i;
            }
            float[] vLoss = lossAndGrad(lm, m, qValues, qShape, ids, mask, flat(all, vpos, t), g.readLongs("class_labels"),
                    g.readLongs("verbalizer_ids"));
            float goldenV = gp.readFloats("loss_verbalizer_prefix")[0];
            report.add(line("loss_verbalizer_prefix", Math.abs(vLoss[0] - goldenV), Math.max(atolLoss, 4 * Math.ulp(goldenV))));
            report.add(line("grad_prefix_verbalizer", maxDiff(vLoss, gp.readFloats("grad_prefix_verbalizer")), atolGrad));
        }
        for (String r : report) {
            System.out.printf("GOLDEN-PREFIX %-14s %s%n", dir.getFileName(), r);
        }
        for (String r : report) {
            assertFalse(r.endsWith("FAIL"), dir.getFileName() + ": " + r);
        }
    }

    /**
     * Deep = input: a deep prompt made of the keys and values an input prompt P leaves in every layer
     * scores every input as P does: the tokens' logits equal P's at the token positions (≤ 1e-5), and
     * the table has PEFT's width L·2·Hkv·K.
     */
    @TestFactory
    Stream<DynamicTest> aDeepPromptMadeFromAnInputPromptScoresAsIt() {
        return Fixtures.all().stream().filter(PrefixGoldenTest::decoder).map(dir -> DynamicTest.dynamicTest(
                dir.getFileName().toString(), () -> {
                    try (LoadedModel model = LoadedModel.load(dir, "x"); NDManager m = NDManager.newBaseManager()) {
                        LanguageModel lm = model.lm();
                        SafetensorsFile g = SafetensorsFile.open(dir.resolve("golden.safetensors"));
                        int b = (int) g.info("input_ids").shape()[0];
                        int t = (int) g.info("input_ids").shape()[1];
                        long[] maskFlat = g.readLongs("attention_mask");
                        NDArray ids = m.create(g.readLongs("input_ids"), g.info("input_ids").djlShape());
                        NDArray mask = m.create(maskFlat, g.info("attention_mask").djlShape());
                        NDArray p = m.create(g.readFloats("prompt"), g.info("prompt").djlShape());          // [N, D]
                        int n = (int) p.getShape().get(0);
                        NDArray table = DeepSite.fromInputPrompt(lm, p);                                  // [N, L·2·Hkv·K]
                        assertEquals(new Shape(n, lm.attention().prefixWidth()), table.getShape());
                        float[] input = PromptSite.INPUT.hidden(lm, p, ids, mask).toFloatArray();                  // [B, N+T, D]
                        float[] deep = PromptSite.DEEP.hidden(lm, table, ids, mask).toFloatArray();   // [B, T, D]
                        int d = lm.hiddenSize();
                        double worst = 0;
                        for (int i = 0; i < b; i++) {
                            for (int s = 0; s < t; s++) {
                                if (maskFlat[i * t + s] == 0) {
                                    continue;
                                }
                                for (int c = 0; c < d; c++) {
                                    worst = Math.max(worst, Math.abs(input[(i * (n + t) + n + s) * d + c] - deep[(i * t + s) * d + c]));
                                }
                            }
                        }
                        System.out.printf(Locale.ROOT, "DEEP=INPUT %-12s largest |hidden difference| %.3e%n", dir.getFileName(), worst);
                        assertTrue(worst <= 1e-5, dir.getFileName() + ": " + worst);
                    }
                }));
    }

    /**
     * Gradient check of the deep prompt on every architecture, T5 included (it has no reference): the
     * gradient with respect to the table equals central finite differences of the loss at the 12
     * coordinates with the largest gradient, within 2e-4 + 2% (float32, step 1e-2; the gradients checked
     * are above 5e-3, so a wrong or vanishing gradient fails). The loss: T5's
     * decoder cross-entropy on the golden labels after the prefixed encoder; the others' full-vocabulary
     * cross-entropy at the golden positions.
     */
    @TestFactory
    Stream<DynamicTest> deepPromptGradientsMatchFiniteDifferences() {
        return Fixtures.all().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            try (LoadedModel model = LoadedModel.load(dir, "x"); NDManager m = NDManager.newBaseManager()) {
                LanguageModel lm = model.lm();
                SafetensorsFile g = SafetensorsFile.open(dir.resolve("golden.safetensors"));
                int t = (int) g.info("input_ids").shape()[1];
                NDArray ids = m.create(g.readLongs("input_ids"), g.info("input_ids").djlShape());
                NDArray mask = m.create(g.readLongs("attention_mask"), g.info("attention_mask").djlShape());
                int np = 3;
                Shape shape = new Shape(np, lm.attention().prefixWidth());
                float[] q = new float[(int) shape.size()];
                java.util.Random r = new java.util.Random(5);
                for (int i = 0; i < q.length; i++) {
                    q[i] = (float) (r.nextGaussian() * 0.5);
                }
                java.util.function.UnaryOperator<NDArray> lossOf;
                if (lm.kind() == LanguageModel.Kind.SEQ2SEQ) {
                    NDArray dec = m.create(g.readLongs("decoder_input_ids"), g.info("decoder_input_ids").djlShape());
                    long[] labels = g.readLongs("labels");
                    int steps = (int) g.info("labels").shape()[1];
                    lossOf = table -> {
                        NDArray enc = PromptSite.DEEP.hidden(lm, table, ids, mask);               // [B, T, D]
                        NDArray h = lm.decode(dec, enc, mask);                                         // [B, R, D]
                        NDArray logits = lm.logits(h.reshape(-1, h.getShape().get(2)));                // [B·R, V]
                        return Objective.crossEntropy(logits, table.getManager().create(labels).reshape(-1));
                    };
                    assertEquals(labels.length, g.info("labels").shape()[0] * steps);
                } else {
                    long[] at = flat(g.readLongs("loss_batch_index"), shift(g.readLongs("loss_position"), g.info("prompt").shape()[0]), t);
                    long[] targets = g.readLongs("loss_target");
                    lossOf = table -> Objective.crossEntropy(lm.logits(Layers.rows(hidden(lm, table, ids, mask), at)),
                            table.getManager().create(targets));
                }
                double[] fd = finiteDifferences(m, q, shape, lossOf);
                double largest = fd[1];
                double worst = fd[2];
                System.out.printf(Locale.ROOT, "DEEP-GRADCHECK %-12s loss %.4f, largest |gradient| %.3e, largest |fd - autograd| "
                        + "/ (2e-4 + 2%%) = %.3f%n", dir.getFileName(), fd[0], largest, worst);
                assertTrue(largest > 5e-3, dir.getFileName() + ": the prefix moves the loss, far above the tolerance");
                assertTrue(worst <= 1.0, dir.getFileName() + ": " + worst);
            }
        }));
    }

    /**
     * Central finite differences (step 1e-2) of the loss at the 12 coordinates of {@code q} with the largest
     * autograd gradient: {loss, the largest |gradient|, the largest |fd − autograd| / (2e-4 + 2% |autograd|)}.
     */
    static double[] finiteDifferences(NDManager m, float[] q, Shape shape, java.util.function.UnaryOperator<NDArray> lossOf) {
        float[] lg = GoldenParityTest.lossAndGrad(m, q, shape, lossOf);
        Integer[] order = new Integer[q.length];
        for (int i = 0; i < q.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> Float.compare(Math.abs(lg[b + 1]), Math.abs(lg[a + 1])));
        float h = 1e-2f;
        double worst = 0;
        for (int k = 0; k < 12; k++) {
            int i = order[k];
            float[] plus = q.clone();
            float[] minus = q.clone();
            plus[i] += h;
            minus[i] -= h;
            double fd = (lossAt(m, plus, shape, lossOf) - lossAt(m, minus, shape, lossOf)) / (2.0 * h);
            double ad = lg[i + 1];
            worst = Math.max(worst, Math.abs(fd - ad) / (2e-4 + 0.02 * Math.abs(ad)));
        }
        return new double[] {lg[0], Math.abs(lg[order[0] + 1]), worst};
    }

    static double lossAt(NDManager m, float[] q, Shape shape, java.util.function.UnaryOperator<NDArray> lossOf) {
        try (NDManager s = m.newSubManager()) {
            return lossOf.apply(s.create(q, shape)).getFloat();
        }
    }

    /** The golden prompt positions shifted back by N onto the token axis. */
    static long[] shift(long[] positions, long n) {
        long[] out = positions.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] -= n;
        }
        return out;
    }

    static long[] flat(long[] rows, long[] pos, int t) {
        long[] out = new long[rows.length];
        for (int i = 0; i < rows.length; i++) {
            out[i] = rows[i] * t + pos[i];
        }
        return out;
    }

    /** [loss, dloss/dQ...]: mean CE of the rows at flat positions against targets (over the vocabulary, or over classes). */
    static float[] lossAndGrad(LanguageModel lm, NDManager m, float[] qValues, Shape qShape, NDArray ids,
            NDArray mask, long[] at, long[] targets, long[] classes) {
        return GoldenParityTest.lossAndGrad(m, qValues, qShape, q -> {
            NDManager scope = q.getManager();
            NDArray picked = Layers.rows(hidden(lm, q, ids, mask), at);                          // [M, D]
            NDArray logits = classes == null ? lm.logits(picked) : lm.logits(picked, scope.create(classes)); // [M, V|C]
            return Objective.crossEntropy(logits, scope.create(targets));
        });
    }

    static double maxDiff(float[] lossAndGrad, float[] golden) {
        assertEquals(golden.length, lossAndGrad.length - 1, "gradient size");
        double max = 0;
        for (int i = 0; i < golden.length; i++) {
            max = Math.max(max, Math.abs(lossAndGrad[i + 1] - golden[i]));
        }
        return max;
    }

    static String line(String what, double diff, double atol) {
        return String.format(Locale.ROOT, "%-24s max|diff| %.3e  atol %.1e  %s", what, diff, atol, diff <= atol ? "ok" : "FAIL");
    }
}
