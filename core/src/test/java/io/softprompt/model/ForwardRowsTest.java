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

/**
 * forwardRows (the last layer for the decision rows only, or the default: the forward's rows) of a
 * padded batch equals each row run alone and unpadded, read at its position, on every decoder and BERT.
 */
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
                // the reference: each row run alone, unpadded, its position read straight off its output; no code
                // shared with forwardRows or Layers.rows, so a model (or a default) that mishandles rows fails here
                float[] full = new float[flat.length * d];
                for (int k = 0; k < flat.length; k++) {
                    int row = (int) (flat[k] / s);
                    int pos = (int) (flat[k] % s);
                    int len = lengths[row];
                    float[] one = java.util.Arrays.copyOfRange(e, row * s * d, (row * s + len) * d);
                    try (NDManager alone = m.newSubManager()) {
                        float[] out = lm.forward(Tensors.create(alone, one, new Shape(1, len, d)),
                                alone.ones(new Shape(1, len), ai.djl.ndarray.types.DataType.INT64)).toFloatArray(); // [1, T, D]
                        System.arraycopy(out, pos * d, full, k * d, d);
                    }
                }
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
