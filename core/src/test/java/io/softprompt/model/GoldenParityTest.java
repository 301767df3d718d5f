package io.softprompt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.data.Encoder;
import io.softprompt.loader.LoadedModel;
import io.softprompt.loader.ModelRegistry;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.scoring.Objective;
import io.softprompt.util.Hashing;
import io.softprompt.util.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Golden parity against the reference implementation (transformers + peft): for every fixture folder
 * under -Dsoftprompt.fixtures, load with the production loader and compare plain logits, prompted
 * logits, the lm loss and its prompt gradient, the verbalizer loss and its gradient, within the
 * fixture's suggested_atol. Prints the largest difference per quantity (as llm.c's test_gpt2.c).
 */
class GoldenParityTest {

    /** The committed fixtures, then every extra one under -Dsoftprompt.fixtures (an exact copy of a committed one runs once). */
    @TestFactory
    Stream<DynamicTest> everyFixture() throws Exception {
        List<Path> committed = Fixtures.all();
        assertFalse(committed.isEmpty(), "no committed fixtures under " + Fixtures.root());
        List<DynamicTest> tests = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (Path dir : committed) {
            seen.add(digest(dir));
            tests.add(DynamicTest.dynamicTest(dir.getFileName().toString(), () -> check(dir, dir.getFileName().toString())));
        }
        List<Path> extra = Fixtures.extra();
        System.out.printf("GOLDEN %d committed fixture(s); %d extra under -Dsoftprompt.fixtures=%s%n", committed.size(),
                extra.size(), System.getProperty("softprompt.fixtures", "(not set)"));
        for (Path dir : extra) {
            String label = "extra/" + dir.getFileName();
            if (!seen.add(digest(dir))) {
                System.out.printf("GOLDEN %-20s identical to a committed fixture (checked above)%n", label);
                continue;
            }
            tests.add(DynamicTest.dynamicTest(label, () -> check(dir, label)));
        }
        return tests.stream();
    }

    /** SHA-256 over golden.safetensors and model.safetensors: same bytes, same fixture. */
    static String digest(Path dir) throws IOException {
        MessageDigest md = Hashing.sha256();
        for (String f : List.of("golden.safetensors", "model.safetensors", "config.json")) {
            Path p = dir.resolve(f);
            if (Files.isRegularFile(p)) {
                md.update(Files.readAllBytes(p));
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static void check(Path dir, String label) throws Exception {
        ModelFolder folder = ModelFolder.open(dir);
        // an unsupported architecture fails: a skipped fixture would hide that parity was never checked
        assertTrue(ModelRegistry.supports(folder), label + ": model_type '" + folder.modelType() + "' is not supported");
        JsonNode golden = Json.MAPPER.readTree(dir.resolve("golden.json").toFile());
        JsonNode atol = golden.get("suggested_atol");
        double atolLogits = atol.get("logits").asDouble();
        double atolLoss = atol.get("loss").asDouble();
        double atolGrad = atol.get("grad_prompt").asDouble();
        SafetensorsFile g = SafetensorsFile.open(dir.resolve("golden.safetensors"));
        List<String> report = new ArrayList<>();
        try (LoadedModel model = LoadedModel.load(dir, dir.getFileName().toString());
             NDManager m = NDManager.newBaseManager()) {
            LanguageModel lm = model.lm();
            long[] idsShape = g.info("input_ids").shape();
            int b = (int) idsShape[0];
            int t = (int) idsShape[1];
            long[] maskFlat = g.readLongs("attention_mask");
            NDArray ids = m.create(g.readLongs("input_ids"), g.info("input_ids").djlShape());
            NDArray mask = m.create(maskFlat, g.info("attention_mask").djlShape());
            long[] pShape = g.info("prompt").shape();
            int n = (int) pShape[0];
            int v = lm.vocabSize();

            boolean seq2seq = lm.kind() == LanguageModel.Kind.SEQ2SEQ;
            NDArray decIds = seq2seq ? m.create(g.readLongs("decoder_input_ids"), g.info("decoder_input_ids").djlShape()) : null;
            int rows = seq2seq ? (int) g.info("decoder_input_ids").shape()[1] : t;   // time axis of the logits

            // (a) plain logits [B, T, V] (t5: decoder logits [B, R, V]), compared at real positions
            float[] logits = logitsOf(lm, null, ids, mask, decIds).toFloatArray();
            double dPlain = seq2seq ? maxDiff(logits, 0, g.readFloats("logits"))
                    : maxDiffAtReal(logits, g.readFloats("logits"), maskFlat, b, t, 0, v);
            report.add(line("logits", dPlain, atolLogits));

            // (b) logits with the prompt [B, N+T, V] (t5: [B, R, V])
            NDArray prompt = m.create(g.readFloats("prompt"), g.info("prompt").djlShape()); // [N, D]
            float[] logitsP = logitsOf(lm, prompt, ids, mask, decIds).toFloatArray();
            double dPrompt = seq2seq ? maxDiff(logitsP, 0, g.readFloats("logits_prompt"))
                    : maxDiffAtReal(logitsP, g.readFloats("logits_prompt"), maskFlat, b, t, n, v);
            report.add(line("logits_prompt", dPrompt, atolLogits));

            // (c) lm objective: full-vocabulary CE at the (b, pos, target) triples and its prompt gradient.
            // Each batch row becomes its own "class" whose label sequence is that row's targets.
            long[] lossB = g.readLongs("loss_batch_index");
            long[] lossPos = g.readLongs("loss_position");
            long[] lossTarget = g.readLongs("loss_target");
            long[][] seqs = new long[b][];
            long[] positions = new long[b];
            for (int i = 0; i < b; i++) {
                List<Long> mine = new ArrayList<>();
                for (int k = 0; k < lossB.length; k++) {
                    if (lossB[k] == i) {
                        mine.add(lossTarget[k]);
                        positions[i] = lossPos[k] - (seq2seq ? 0 : n);
                    }
                }
                seqs[i] = mine.stream().mapToLong(Long::longValue).toArray();
            }
            long[] first = new long[b];
            long[] rowsAsClasses = new long[b];
            for (int i = 0; i < b; i++) {
                first[i] = seqs[i][0];
                rowsAsClasses[i] = i;
            }
            float[] lmLossGrad = lossAndGrad(lm, m, g.readFloats("prompt"), pShape, ids, mask, positions,
                    rowsAsClasses, new Encoder.Labels(first, seqs), Objective.LM);
            report.add(line("loss", Math.abs(lmLossGrad[0] - g.readFloats("loss")[0]), atolLoss));
            report.add(line("grad_prompt", maxDiff(lmLossGrad, 1, g.readFloats("grad_prompt")), atolGrad));

            // (d) verbalizer objective: CE over the label tokens at the decision position
            long[] vpos = g.readLongs("verbalizer_position");
            for (int i = 0; i < b; i++) {
                positions[i] = vpos[i] - (seq2seq ? 0 : n);
            }
            long[] vids = g.readLongs("verbalizer_ids");
            float[] vLossGrad = lossAndGrad(lm, m, g.readFloats("prompt"), pShape, ids, mask, positions,
                    g.readLongs("class_labels"), new Encoder.Labels(vids, new long[][] {{vids[0]}, {vids[1]}}),
                    Objective.VERBALIZER);
            report.add(line("loss_verbalizer", Math.abs(vLossGrad[0] - g.readFloats("loss_verbalizer")[0]), atolLoss));
            report.add(line("grad_prompt_verbalizer",
                    maxDiff(vLossGrad, 1, g.readFloats("grad_prompt_verbalizer")), atolGrad));
            assertEquals(rows, seq2seq ? rows : t);
        }
        for (String r : report) {
            System.out.printf("GOLDEN %-20s %s%n", label, r);
        }
        for (String r : report) {
            assertTrue(r.endsWith("ok"), label + ": " + r);
        }
    }

    /** Full logits over the time axis: [B·L, V] with L = N+T (decoder, masked) or R decoder steps (seq2seq). */
    static NDArray logitsOf(LanguageModel lm, NDArray prompt, NDArray ids, NDArray mask, NDArray decIds) {
        if (lm.kind() == LanguageModel.Kind.SEQ2SEQ) {
            var enc = PromptSite.INPUT.run(lm, prompt, ids, mask);
            NDArray h = lm.decode(decIds, enc.get(0), enc.get(1));                    // [B, R, D]
            return lm.logits(h.reshape(-1, h.getShape().get(2)));
        }
        NDArray h = PromptSite.INPUT.hidden(lm, prompt, ids, mask);                           // [B, S, D]
        return lm.logits(h.reshape(-1, h.getShape().get(2)));
    }

    /** Returns [loss, grad...]. A fresh prompt each call so gradients never accumulate. */
    static float[] lossAndGrad(LanguageModel lm, NDManager m, float[] promptValues, long[] pShape, NDArray ids,
            NDArray mask, long[] positions, long[] classes, Encoder.Labels labels, Objective objective) {
        return lossAndGrad(m, promptValues, new Shape(pShape),
                prompt -> objective.loss(lm, prompt, ids, mask, positions, classes, labels));
    }

    /** [loss, d loss / d leaf...] for a fresh leaf of the given values and shape, and a loss of it. */
    static float[] lossAndGrad(NDManager m, float[] values, Shape shape, java.util.function.UnaryOperator<NDArray> lossOf) {
        try (NDManager scope = m.newSubManager()) {
            NDArray leaf = scope.create(values, shape);
            leaf.setRequiresGradient(true);
            float loss;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray l = lossOf.apply(leaf);
                loss = l.getFloat();
                gc.backward(l);
            }
            float[] grad;
            try (NDArray gr = leaf.getGradient()) {
                grad = gr.toFloatArray();
            }
            float[] out = new float[grad.length + 1];
            out[0] = loss;
            System.arraycopy(grad, 0, out, 1, grad.length);
            return out;
        }
    }

    /** Max |ours - golden| over real positions; ours and golden are [B, N+T, V], mask [B, T]. */
    static double maxDiffAtReal(float[] ours, float[] golden, long[] mask, int b, int t, int n, int v) {
        assertEquals(golden.length, ours.length, "logits size");
        double max = 0;
        int s = n + t;
        for (int i = 0; i < b; i++) {
            for (int p = 0; p < s; p++) {
                if (p >= n && mask[i * t + (p - n)] == 0) {
                    continue;
                }
                int base = (i * s + p) * v;
                for (int k = 0; k < v; k++) {
                    max = Math.max(max, Math.abs(ours[base + k] - golden[base + k]));
                }
            }
        }
        return max;
    }

    static double maxDiff(float[] ours, int offset, float[] golden) {
        assertEquals(golden.length, ours.length - offset, "size");
        double max = 0;
        for (int i = 0; i < golden.length; i++) {
            max = Math.max(max, Math.abs(ours[i + offset] - golden[i]));
        }
        return max;
    }

    static String line(String what, double diff, double atol) {
        return String.format(Locale.ROOT, "%-24s max|diff| %.3e  atol %.1e  %s", what, diff, atol,
                diff <= atol ? "ok" : "FAIL");
    }
}
