package io.softprompt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.softprompt.Fixtures;
import io.softprompt.loader.LoadedModel;
import io.softprompt.util.Tensors;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** forwardRows (the last layer for the decision rows only) equals the whole forward's rows, with padding, on every decoder and BERT. */
class ForwardRowsTest {
    @TestFactory
    Stream<DynamicTest> forwardRowsAreTheForwardsRows() {
        return Stream.of("gpt2", "llama", "bert").map(arch -> DynamicTest.dynamicTest(arch, () -> {
            try (LoadedModel model = LoadedModel.load(Fixtures.of(arch), arch, "cpu", "float32");
                 NDManager m = NDManager.newBaseManager(model.device())) {
                LanguageModel lm = model.lm();
                int b = 3;
                int s = 9;
                int d = lm.hiddenSize();
                Random r = new Random(3);
                float[] e = new float[b * s * d];
                for (int i = 0; i < e.length; i++) {
                    e[i] = (float) (r.nextGaussian() * 0.1);
                }
                long[] mask = new long[b * s];
                int[] lengths = {9, 5, 7};   // right padding
                for (int i = 0; i < b; i++) {
                    for (int j = 0; j < lengths[i]; j++) {
                        mask[i * s + j] = 1;
                    }
                }
                long[] flat = {0 * s + 8, 1 * s + 4, 2 * s + 2, 0 * s + 3}; // last real tokens, an earlier one, a row twice
                NDArray embeds = Tensors.create(m, e, new Shape(b, s, d));
                NDArray keyMask = Tensors.create(m, mask, new Shape(b, s));
                float[] rows = lm.forwardRows(embeds, keyMask, flat).toFloatArray();
                float[] full = Layers.rows(lm.forward(embeds, keyMask), flat).toFloatArray();
                assertEquals(full.length, rows.length);
                double worst = 0;
                for (int i = 0; i < rows.length; i++) {
                    worst = Math.max(worst, Math.abs(rows[i] - full[i]));
                }
                System.out.printf("ROWS %s: forwardRows vs the forward's rows, largest difference %.1e%n", arch, worst);
                assertTrue(worst < 1e-5, arch + ": " + worst);
            }
        }));
    }
}
