package io.softprompt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.softprompt.Fixtures;
import io.softprompt.data.Encoder;
import io.softprompt.loader.LoadedModel;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.scoring.Objective;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Prompts that reach only the top layers (a partial-depth deep prompt, a late prompt), on every
 * architecture: at full coverage they are today's deep and input prompts exactly; their gradients match
 * central finite differences; the frozen layers below run apart ({@link LanguageModel#entry}) exactly as
 * in one pass with per-layer key masks; and the states an {@link ActivationCache} keeps agree with
 * computed ones within float16's rounding.
 */
class PartialDepthTest {
    /** A fixture's golden batch: ids and mask [B, T], each row's last real token, class 0/1 per row. */
    record Batch(NDArray ids, NDArray mask, long[] last, long[] classes, Encoder.Labels labels) {}

    static Batch batch(NDManager m, Path dir) {
        SafetensorsFile g = SafetensorsFile.open(dir.resolve("golden.safetensors"));
        NDArray ids = m.create(g.readLongs("input_ids"), g.info("input_ids").djlShape());
        long[] mk = g.readLongs("attention_mask");
        NDArray mask = m.create(mk, g.info("attention_mask").djlShape());
        int b = (int) ids.getShape().get(0);
        int t = (int) ids.getShape().get(1);
        long[] last = new long[b];
        long[] classes = new long[b];
        for (int i = 0; i < b; i++) {
            last[i] = Arrays.stream(mk, i * t, (i + 1) * t).sum() - 1;
            classes[i] = i % 2;
        }
        long[] words = {5, 9};
        return new Batch(ids, mask, last, classes, new Encoder.Labels(words, new long[][] {{5, 1}, {9, 1}}));
    }

    static float[] random(int n, long seed, double scale) {
        return io.softprompt.TestPrompts.gaussian(n, seed, scale);
    }

    static UnaryOperator<NDArray> loss(LanguageModel lm, PromptSite site, Batch b, Objective objective) {
        return p -> objective.loss(lm, p, site, b.ids(), b.mask(), b.last(), b.classes(), b.labels());
    }

    static int half(LanguageModel lm) {
        return Math.max(1, lm.attention().layers() / 2);
    }

    @TestFactory
    Stream<DynamicTest> everyLayerIsTheDeepPromptAndLateAtTheBottomIsTheInputPrompt() {
        return Fixtures.all().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            try (LoadedModel model = LoadedModel.load(dir, "x"); NDManager m = NDManager.newBaseManager()) {
                LanguageModel lm = model.lm();
                Batch b = batch(m, dir);
                int l = lm.attention().layers();
                float[] table = random(3 * lm.attention().prefixWidth(), 1, 0.5);
                Shape ts = new Shape(3, lm.attention().prefixWidth());
                float[] deep = GoldenParityTest.lossAndGrad(m, table, ts, loss(lm, PromptSite.DEEP, b, Objective.LM));
                float[] all = GoldenParityTest.lossAndGrad(m, table, ts, loss(lm, new DeepSite(l), b, Objective.LM));
                assertArrayEquals(deep, all, dir.getFileName() + ": a deep prompt in the top L layers");
                float[] p = random(4 * lm.hiddenSize(), 2, 0.5);
                Shape ps = new Shape(4, lm.hiddenSize());
                for (Objective o : Objective.values()) {
                    float[] input = GoldenParityTest.lossAndGrad(m, p, ps, loss(lm, PromptSite.INPUT, b, o));
                    float[] late = GoldenParityTest.lossAndGrad(m, p, ps, loss(lm, new LateSite(l), b, o));
                    assertArrayEquals(input, late, dir.getFileName() + ": a late prompt entering layer 0, " + o);
                }
                System.out.printf(Locale.ROOT, "PARTIAL-IDENTITY %-14s deep = top %d layers; input = late at layer 0: loss "
                        + "and gradient bit for bit%n", dir.getFileName(), l);
            }
        }));
    }

    /**
     * Central finite differences (step 1e-2, float32) at the 12 coordinates with the largest gradient,
     * within 2e-4 + 2%, for a deep prompt in every layer but the first and a late prompt entering layer 1.
     */
    @TestFactory
    Stream<DynamicTest> gradientsMatchFiniteDifferences() {
        return Fixtures.all().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            try (LoadedModel model = LoadedModel.load(dir, "x"); NDManager m = NDManager.newBaseManager()) {
                LanguageModel lm = model.lm();
                Batch b = batch(m, dir);
                int k = Math.max(1, lm.attention().layers() - 1); // entering layer 1: Gemma 3's top layer alone is a sliding one
                for (PromptSite site : new PromptSite[] {new DeepSite(k), new LateSite(k)}) {
                    int w = site.width(lm);
                    float[] q = random(3 * w, 5, 0.5);
                    Shape shape = new Shape(3, w);
                    UnaryOperator<NDArray> lossOf = loss(lm, site, b, Objective.LM);
                    double[] fd = PrefixGoldenTest.finiteDifferences(m, q, shape, lossOf);
                    double largest = fd[1];
                    double worst = fd[2];
                    System.out.printf(Locale.ROOT, "PARTIAL-GRADCHECK %-14s %-34s loss %.4f, largest |gradient| %.3e, "
                            + "largest |fd - autograd| / (2e-4 + 2%%) = %.3f%n", dir.getFileName(), site.depth() + ", top " + k + " layers",
                            fd[0], largest, worst);
                    assertTrue(largest > 5e-3, dir.getFileName() + " " + site + ": the prompt moves the loss");
                    assertTrue(worst <= 1.0, dir.getFileName() + " " + site + ": " + worst);
                }
            }
        }));
    }

    /**
     * The layers below a partial-depth deep prompt run apart (the states entering its first layer, then
     * the layers from there) as they run in one forward whose lower layers read the key mask without the
     * prefix's columns.
     */
    @TestFactory
    Stream<DynamicTest> theLayersBelowRunApartAsInOnePass() {
        return Fixtures.all().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            try (LoadedModel model = LoadedModel.load(dir, "x"); NDManager m = NDManager.newBaseManager()) {
                LanguageModel lm = model.lm();
                Batch b = batch(m, dir);
                DeepSite site = new DeepSite(half(lm));
                int first = site.firstLayer(lm);
                NDArray table = m.create(random(3 * site.width(lm), 7, 0.5), new Shape(3, site.width(lm)));
                NDArray apart = site.hidden(lm, table, b.ids(), b.mask());                                   // [B, T, D]
                int rows = (int) b.ids().getShape().get(0);
                NDArray one;
                try (KvCache cache = DeepSite.cache(m, lm, table, rows, first)) {
                    NDArray keyMask = NDArrays.concat(new NDList(m.ones(new Shape(rows, 3), b.mask().getDataType()), b.mask()), 1);
                    one = lm.forward(lm.embed(b.ids()), keyMask, cache);                                     // [B, T, D]
                }
                float[] x = apart.toFloatArray();
                float[] y = one.toFloatArray();
                long[] mk = b.mask().toLongArray();
                int d = lm.hiddenSize();
                double worst = 0;
                for (int i = 0; i < x.length; i++) {
                    if (mk[i / d] != 0) {
                        worst = Math.max(worst, Math.abs(x[i] - y[i]));
                    }
                }
                System.out.printf(Locale.ROOT, "PARTIAL-SPLIT %-14s entry at layer %d then the rest = one pass: largest "
                        + "difference %.3e%n", dir.getFileName(), first, worst);
                assertTrue(worst <= 2e-5, dir.getFileName() + ": " + worst);
            }
        }));
    }

    /**
     * States kept as float16 agree with computed ones within float16's rounding (relative to the largest
     * value), a second visit is served from what was kept, and a row first seen in another batch (alone,
     * padded further) is kept with the same bits: what is kept depends on the row only.
     */
    @TestFactory
    Stream<DynamicTest> keptStatesAgreeWithComputedOnes() {
        return Fixtures.all().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            try (LoadedModel model = LoadedModel.load(dir, "x"); NDManager m = NDManager.newBaseManager();
                 ActivationCache kept = new ActivationCache(model.lm(), 1 << 20, null)) {
                LanguageModel lm = model.lm();
                Batch b = batch(m, dir);
                int first = half(lm);
                float[] computed = lm.entry(b.ids(), b.mask(), first, 3).toFloatArray();
                float[] once = kept.entry(b.ids(), b.mask(), first, 3).toFloatArray();
                float[] again = kept.entry(b.ids(), b.mask(), first, 3).toFloatArray();
                assertArrayEquals(once, again, "a second visit reads what was kept");
                ActivationCache.Stats st = kept.stats();
                int rows = (int) b.ids().getShape().get(0);
                assertEquals(rows, st.misses());
                assertEquals(rows, st.hits());
                long[] mk = b.mask().toLongArray();
                int d = lm.hiddenSize();
                double scale = 0;
                double worst = 0;
                for (int i = 0; i < computed.length; i++) {
                    if (mk[i / d] != 0) {
                        scale = Math.max(scale, Math.abs(computed[i]));
                        worst = Math.max(worst, Math.abs(computed[i] - once[i]));
                    }
                }
                // a row kept from another batch (other batch-mates, another padded length) holds the same bits
                try (ActivationCache other = new ActivationCache(lm, 1 << 20, null)) {
                    int t = (int) b.ids().getShape().get(1);
                    long[] ids = b.ids().toLongArray();
                    long[] last = java.util.Arrays.copyOfRange(ids, (rows - 1) * t, rows * t);
                    long[] lastMask = java.util.Arrays.copyOfRange(mk, (rows - 1) * t, rows * t);
                    long[] wide = java.util.Arrays.copyOf(last, t + 21);
                    long[] wideMask = java.util.Arrays.copyOf(lastMask, t + 21);
                    float[] alone = other.entry(m.create(wide, new Shape(1, t + 21)), m.create(wideMask, new Shape(1, t + 21)), first, 3)
                            .toFloatArray();
                    for (int i = 0; i < t * d; i++) {
                        assertEquals(Float.floatToIntBits(once[(rows - 1) * t * d + i]), Float.floatToIntBits(alone[i]),
                                dir.getFileName() + ": the last row kept alone, value " + i);
                    }
                }
                System.out.printf(Locale.ROOT, "ACTIVATION-CACHE %-14s layer %d: largest |kept - computed| %.3e of largest "
                        + "|state| %.3e (%.1e relative)%n", dir.getFileName(), first, worst, scale, worst / scale);
                assertTrue(worst / scale <= 1e-3, dir.getFileName() + ": " + worst / scale);
            }
        }));
    }

    /** Beyond the budget, rows go to a file in the given folder and read back as kept; closing deletes it. */
    @org.junit.jupiter.api.Test
    void rowsBeyondTheBudgetSpillToAFileAndReadBackTheSame(@org.junit.jupiter.api.io.TempDir Path run) throws Exception {
        Path dir = Fixtures.of("llama");
        try (LoadedModel model = LoadedModel.load(dir, "x"); NDManager m = NDManager.newBaseManager()) {
            Batch b = batch(m, dir);
            float[] inHeap;
            try (ActivationCache heap = new ActivationCache(model.lm(), 1 << 20, null)) {
                inHeap = heap.entry(b.ids(), b.mask(), 1, 3).toFloatArray();
            }
            ActivationCache spilt = new ActivationCache(model.lm(), 1, run);
            float[] first = spilt.entry(b.ids(), b.mask(), 1, 3).toFloatArray();
            float[] again = spilt.entry(b.ids(), b.mask(), 1, 3).toFloatArray();
            ActivationCache.Stats st = spilt.stats();
            assertEquals(0, st.memoryBytes());
            assertTrue(st.spilledBytes() > 0, "rows went to the file");
            assertEquals(st.rows(), st.hits(), "the second visit read every row back");
            assertArrayEquals(inHeap, first);
            assertArrayEquals(inHeap, again);
            try (var files = java.nio.file.Files.list(run)) {
                assertEquals(1, files.count(), "one spill file in the run folder");
            }
            spilt.close();
            try (var files = java.nio.file.Files.list(run)) {
                assertEquals(0, files.count(), "deleted when the cache closes");
            }
        }
    }
}
