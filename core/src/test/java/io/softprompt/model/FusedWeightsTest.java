package io.softprompt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import io.softprompt.Fixtures;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.llama.FamilyCheckpoints;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Phi-3's fused qkv_proj and gate_up_proj are split into their parts at load and the fused weights
 * freed: a view of each part left in the model's manager kept the whole fused weight alive beside its
 * copies (Phi-4-mini's 8 layers held 2.1 GB twice). Sizes chosen so that no part has a fused shape.
 */
class FusedWeightsTest {
    @Test
    void noFusedWeightOutlivesItsSplit(@TempDir Path tmp) throws Exception {
        Path phi = tmp.resolve("phi");
        int layers = 3;
        int d = 48;
        int heads = 4;
        int kv = 2;
        int k = 12;
        int f = 40;
        FamilyCheckpoints.writePhi3(phi, new FamilyCheckpoints.Shape(layers, d, heads, kv, k, f, 425, 128), 0.5, 3);
        Files.copy(Fixtures.of("phi3").resolve("tokenizer.json"), phi.resolve("tokenizer.json"));
        try (LoadedModel model = LoadedModel.load(phi, "phi")) {
            List<NDArray> held = model.manager().getManagedArrays();
            long fused = held.stream().filter(a -> Arrays.equals(a.getShape().getShape(), new long[] {(heads + 2 * kv) * k, d})
                    || Arrays.equals(a.getShape().getShape(), new long[] {2 * f, d})).count();
            assertEquals(0, fused, "fused weights still held beside their parts");
            long gateUp = held.stream().filter(a -> Arrays.equals(a.getShape().getShape(), new long[] {f, d})).count();
            assertEquals(2L * layers, gateUp, "each layer's gate and up");
            assertTrue(held.stream().filter(a -> Arrays.equals(a.getShape().getShape(), new long[] {(long) kv * k, d})).count()
                    == 2L * layers, "each layer's k and v");
        }
    }

    /** ModernBERT's fused Wqkv and Wi the same way. */
    @Test
    void modernBertsFusedWeightsAreFreedToo(@TempDir Path tmp) throws Exception {
        Path bert = tmp.resolve("modernbert");
        int layers = 3;
        int d = 48;
        int f = 40;
        io.softprompt.model.modernbert.ModernBertCheckpoint.writeRandom(bert,
                new io.softprompt.model.modernbert.ModernBertCheckpoint.Shape(layers, d, 4, f, 426, 128, 4, 3), 4);
        for (String name : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")) {
            Path from = Fixtures.of("modernbert").resolve(name);
            if (Files.isRegularFile(from)) {
                Files.copy(from, bert.resolve(name));
            }
        }
        try (LoadedModel model = LoadedModel.load(bert, "modernbert")) {
            List<NDArray> held = model.manager().getManagedArrays();
            assertEquals(2L * layers, held.stream().filter(a -> Arrays.equals(a.getShape().getShape(), new long[] {f, d})).count(),
                    "each layer's two halves of Wi, once");
            assertEquals(3L * layers + layers, held.stream().filter(a -> Arrays.equals(a.getShape().getShape(), new long[] {d, d}))
                    .count() - 1, "each layer's q, k, v and Wo, and the head's dense, once");
        }
    }
}
