package io.softprompt.scoring;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.Fixtures;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.PromptSite;
import io.softprompt.util.UserException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Generation: rows of different prompts (and N) and inputs generated together with the key/value cache
 * give exactly the tokens of each row alone recomputing every step, greedy and sampled; sampling is
 * reproducible for a seed and reduces to greedy as the temperature goes to 0; stop strings cut the text.
 */
class GeneratorTest {
    static final List<String> INPUTS = List.of("the movie was great", "a bad plot", "it was");

    @TestFactory
    Stream<DynamicTest> batchedCacheAndRecomputeAgree() {
        return Fixtures.all().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> check(dir)));
    }

    static float[] prompt(int n, int d, long seed) {
        Random r = new Random(seed);
        float[] p = new float[n * d];
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) r.nextGaussian() * 0.5f;
        }
        return p;
    }

    static List<Generator.Request> rows(LoadedModel m, Decoding d) {
        List<Generator.Request> rows = new ArrayList<>();
        for (int k = 0; k < INPUTS.size(); k++) {
            int n = 2 + 2 * k; // prompts of 2, 4 and 6 tokens in one batch
            rows.add(new Generator.Request(prompt(n, m.lm().hiddenSize(), k), n, m.tokenizer().encode(INPUTS.get(k)), d));
        }
        return rows;
    }

    static void check(Path dir) {
        try (LoadedModel m = LoadedModel.load(dir, "x")) {
            LanguageModel lm = m.lm();
            if (lm.kind() == LanguageModel.Kind.MASKED) {
                assertThrows(UserException.class, () -> new Generator(lm, m.tokenizer(), true));
                return;
            }
            for (Decoding d : List.of(Decoding.greedy(12), new Decoding(12, true, 0.9, 20, 0.95, 7, List.of()))) {
                List<Generator.Request> rows = rows(m, d);
                List<Generator.Output> batched = new Generator(lm, m.tokenizer(), true).generate(rows);
                int total = 0;
                for (int k = 0; k < rows.size(); k++) {
                    Generator.Output alone = new Generator(lm, m.tokenizer(), false).generate(rows.get(k));
                    System.out.printf("generate %s %s row %d: %d tokens (%s)%n", dir.getFileName(),
                            d.sample() ? "sampled" : "greedy", k, batched.get(k).ids().length, batched.get(k).finish());
                    assertArrayEquals(alone.ids(), batched.get(k).ids(), dir.getFileName() + " row " + k + " " + d);
                    assertEquals(alone.finish(), batched.get(k).finish());
                    assertTrue(batched.get(k).ids().length <= 12);
                    total += batched.get(k).ids().length;
                }
                assertTrue(total > 3, "the comparison covers several generated tokens, not just an immediate EOS");
            }
        }
    }

    /**
     * A deep prompt generates: one made of an input prompt's keys and values generates exactly that
     * prompt's tokens, greedy and sampled, batched beside input prompts with the cache and alone without.
     */
    @TestFactory
    Stream<DynamicTest> aDeepPromptGeneratesAsTheInputPromptItWasMadeFrom() {
        return Stream.of("gpt2", "llama").map(arch -> DynamicTest.dynamicTest(arch, () -> {
            try (LoadedModel m = LoadedModel.load(Fixtures.of(arch), "x"); NDManager nd = NDManager.newBaseManager()) {
                LanguageModel lm = m.lm();
                for (Decoding d : List.of(Decoding.greedy(10), new Decoding(10, true, 1.2, 0, 0.9, 3, List.of()))) {
                    List<Generator.Request> input = rows(m, d);
                    List<Generator.Request> deep = new ArrayList<>();
                    for (Generator.Request r : input) {
                        float[] table = io.softprompt.model.DeepSite.fromInputPrompt(lm,
                                nd.create(r.prompt(), new Shape(r.n(), lm.hiddenSize()))).toFloatArray();
                        deep.add(new Generator.Request(table, r.n(), r.input(), d, PromptSite.DEEP));
                    }
                    List<Generator.Request> mixed = new ArrayList<>(input);
                    mixed.addAll(deep);
                    List<Generator.Output> together = new Generator(lm, m.tokenizer(), true).generate(mixed);
                    for (int k = 0; k < input.size(); k++) {
                        long[] want = together.get(k).ids();
                        assertArrayEquals(want, together.get(input.size() + k).ids(), arch + " row " + k + " batched, " + d);
                        assertArrayEquals(want, new Generator(lm, m.tokenizer(), false).generate(deep.get(k)).ids(),
                                arch + " row " + k + " alone, without the cache, " + d);
                    }
                }
            }
        }));
    }

    /**
     * Prompts that reach only the top layers generate: rows of an input prompt, a deep prompt in the top
     * L − 1 layers (decoder LMs) and a late prompt entering layer 1, batched with the cache (their prefixes
     * from their first layer, rows grouped by it), give each row's tokens alone recomputing every step.
     */
    @TestFactory
    Stream<DynamicTest> partialDepthPromptsGenerateBatchedAsAlone() {
        return Fixtures.all().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            try (LoadedModel m = LoadedModel.load(dir, "x")) {
                LanguageModel lm = m.lm();
                if (lm.kind() == LanguageModel.Kind.MASKED) {
                    return;
                }
                int top = Math.max(1, lm.attention().layers() - 1);
                List<PromptSite> sites = new ArrayList<>(List.of(PromptSite.INPUT, new io.softprompt.model.LateSite(top)));
                if (lm.kind() == LanguageModel.Kind.DECODER) {
                    sites.add(new io.softprompt.model.DeepSite(top));
                }
                for (Decoding d : List.of(Decoding.greedy(10), new Decoding(10, true, 1.2, 0, 0.9, 3, List.of()))) {
                    List<Generator.Request> rows = new ArrayList<>();
                    for (int k = 0; k < INPUTS.size() * sites.size(); k++) {
                        PromptSite site = sites.get(k % sites.size());
                        int n = 2 + k % 3;
                        rows.add(new Generator.Request(prompt(n, site.width(lm), k), n,
                                m.tokenizer().encode(INPUTS.get(k % INPUTS.size())), d, site));
                    }
                    List<Generator.Output> together = new Generator(lm, m.tokenizer(), true).generate(rows);
                    int total = 0;
                    for (int k = 0; k < rows.size(); k++) {
                        assertArrayEquals(new Generator(lm, m.tokenizer(), false).generate(rows.get(k)).ids(), together.get(k).ids(),
                                dir.getFileName() + " row " + k + " (" + rows.get(k).site() + "), " + d);
                        total += together.get(k).ids().length;
                    }
                    assertTrue(total > 6, "several tokens generated");
                }
            }
        }));
    }

    @Test
    void stopsAtMaxNewTokensAndSaysWhy() {
        try (LoadedModel m = LoadedModel.load(Fixtures.of("gpt2"), "x")) {
            float[] prompt = new float[2 * m.lm().hiddenSize()];
            Generator g = new Generator(m.lm(), m.tokenizer(), true);
            Generator.Output three = g.generate(new Generator.Request(prompt, 2, m.tokenizer().encode("the movie"), Decoding.greedy(3)));
            assertTrue(three.ids().length <= 3);
            assertEquals(three.ids().length == 3 ? "length" : "eos", three.finish());
            Generator.Output none = g.generate(new Generator.Request(prompt, 2, m.tokenizer().encode("the movie"), Decoding.greedy(0)));
            assertEquals(0, none.ids().length);
            assertEquals("length", none.finish());
        }
    }

    @Test
    void samplingIsReproducibleForASeedAndGreedyAsTemperatureGoesToZero() {
        try (LoadedModel m = LoadedModel.load(Fixtures.of("gpt2"), "x")) {
            Generator g = new Generator(m.lm(), m.tokenizer(), true);
            float[] p = prompt(3, m.lm().hiddenSize(), 1);
            long[] input = m.tokenizer().encode("the movie was");
            long[] greedy = g.generate(new Generator.Request(p, 3, input, Decoding.greedy(10))).ids();
            Set<String> texts = new HashSet<>();
            for (long seed = 0; seed < 8; seed++) {
                Decoding d = new Decoding(10, true, 1.5, 0, 1.0, seed, List.of());
                Generator.Output a = g.generate(new Generator.Request(p, 3, input, d));
                Generator.Output b = g.generate(new Generator.Request(p, 3, input, d));
                assertArrayEquals(a.ids(), b.ids(), "seed " + seed + " gives the same tokens twice");
                texts.add(a.text());
                Decoding cold = new Decoding(10, true, 1e-6, 0, 1.0, seed, List.of());
                assertArrayEquals(greedy, g.generate(new Generator.Request(p, 3, input, cold)).ids(), "temperature → 0 is greedy");
                Decoding top1 = new Decoding(10, true, 1.0, 1, 1.0, seed, List.of());
                assertArrayEquals(greedy, g.generate(new Generator.Request(p, 3, input, top1)).ids(), "top-k 1 is greedy");
                Decoding zero = new Decoding(10, true, 0, 0, 1.0, seed, List.of());
                assertArrayEquals(greedy, g.generate(new Generator.Request(p, 3, input, zero)).ids(), "temperature 0 means greedy");
            }
            assertTrue(texts.size() > 1, "different seeds draw different texts at temperature 1.5: " + texts);
        }
    }

    @Test
    void topKNeverEmitsATokenOutsideTheTopK() {
        try (LoadedModel m = LoadedModel.load(Fixtures.of("gpt2"), "x")) {
            LanguageModel lm = m.lm();
            float[] p = prompt(2, lm.hiddenSize(), 3);
            long[] input = m.tokenizer().encode("a bad plot");
            for (long seed = 0; seed < 6; seed++) {
                Decoding d = new Decoding(6, true, 2.0, 3, 1.0, seed, List.of());
                long[] out = new Generator(lm, m.tokenizer(), true).generate(new Generator.Request(p, 2, input, d)).ids();
                // each token's rank among the logits of the sequence before it, recomputed without the cache
                for (int t = 0; t < out.length; t++) {
                    long[] prefix = new long[input.length + t];
                    System.arraycopy(input, 0, prefix, 0, input.length);
                    System.arraycopy(out, 0, prefix, input.length, t);
                    float[] logits = nextLogits(lm, p, 2, prefix);
                    int above = 0;
                    for (float x : logits) {
                        if (x > logits[(int) out[t]]) {
                            above++;
                        }
                    }
                    assertTrue(above < 3, "seed " + seed + " step " + t + ": token of rank " + above + " under top-k 3");
                }
            }
        }
    }

    @Test
    void aStopStringEndsTheTextBeforeIt() {
        try (LoadedModel m = LoadedModel.load(Fixtures.of("gpt2"), "x")) {
            Generator g = new Generator(m.lm(), m.tokenizer(), true);
            float[] p = prompt(3, m.lm().hiddenSize(), 1);
            long[] input = m.tokenizer().encode("the movie was");
            Generator.Output free = g.generate(new Generator.Request(p, 3, input, Decoding.greedy(12)));
            assertTrue(free.text().length() > 4, "enough text to cut: " + free.text());
            String stop = free.text().substring(free.text().length() / 2, free.text().length() / 2 + 2);
            Decoding d = new Decoding(12, false, 1.0, 0, 1.0, 0, List.of("no such text here", stop));
            Generator.Output cut = g.generate(new Generator.Request(p, 3, input, d));
            assertEquals("stop", cut.finish());
            assertEquals(free.text().substring(0, free.text().indexOf(stop)), cut.text());
            assertNotEquals(free.text(), cut.text());
        }
    }

    @Test
    void badSettingsAreRefusedByName() {
        assertTrue(assertThrows(UserException.class, () -> new Decoding(5, true, -1, 0, 1, 0, List.of())).getMessage().contains("temperature"));
        assertTrue(assertThrows(UserException.class, () -> new Decoding(5, true, 1, -2, 1, 0, List.of())).getMessage().contains("top_k"));
        assertTrue(assertThrows(UserException.class, () -> new Decoding(5, true, 1, 0, 0, 0, List.of())).getMessage().contains("top_p"));
        assertTrue(assertThrows(UserException.class, () -> new Decoding(5, true, 1, 0, 1.5, 0, List.of())).getMessage().contains("top_p"));
        assertTrue(assertThrows(UserException.class, () -> new Decoding(-1, true, 1, 0, 1, 0, List.of())).getMessage().contains("max_new_tokens"));
        assertTrue(assertThrows(UserException.class, () -> new Decoding(5, true, 1, 0, 1, 0, List.of(""))).getMessage().contains("stop"));
    }

    /** The logits after prompt + ids, computed in one plain forward pass: [V]. */
    static float[] nextLogits(LanguageModel lm, float[] prompt, int n, long[] ids) {
        try (NDManager m = NDManager.newBaseManager(lm.device())) {
            NDArray p = m.create(prompt, new Shape(1, n, lm.hiddenSize()));                      // [1, N, D]
            NDArray e = NDArrays.concat(new NDList(p, lm.embed(m.create(ids, new Shape(1, ids.length)))), 1); // [1, S, D]
            NDArray h = lm.forward(e, m.ones(new Shape(1, n + ids.length), DataType.INT64));      // [1, S, D]
            return lm.logits(h.get(new NDIndex(":, -1, :"))).toFloatArray();                    // [V]
        }
    }
}
