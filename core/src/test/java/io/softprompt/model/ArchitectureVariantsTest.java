package io.softprompt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.softprompt.Fixtures;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.t5.T5ModelBuckets;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.safetensors.SafetensorsWriter;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Layouts beyond the shipped fixtures, checked by equivalence: an untied head that holds the tied
 * matrix must give the same logits; config keys the fixtures leave at defaults must be honoured.
 */
class ArchitectureVariantsTest {
    @TempDir
    Path tmp;

    /** Copies a fixture, adds tensors and edits config.json. */
    Path variant(String arch, String name, Map<String, SafetensorsWriter.Tensor> extra, Consumer<ObjectNode> config)
            throws Exception {
        Path src = Fixtures.of(arch);
        Path dst = FixtureCopies.copy(src, tmp.resolve(name), "F32", 1);
        SafetensorsFile f = SafetensorsFile.open(src.resolve("model.safetensors"));
        Map<String, SafetensorsWriter.Tensor> all = new LinkedHashMap<>();
        for (String n : f.names()) {
            all.put(n, SafetensorsWriter.Tensor.f32(f.readFloats(n), f.info(n).shape()));
        }
        all.putAll(extra);
        SafetensorsWriter.write(dst.resolve("model.safetensors"), all, Map.of());
        ObjectNode cfg = (ObjectNode) Json.MAPPER.readTree(dst.resolve("config.json").toFile());
        config.accept(cfg);
        Files.writeString(dst.resolve("config.json"), Json.write(cfg));
        return dst;
    }

    static float[] logits(Path dir) {
        try (LoadedModel m = LoadedModel.load(dir, "x"); NDManager nd = NDManager.newBaseManager()) {
            NDArray ids = nd.create(new long[] {4, 9, 17, 3, 5, 8}, new Shape(2, 3));
            NDArray mask = nd.ones(new Shape(2, 3), DataType.INT64);
            NDArray prompt = nd.randomNormal(0, 0.1f, new Shape(2, m.lm().hiddenSize()), DataType.FLOAT32);
            NDArray h;
            if (m.lm().kind() == LanguageModel.Kind.SEQ2SEQ) {
                var enc = PromptSite.INPUT.run(m.lm(), prompt, ids, mask);
                h = m.lm().decode(nd.create(new long[] {0, 7, 0, 9}, new Shape(2, 2)), enc.get(0), enc.get(1));
            } else {
                h = PromptSite.INPUT.hidden(m.lm(), prompt, ids, mask);
            }
            return m.lm().logits(h.reshape(-1, m.lm().hiddenSize())).toFloatArray();
        }
    }

    static float maxDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        float max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    @Test
    void llamaUntiedHeadHoldingTheEmbeddingMatchesTied() throws Exception {
        SafetensorsFile f = SafetensorsFile.open(Fixtures.of("llama").resolve("model.safetensors"));
        var e = f.info("model.embed_tokens.weight");
        Path untied = variant("llama", "untied", Map.of("lm_head.weight",
                SafetensorsWriter.Tensor.f32(f.readFloats(e.name()), e.shape())), c -> c.put("tie_word_embeddings", false));
        Engine.getInstance().setRandomSeed(3);
        float[] a = logits(Fixtures.of("llama"));
        Engine.getInstance().setRandomSeed(3);
        float[] b = logits(untied);
        assertEquals(0f, maxDiff(a, b), 1e-6f);
    }

    @Test
    void llamaUntiedWithoutAHeadIsRefused() throws Exception {
        Path bad = variant("llama", "nohead", Map.of(), c -> c.put("tie_word_embeddings", false));
        UserException e = assertThrows(UserException.class, () -> LoadedModel.load(bad, "x"));
        assertTrue(e.getMessage().contains("lm_head.weight"), e.getMessage());
    }

    @Test
    void t5UntiedHeadIsNotRescaled() throws Exception {
        SafetensorsFile f = SafetensorsFile.open(Fixtures.of("t5").resolve("model.safetensors"));
        var s = f.info("shared.weight");
        float[] head = f.readFloats(s.name());
        float scale = (float) Math.pow(Json.MAPPER.readTree(Fixtures.of("t5").resolve("config.json").toFile())
                .get("d_model").asInt(), -0.5);
        for (int i = 0; i < head.length; i++) {
            head[i] *= scale; // v1.1-style untied head = what the tied head computes after its rescale
        }
        Path untied = variant("t5", "untied", Map.of("lm_head.weight", SafetensorsWriter.Tensor.f32(head, s.shape())),
                c -> c.put("tie_word_embeddings", false));
        Engine.getInstance().setRandomSeed(5);
        float[] a = logits(Fixtures.of("t5"));
        Engine.getInstance().setRandomSeed(5);
        float[] b = logits(untied);
        assertTrue(maxDiff(a, b) < 1e-5f, "max diff " + maxDiff(a, b));
    }

    @Test
    void ropeThetaAndEpsilonAreRead() throws Exception {
        Path other = variant("llama", "theta", Map.of(), c -> c.put("rope_theta", 500000.0));
        Engine.getInstance().setRandomSeed(7);
        float[] a = logits(Fixtures.of("llama"));
        Engine.getInstance().setRandomSeed(7);
        float[] b = logits(other);
        assertTrue(maxDiff(a, b) > 1e-4f, "rope_theta changes the positions' rotation");
    }

    @Test
    void rotaryMatchesTheClosedForm() {
        Rotary r = new Rotary(4, 10000.0, null);
        try (NDManager nd = NDManager.newBaseManager()) {
            var t = r.tables(nd, 0, 3);
            float[] cos = t.get(0).toFloatArray();
            // position 2, pair 1: angle = 2 · 10000^(-2/4) = 0.02
            assertEquals((float) Math.cos(0.02), cos[2 * 4 + 1], 1e-7f);
            assertEquals((float) Math.cos(0.02), cos[2 * 4 + 3], 1e-7f);
            NDArray x = nd.create(new float[] {1, 2, 3, 4}, new Shape(1, 1, 1, 4));
            var one = r.tables(nd, 1, 1);
            float[] y = Rotary.apply(x, one.get(0), one.get(1)).toFloatArray();
            double a0 = 1.0;
            double a1 = 0.01;
            assertArrayEquals(new float[] {
                (float) (1 * Math.cos(a0) - 3 * Math.sin(a0)), (float) (2 * Math.cos(a1) - 4 * Math.sin(a1)),
                (float) (3 * Math.cos(a0) + 1 * Math.sin(a0)), (float) (4 * Math.cos(a1) + 2 * Math.sin(a1))}, y, 1e-6f);
        }
    }

    @Test
    void t5RelativeBucketsMatchTransformers() {
        // values from transformers' T5Attention._relative_position_bucket(num_buckets=32, max_distance=128)
        long[] bi = T5ModelBuckets.of(0, 1, 200, true);
        assertEquals(0, bi[0]);    // same position
        assertEquals(17, bi[1]);   // one to the right: 16 + 1
        assertEquals(16 + 8, bi[8]); // rel 8: 16 + max_exact(8) + floor(log(1)/..)=0 → 24
        assertEquals(31, bi[199]); // far right saturates
        long[] uni = T5ModelBuckets.of(150, 1, 151, false);
        assertEquals(0, uni[150]);
        assertEquals(1, uni[149]);
        assertEquals(31, uni[0]);  // 150 back saturates at num_buckets - 1
    }
}
