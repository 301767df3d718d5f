package io.softprompt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.Fixtures;
import io.softprompt.loader.LoadedModel;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.util.UserException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The same checkpoint stored as F16, BF16 or in shards loads to the same model (up to rounding). */
class WeightLayoutsTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} in {1} shard(s)")
    @CsvSource({"F32, 3", "F16, 1", "BF16, 2"})
    void loadsAndMatchesTheFloat32Checkpoint(String dtype, int shards) throws Exception {
        Path src = Fixtures.of("gpt2");
        Path copy = FixtureCopies.copy(src, tmp.resolve(dtype), dtype, shards);
        if (shards > 1) {
            assertTrue(Files.exists(copy.resolve("model.safetensors.index.json")));
        }
        float[] wte = SafetensorsFile.open(src.resolve("model.safetensors")).readFloats("transformer.wte.weight");
        try (LoadedModel ref = LoadedModel.load(src, "ref"); LoadedModel m = LoadedModel.load(copy, dtype);
             NDManager nd = NDManager.newBaseManager()) {
            float[] loaded = m.lm().embeddings().toFloatArray();
            float[] expected = new float[wte.length];
            for (int i = 0; i < wte.length; i++) {
                expected[i] = FixtureCopies.rounded(wte[i], dtype);
            }
            assertArrayEquals(expected, loaded, "embedding values converted exactly from " + dtype);
            NDArray ids = nd.create(new long[] {1, 5, 9, 14, 2, 3}, new Shape(2, 3));
            NDArray mask = nd.ones(new Shape(2, 3), DataType.INT64);
            float[] a = ref.lm().logits(PromptSite.INPUT.hidden(ref.lm(), null, ids, mask).reshape(6, -1)).toFloatArray();
            float[] b = m.lm().logits(PromptSite.INPUT.hidden(m.lm(), null, ids, mask).reshape(6, -1)).toFloatArray();
            double max = 0;
            for (int i = 0; i < a.length; i++) {
                max = Math.max(max, Math.abs(a[i] - b[i]));
            }
            double tol = switch (dtype) {
                case "F32" -> 0.0;
                case "F16" -> 5e-3;
                default -> 5e-2;
            };
            System.out.printf("layout %s/%d shards: max |logit diff| vs F32 %.3e%n", dtype, shards, max);
            assertTrue(max <= tol, dtype + " logits differ by " + max);
        }
    }

    @Test
    void shapeThatContradictsConfigNamesTensorAndShapes() throws Exception {
        Path src = Fixtures.of("gpt2");
        Path copy = FixtureCopies.copy(src, tmp.resolve("bad"), "F32", 1);
        String cfg = Files.readString(copy.resolve("config.json")).replace("\"n_positions\": 128", "\"n_positions\": 64");
        Files.writeString(copy.resolve("config.json"), cfg);
        UserException e = assertThrows(UserException.class, () -> LoadedModel.load(copy, "bad"));
        assertTrue(e.getMessage().contains("wpe.weight") && e.getMessage().contains("[128, 64]")
                && e.getMessage().contains("[64, 64]"), e.getMessage());
    }

    @Test
    void fingerprintIgnoresStorageLayout() throws Exception {
        Path src = Fixtures.of("gpt2");
        Path sharded = FixtureCopies.copy(src, tmp.resolve("sh"), "F32", 2);
        try (LoadedModel a = LoadedModel.load(src, "a"); LoadedModel b = LoadedModel.load(sharded, "b")) {
            assertEquals(a.fingerprint(), b.fingerprint());
            assertTrue(a.fingerprint().matches("sha256:[0-9a-f]{16}"));
        }
    }
}
