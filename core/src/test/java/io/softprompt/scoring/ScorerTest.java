package io.softprompt.scoring;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import io.softprompt.data.Encoder;
import io.softprompt.data.Task;
import io.softprompt.infer.Ensemble;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.LanguageModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The one scorer: rows of different prompts and tasks in one forward pass, ensembles, the prefix
 * cache, and the single-prompt path that eval, infer and the evaluation inside train use; each held
 * against {@link Reference}. On every fixture architecture.
 */
class ScorerTest {
    static Task task(String name, String template, String... labelWords) {
        LinkedHashMap<String, String> v = new LinkedHashMap<>();
        for (int i = 0; i < labelWords.length; i++) {
            v.put("c" + i, labelWords[i]);
        }
        return new Task(name, template, null, null, v, null, null, null, null).validated(name);
    }

    static float[] prompt(int n, int d, long seed) {
        float[] p = new float[n * d];
        Random r = new Random(seed);
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) r.nextGaussian() * 0.3f;
        }
        return p;
    }

    static final String[] TEXTS = {"a bad plot", "the movie was a great film with good actors", "fine", "dull and slow, a waste"};

    @TestFactory
    Stream<DynamicTest> threeTasksInOneBatchEqualEachAlone() {
        return Fixtures.all().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            try (LoadedModel m = LoadedModel.load(dir, "x")) {
                int d = m.lm().hiddenSize();
                Task[] tasks = {task("mood", "{sentence} it was", " bad", " good"),
                    task("topic", "Topic of: {sentence} is", " movie", " plot", " film"),
                    task("grade", "{sentence} grade", " the", " a")};
                int[] lengths = {2, 5, 3};
                List<Scorer.Slot> slots = new ArrayList<>();
                List<Encoder> encoders = new ArrayList<>();
                for (int k = 0; k < 3; k++) {
                    Encoder enc = new Encoder(m.tokenizer(), tasks[k], 64, m.lm());
                    encoders.add(enc);
                    slots.add(new Scorer.Slot(prompt(lengths[k], d, 10 + k), lengths[k], enc.labels()));
                }
                List<Scorer.Item> items = new ArrayList<>();
                for (int i = 0; i < TEXTS.length; i++) {
                    for (int k = 0; k < 3; k++) {
                        items.add(new Scorer.Item(k, encoders.get(k).encode(TEXTS[(i + k) % TEXTS.length], -1)));
                    }
                }
                Scorer scorer = new Scorer(m.lm());
                List<int[]> one = new ArrayList<>();
                one.add(IntStream.range(0, items.size()).toArray());
                float[][] mixed = scorer.score(slots, items, one);
                assertEquals(1, scorer.forwardPasses(), "all twelve rows of three tasks in one forward pass");
                double worst = 0;
                for (int i = 0; i < items.size(); i++) {
                    Scorer.Item it = items.get(i);
                    Scorer.Slot slot = slots.get(it.slot());
                    float[] alone = Reference.probabilities(m.lm(), slot.values(), slot.tokens(), it.row(), slot.labels());
                    assertEquals(alone.length, mixed[i].length);
                    for (int c = 0; c < alone.length; c++) {
                        worst = Math.max(worst, Math.abs(alone[c] - mixed[i][c]));
                    }
                }
                System.out.printf("MIXED %s: largest difference to each task alone %.2e%n", dir.getFileName(), worst);
                assertTrue(worst < 1e-5, dir.getFileName() + ": mixed batch = alone, worst " + worst);
            }
        }));
    }

    @TestFactory
    Stream<DynamicTest> ensembleOfIdenticalPromptsIsThePromptInOnePassPerBatch() {
        return Fixtures.all().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            try (LoadedModel m = LoadedModel.load(dir, "x")) {
                Task t = task("mood", "{sentence} it was", " bad", " good");
                Encoder enc = new Encoder(m.tokenizer(), t, 64, m.lm());
                float[] p = prompt(3, m.lm().hiddenSize(), 7);
                List<Encoder.Encoded> rows = new ArrayList<>();
                for (String s : TEXTS) {
                    rows.add(enc.encode(s, -1));
                }
                float[][] single = new Scorer(m.lm()).probabilities(new Scorer.Slot(p, 3, enc.labels()), rows, 2);
                for (int k : new int[] {1, 3, 5}) {
                    List<Scorer.Slot> slots = new ArrayList<>();
                    for (int j = 0; j < k; j++) {
                        slots.add(new Scorer.Slot(p, 3, enc.labels()));
                    }
                    Scorer scorer = new Scorer(m.lm());
                    float[][][] member = Ensemble.memberProbabilities(scorer, slots, rows, 2);
                    assertEquals(2, scorer.forwardPasses(), "4 rows at batch size 2: two passes, whatever k (" + k + ")");
                    for (int i = 0; i < rows.size(); i++) {
                        for (Ensemble e : Ensemble.values()) {
                            Ensemble.Decision dec = e.combine(member[i]);
                            assertEquals(Scorer.argmax(single[i]), dec.label(), e + " k=" + k + " row " + i);
                        }
                        assertArrayEquals(single[i], Ensemble.MEAN.combine(member[i]).scores(), 1e-5f);
                    }
                }
            }
        }));
    }

    @TestFactory
    Stream<DynamicTest> prefixCacheEqualsTheUncachedPath() {
        return Fixtures.all().stream()
                .filter(ScorerTest::isDecoder) // every decoder-only fixture, whatever its name
                .map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
                    try (LoadedModel m = LoadedModel.load(dir, "x")) {
                        assertEquals(LanguageModel.Kind.DECODER, m.lm().kind());
                        int d = m.lm().hiddenSize();
                        Task[] tasks = {task("mood", "{sentence} it was", " bad", " good"),
                            task("topic", "Topic of: {sentence} is", " movie", " plot", " film")};
                        int[] lengths = {4, 7};
                        List<Scorer.Slot> slots = new ArrayList<>();
                        List<Encoder> encoders = new ArrayList<>();
                        for (int k = 0; k < 2; k++) {
                            Encoder enc = new Encoder(m.tokenizer(), tasks[k], 64, m.lm());
                            encoders.add(enc);
                            slots.add(new Scorer.Slot(prompt(lengths[k], d, 20 + k), lengths[k], enc.labels()));
                        }
                        List<Scorer.Item> items = new ArrayList<>();
                        for (int i = 0; i < 9; i++) {
                            items.add(new Scorer.Item(i % 2, encoders.get(i % 2).encode(TEXTS[i % TEXTS.length], -1)));
                        }
                        float[][] plain = new Scorer(m.lm()).score(slots, items, Scorer.buckets(slots, items, 4, 0, false));
                        try (Scorer cached = new Scorer(m.lm(), true)) {
                            assertTrue(cached.cached());
                            // mixed batches (prompts of lengths 4 and 7 side by side) and one-prompt batches
                            List<int[]> mixed = cached.batches(slots, items, 4, 0);
                            assertTrue(mixed.stream().anyMatch(bt -> Arrays.stream(bt)
                                    .map(i -> items.get(i).slot()).distinct().count() > 1), "some batch mixes prompts");
                            List<int[]> single = new ArrayList<>(); // one prompt per batch: its cache expanded, not stacked
                            for (int k = 0; k < 2; k++) {
                                List<Integer> at = new ArrayList<>();
                                for (int i = 0; i < items.size(); i++) {
                                    if (items.get(i).slot() == k) {
                                        at.add(i);
                                    }
                                }
                                single.add(at.stream().mapToInt(Integer::intValue).toArray());
                            }
                            float[][] got = cached.score(slots, items, mixed);
                            float[][] again = cached.score(slots, items, single); // the cached prefixes are reused, unchanged
                            assertEquals(mixed.size() + single.size(), cached.forwardPasses());
                            double worst = 0;
                            for (int i = 0; i < items.size(); i++) {
                                for (int c = 0; c < plain[i].length; c++) {
                                    worst = Math.max(worst, Math.abs(plain[i][c] - got[i][c]));
                                    worst = Math.max(worst, Math.abs(plain[i][c] - again[i][c]));
                                }
                            }
                            System.out.printf("PREFIX CACHE %s: largest difference to the uncached path %.2e%n",
                                    dir.getFileName(), worst);
                            assertTrue(worst < 1e-5, "cached = uncached within 1e-5, worst " + worst);
                        }
                    }
                }));
    }

    @TestFactory
    Stream<DynamicTest> singlePromptCachedEqualsUncachedEqualsReference() {
        return Fixtures.all().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            try (LoadedModel m = LoadedModel.load(dir, "x")) {
                Task t = task("mood", "{sentence} it was", " bad", " good");
                Encoder enc = new Encoder(m.tokenizer(), t, 64, m.lm());
                Scorer.Slot slot = new Scorer.Slot(prompt(5, m.lm().hiddenSize(), 3), 5, enc.labels());
                List<Encoder.Encoded> rows = new ArrayList<>();
                for (String s : TEXTS) {
                    rows.add(enc.encode(s, -1));
                }
                float[][] plain = new Scorer(m.lm(), false).probabilities(slot, rows, 3);
                float[][] cached;
                try (Scorer sc = new Scorer(m.lm(), true)) {
                    assertEquals(m.lm().kind() == LanguageModel.Kind.DECODER, sc.cached());
                    cached = sc.probabilities(slot, rows, 3);
                }
                double worstCache = 0;
                double worstRef = 0;
                for (int i = 0; i < rows.size(); i++) {
                    float[] ref = Reference.probabilities(m.lm(), slot.values(), 5, rows.get(i), slot.labels());
                    for (int c = 0; c < ref.length; c++) {
                        worstCache = Math.max(worstCache, Math.abs(plain[i][c] - cached[i][c]));
                        worstRef = Math.max(worstRef, Math.abs(ref[c] - cached[i][c]));
                    }
                }
                System.out.printf("SINGLE PROMPT %s: cached vs uncached %.2e, vs reference %.2e%n", dir.getFileName(),
                        worstCache, worstRef);
                assertTrue(worstCache <= 1e-5 && worstRef <= 1e-5, "worst " + worstCache + " / " + worstRef);
            }
        }));
    }

    static boolean isDecoder(Path dir) {
        try (LoadedModel m = LoadedModel.load(dir, "x")) {
            return m.lm().kind() == LanguageModel.Kind.DECODER;
        }
    }

    @Test
    void voteAndMeanOnHandCheckedCases() {
        float[][] members = {{0.6f, 0.4f, 0f}, {0.55f, 0.45f, 0f}, {0.1f, 0.9f, 0f}};
        // vote: two members say class 0; mean: (0.6+0.55+0.1)/3 = 0.4167 < (0.4+0.45+0.9)/3 = 0.5833 → class 1
        Ensemble.Decision vote = Ensemble.VOTE.combine(members);
        Ensemble.Decision mean = Ensemble.MEAN.combine(members);
        assertEquals(0, vote.label());
        assertArrayEquals(new float[] {2f / 3, 1f / 3, 0f}, vote.scores(), 1e-6f);
        assertEquals(1, mean.label());
        assertArrayEquals(new float[] {1.25f / 3, 1.75f / 3, 0f}, mean.scores(), 1e-6f);
        // a tied vote goes to the higher mean probability: one vote each for 0 and 1, mean favours 1
        float[][] tie = {{0.51f, 0.49f}, {0.2f, 0.8f}};
        assertEquals(1, Ensemble.VOTE.combine(tie).label());
        float[][] tie2 = {{0.9f, 0.1f}, {0.45f, 0.55f}};
        assertEquals(0, Ensemble.VOTE.combine(tie2).label());
    }

    @Test
    void bucketsRespectBatchSizeAndTokenBudget() {
        Encoder.Labels labels = new Encoder.Labels(new long[] {1, 2}, new long[][] {{1}, {2}});
        List<Scorer.Slot> slots = List.of(new Scorer.Slot(new float[4], 2, labels),
                new Scorer.Slot(new float[16], 8, labels));
        List<Scorer.Item> items = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            items.add(new Scorer.Item(i % 2, new Encoder.Encoded(new long[1 + i], -1)));
        }
        for (boolean cached : new boolean[] {false, true}) {
            List<int[]> b = Scorer.buckets(slots, items, 4, 40, cached);
            Set<Integer> seen = new TreeSet<>();
            for (int[] batch : b) {
                assertTrue(batch.length <= 4);
                int s = 0;
                int n = 0;
                int t = 0;
                for (int i : batch) {
                    s = Math.max(s, slots.get(items.get(i).slot()).tokens() + items.get(i).row().ids().length);
                    n = Math.max(n, slots.get(items.get(i).slot()).tokens());
                    t = Math.max(t, items.get(i).row().ids().length);
                    assertTrue(seen.add(i), "each item once");
                }
                int width = cached ? n + t : s; // cached: [the longest prompt][the longest text]
                assertTrue(width * batch.length <= 40 || batch.length == 1, "token budget: " + width + " x " + batch.length);
            }
            assertEquals(10, seen.size());
        }
    }

    @Test
    void cachedBatchesSortByTextAloneAndInlineOnesByPromptPlusText() {
        Encoder.Labels labels = new Encoder.Labels(new long[] {1, 2}, new long[][] {{1}, {2}});
        List<Scorer.Slot> slots = List.of(new Scorer.Slot(new float[20], 10, labels), new Scorer.Slot(new float[60], 30, labels));
        // texts of 5 and 25 tokens under each prompt: N + T is 15, 35, 35, 55
        List<Scorer.Item> items = List.of(new Scorer.Item(0, new Encoder.Encoded(new long[5], -1)),
                new Scorer.Item(1, new Encoder.Encoded(new long[25], -1)), new Scorer.Item(0, new Encoder.Encoded(new long[25], -1)),
                new Scorer.Item(1, new Encoder.Encoded(new long[5], -1)));
        // cached: the short texts together (whatever their prompts), then the long ones
        assertEquals(List.of(List.of(0, 3), List.of(2, 1)), Scorer.buckets(slots, items, 2, 0, true).stream()
                .map(bt -> Arrays.stream(bt).boxed().toList()).toList());
        // inline: by N + T (15, then the two of 35, then 55)
        assertEquals(List.of(List.of(0, 2), List.of(3, 1)), Scorer.buckets(slots, items, 2, 0, false).stream()
                .map(bt -> Arrays.stream(bt).boxed().toList()).toList());
    }
}
