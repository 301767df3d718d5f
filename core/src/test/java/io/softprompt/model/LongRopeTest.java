package io.softprompt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.softprompt.Fixtures;
import io.softprompt.api.SoftPrompt;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.llama.FamilyCheckpoints;
import io.softprompt.train.TrainConfig;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Phi-3's and Phi-4-mini's {@code longrope} as transformers computes it (no reference golden has one:
 * checked against its formula): inv_freq = 1 / (factor_i · θ^(2i/R)) with the short factors up to the
 * original context and the long ones past it, cos and sin scaled by √(1 + ln(s) / ln(original)),
 * s = max_position_embeddings / original_max_position_embeddings.
 */
class LongRopeTest {
    static Map<String, Object> scaling(int half, double shortF, double longF) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("type", "longrope");
        List<Double> sf = new ArrayList<>();
        List<Double> lf = new ArrayList<>();
        for (int i = 0; i < half; i++) {
            sf.add(shortF + 0.1 * i);
            lf.add(longF + 0.5 * i);
        }
        s.put("short_factor", sf);
        s.put("long_factor", lf);
        return s;
    }

    @Test
    void theFrequenciesAndAttentionFactorAreTransformersFormula() {
        int r = 8;
        Map<String, Object> s = scaling(r / 2, 1.0, 4.0);
        Rotary rope = new Rotary(r, 10000.0, s, 131072, 4096);
        assertEquals((float) Math.sqrt(1 + Math.log(32) / Math.log(4096)), rope.attentionFactor(), 1e-7f);
        assertEquals(1.190238f, rope.attentionFactor(), 1e-6f);
        try (NDManager m = NDManager.newBaseManager()) {
            for (int[] pass : new int[][] {{0, 16}, {4090, 6}, {4093, 6}}) { // the last reaches past 4,096: long factors
                NDList t = rope.tables(m, pass[0], pass[1]);
                float[] cos = t.get(0).toFloatArray();
                float[] sin = t.get(1).toFloatArray();
                boolean longer = pass[0] + pass[1] > 4096;
                for (int p = 0; p < pass[1]; p++) {
                    for (int i = 0; i < r / 2; i++) {
                        float factor = (float) ((longer ? 4.0 + 0.5 * i : 1.0 + 0.1 * i));
                        float inv = (float) (1.0 / (factor * (float) Math.pow(10000.0, (float) (2 * i) / r)));
                        float angle = (float) (pass[0] + p) * inv;
                        assertEquals((float) Math.cos(angle) * rope.attentionFactor(), cos[p * r + i], 1e-6f);
                        assertEquals((float) Math.sin(angle) * rope.attentionFactor(), sin[p * r + i + r / 2], 1e-6f);
                    }
                }
            }
            // short factors of 1 and an attention factor of 1: the plain rotary
            Map<String, Object> ones = scaling(r / 2, 1.0, 1.0);
            ones.put("short_factor", java.util.Collections.nCopies(r / 2, 1.0));
            ones.put("attention_factor", 1.0);
            assertArrayEquals(new Rotary(r, 10000.0, null).tables(m, 3, 5).get(0).toFloatArray(),
                    new Rotary(r, 10000.0, ones, 131072, 4096).tables(m, 3, 5).get(0).toFloatArray());
        }
        Map<String, Object> bad = scaling(3, 1.0, 1.0);
        UserException e = assertThrows(UserException.class, () -> new Rotary(r, 10000.0, bad, 131072, 4096));
        assertEquals("rope_scaling.short_factor must list 4 positive numbers (one per rotated frequency)", e.getMessage());
    }

    @Test
    void aPhiCheckpointWithLongropeLoadsAndTrains(@TempDir Path tmp) throws Exception {
        Path phi = tmp.resolve("phi");
        FamilyCheckpoints.writePhi3(phi, new FamilyCheckpoints.Shape(2, 48, 4, 2, 12, 40, 425, 512), 0.5, 7);
        Map<String, Object> cfg = Json.MAPPER.readValue(phi.resolve("config.json").toFile(), Map.class);
        cfg.put("max_position_embeddings", 4096);
        cfg.put("original_max_position_embeddings", 512);
        cfg.put("rope_scaling", scaling(3, 1.0, 2.0));
        Files.writeString(phi.resolve("config.json"), Json.write(cfg));
        Files.copy(Fixtures.of("phi3").resolve("tokenizer.json"), phi.resolve("tokenizer.json"));
        Path task = Fixtures.moodTask(tmp, 3);
        try (SoftPrompt sp = SoftPrompt.of(LoadedModel.load(phi, "phi"))) {
            var run = sp.train(TrainConfig.builder().task(task.toString()).tokens(2).steps(2).batchSize(2)
                    .output(tmp.resolve("p.sp").toString()).build());
            assertTrue(Double.isFinite(run.result().bestDev().accuracy()));
        }
    }
}
