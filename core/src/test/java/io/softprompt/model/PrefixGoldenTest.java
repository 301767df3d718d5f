package io.softprompt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.loader.LoadedModel;
import io.softprompt.safetensors.SafetensorsFile;
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
 * Deep prompts (prefix tuning, P-Tuning v2), first step: the key/value cache the decoders already have
 * for generation and the prompt-prefix cache, seeded with PEFT's prefix table Q [Np, L·2·Dkv] (layer l's
 * keys from rows 2l, values from 2l+1 of its [Np, L·2, Hkv, K] view), computes exactly what peft 0.17.1's
 * PrefixTuningConfig computes: the mask grown by Np ones, the input's positions starting at Np. Checked
 * against golden-prefix.safetensors on the decoder fixtures that hold one (gpt2, llama): logits, both
 * losses and both gradients with respect to Q, largest difference printed. BERT's prefix golden (P-Tuning
 * v2's own path) waits for the masked LM to take a prefix cache.
 */
class PrefixGoldenTest {
    @TestFactory
    Stream<DynamicTest> decoderPrefixesMatchPeft() {
        List<DynamicTest> tests = new ArrayList<>();
        List<Path> dirs = new ArrayList<>(Fixtures.all());
        dirs.addAll(Fixtures.extra());
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Path dir : dirs) {
            if (Files.isRegularFile(dir.resolve("golden-prefix.safetensors")) && decoder(dir) && seen.add(digest(dir))) {
                tests.add(DynamicTest.dynamicTest(dir.getFileName().toString(), () -> check(dir)));
            }
        }
        assertTrue(tests.size() >= 2, "the committed gpt2 and llama fixtures hold prefix goldens");
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

    static boolean decoder(Path dir) {
        try {
            String type = Json.MAPPER.readTree(dir.resolve("config.json").toFile()).path("model_type").asText();
            return !type.equals("bert") && !type.equals("roberta") && !type.equals("t5");
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Layers L and key/value heads Hkv from config.json (GPT-2's names, else Llama's). */
    static int[] layersAndKvHeads(Path dir) throws Exception {
        JsonNode c = Json.MAPPER.readTree(dir.resolve("config.json").toFile());
        int layers = c.has("n_layer") ? c.get("n_layer").asInt() : c.get("num_hidden_layers").asInt();
        int heads = c.has("n_head") ? c.get("n_head").asInt() : c.get("num_attention_heads").asInt();
        int kv = c.has("num_key_value_heads") ? c.get("num_key_value_heads").asInt() : heads;
        return new int[] {layers, kv};
    }

    /**
     * A cache holding the prefix for B rows: Q [Np, L·2·Dkv] viewed [Np, L·2, Hkv, K], permuted to
     * [L·2, Hkv, Np, K]; layer l appends rows 2l (keys) and 2l+1 (values), each [B, Hkv, Np, K].
     */
    static KvCache prefixCache(NDManager m, NDArray q, int layers, int kvHeads, int b) {
        long np = q.getShape().get(0);
        long k = q.getShape().get(1) / (layers * 2L * kvHeads);
        NDArray table = q.reshape(np, layers * 2L, kvHeads, k).transpose(1, 2, 0, 3);       // [L·2, Hkv, Np, K]
        KvCache cache = new KvCache(m);
        for (int l = 0; l < layers; l++) {
            NDArray key = table.get(new NDIndex(2 * l)).expandDims(0).repeat(0, b);            // [B, Hkv, Np, K]
            NDArray value = table.get(new NDIndex(2 * l + 1)).expandDims(0).repeat(0, b);      // [B, Hkv, Np, K]
            cache.append(l, key, value);
        }
        cache.advance((int) np);
        return cache;
    }

    /** Hidden states [B, T, D] of the input after the prefix. */
    static NDArray hidden(LanguageModel lm, NDManager m, NDArray q, int[] lk, NDArray ids, NDArray mask) {
        int b = (int) ids.getShape().get(0);
        long np = q.getShape().get(0);
        try (KvCache cache = prefixCache(m, q, lk[0], lk[1], b)) {
            NDArray keyMask = NDArrays.concat(new NDList(m.ones(new Shape(b, np), DataType.INT64), mask), 1); // [B, Np+T]
            return lm.forward(lm.embed(ids), keyMask, cache);                                               // [B, T, D]
        }
    }

    static void check(Path dir) throws Exception {
        JsonNode atol = Json.MAPPER.readTree(dir.resolve("golden-prefix.json").toFile()).get("suggested_atol");
        double atolLogits = atol.get("logits_prefix").asDouble();
        double atolGrad = atol.get("grad_prefix").asDouble();
        double atolLoss = Json.MAPPER.readTree(dir.resolve("golden.json").toFile()).get("suggested_atol").get("loss").asDouble();
        SafetensorsFile g = SafetensorsFile.open(dir.resolve("golden.safetensors"));
        SafetensorsFile gp = SafetensorsFile.open(dir.resolve("golden-prefix.safetensors"));
        int[] lk = layersAndKvHeads(dir);
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
            NDArray h = hidden(lm, m, m.create(qValues, qShape), lk, ids, mask);
            float[] logits = lm.logits(h.reshape(-1, h.getShape().get(2))).toFloatArray();
            float[] golden = gp.readFloats("logits_prefix");
            assertEquals(golden.length, logits.length);
            double d = 0;
            for (int i = 0; i < b; i++) {
                for (int p = 0; p < t; p++) {
                    if (maskFlat[i * t + p] == 0) {
                        continue;
                    }
                    for (int c = 0; c < v; c++) {
                        int at = (i * t + p) * v + c;
                        d = Math.max(d, Math.abs(logits[at] - golden[at]));
                    }
                }
            }
            report.add(line("logits_prefix", d, atolLogits));

            // full-vocabulary loss at (b, position, target) and its gradient with respect to Q
            long[] rows = g.readLongs("loss_batch_index");
            long[] pos = gp.readLongs("loss_position_prefix");
            long[] target = g.readLongs("loss_target");
            float[] lmLoss = lossAndGrad(lm, m, qValues, qShape, lk, ids, mask, flat(rows, pos, t), target, null);
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
            float[] vLoss = lossAndGrad(lm, m, qValues, qShape, lk, ids, mask, flat(all, vpos, t), g.readLongs("class_labels"),
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

    static long[] flat(long[] rows, long[] pos, int t) {
        long[] out = new long[rows.length];
        for (int i = 0; i < rows.length; i++) {
            out[i] = rows[i] * t + pos[i];
        }
        return out;
    }

    /** [loss, dloss/dQ...]: mean CE of the rows at flat positions against targets (over the vocabulary, or over classes). */
    static float[] lossAndGrad(LanguageModel lm, NDManager m, float[] qValues, Shape qShape, int[] lk, NDArray ids,
            NDArray mask, long[] at, long[] targets, long[] classes) {
        try (NDManager scope = m.newSubManager()) {
            NDArray q = scope.create(qValues, qShape);
            q.setRequiresGradient(true);
            float loss;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray h = hidden(lm, scope, q, lk, ids, mask);                                   // [B, T, D]
                NDArray picked = Prompted.rows(h, at);                                             // [M, D]
                NDArray logits = classes == null ? lm.logits(picked) : lm.logits(picked, scope.create(classes)); // [M, V|C]
                NDArray l = Prompted.crossEntropy(logits, scope.create(targets));
                loss = l.getFloat();
                gc.backward(l);
            }
            float[] grad;
            try (NDArray gr = q.getGradient()) {
                grad = gr.toFloatArray();
            }
            float[] out = new float[grad.length + 1];
            out[0] = loss;
            System.arraycopy(grad, 0, out, 1, grad.length);
            return out;
        }
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
