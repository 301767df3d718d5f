package io.softprompt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import io.softprompt.data.Encoder;
import io.softprompt.data.Example;
import io.softprompt.data.Task;
import io.softprompt.eval.Metrics;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.LanguageModel;
import io.softprompt.prompt.PromptInit;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Packed training is equivalent to solo training: K prompts (different lengths, tasks, objectives,
 * optimisers, seeds) sharing every forward pass end where each ends alone. Gradient accumulation is
 * equivalent to the larger batch.
 */
class PackTest {
    static final String[] SENTENCES = {"the movie was great and fine", "a dull boring plot", "fine acting and a good story",
        "boring and slow", "a great film", "the plot was dull", "good fun", "bad and boring"};

    static Task task(String name, String template, String... words) {
        LinkedHashMap<String, String> v = new LinkedHashMap<>();
        for (int i = 0; i < words.length; i++) {
            v.put(Integer.toString(i), words[i]);
        }
        return new Task(name, template, null, null, v, null, null, null, null).validated(name);
    }

    static Task textToText() {
        return new Task("qa", "question: {input} answer:", null, null, null, null, null, null, null, "text-to-text", null)
                .validated("qa");
    }

    static List<Example> rows(Task t, int classes) {
        List<Example> out = new ArrayList<>();
        for (int i = 0; i < SENTENCES.length; i++) {
            out.add(t.textToText() ? new Example(SENTENCES[i], -1, i + 2, i % 2 == 0 ? "good" : "bad")
                    : new Example(SENTENCES[i], i % classes, i + 2));
        }
        return out;
    }

    /** A run without a dev set or run folder: its result is its last prompt. */
    static Trainer.Run run(LoadedModel m, Task t, int classes, int tokens, String optimizer, String objective, long seed,
            int batch, int accum, int steps) {
        TrainConfig cfg = TrainConfig.builder().tokens(tokens).optimizer(optimizer).objective(objective).seed(seed)
                .batchSize(batch).gradAccum(accum).steps(steps).warmup(2).schedule("linear").clipNorm(1.0)
                .lr("adamw".equals(optimizer) ? 0.03 : 0.3).maxLength(32).build();
        Encoder enc = new Encoder(m.tokenizer(), t, 32, m.lm());
        float[] init = PromptInit.RANDOM.values(m.lm(), m.tokenizer(), tokens, seed, null, enc.labelTokens());
        return new Trainer.Run(cfg, enc, enc.encodeAll(rows(t, classes)), null, 0, init, quiet(), Trainer.Context.none());
    }

    static Trainer.Listener quiet() {
        return new Trainer.Listener() {
            @Override
            public void onStep(Trainer.Step s) {}

            @Override
            public void onEval(int step, Metrics dev, boolean best) {}
        };
    }

    /** max |a - b| / max |b|. */
    static double relative(float[] a, float[] b) {
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return diff / scale;
    }

    @TestFactory
    Stream<DynamicTest> aPackEndsWhereEachRunEndsAlone() {
        return Stream.of("gpt2", "llama", "t5", "bert").map(arch -> DynamicTest.dynamicTest(arch, () -> {
            Path dir = Fixtures.of(arch);
            try (LoadedModel m = LoadedModel.load(dir, arch)) {
                boolean generates = m.lm().kind() != LanguageModel.Kind.MASKED;
                List<Trainer.Run> runs = new ArrayList<>();
                runs.add(run(m, task("mood", "{sentence} it was", " bad", " good"), 2, 2, "adamw", "verbalizer", 1, 2, 1, 20));
                runs.add(run(m, task("topic", "Topic of: {sentence} is", " movie", " plot", " film"), 3, 5, "adafactor",
                        "verbalizer", 2, 3, 1, 20));
                runs.add(run(m, task("grade", "{sentence} grade", " the", " a"), 2, 3, "adamw", "lm", 3, 2, 1, 20));
                if (generates) {
                    runs.add(run(m, textToText(), 0, 4, "adafactor", "verbalizer", 4, 2, 1, 20));
                }
                List<float[]> solo = new ArrayList<>();
                for (Trainer.Run r : runs) {
                    solo.add(Trainer.trainPack(m.lm(), List.of(r), 0).get(0).bestPrompt());
                }
                List<Trainer.Result> packed = Trainer.trainPack(m.lm(), runs, 0);
                for (int k = 0; k < runs.size(); k++) {
                    double rel = relative(packed.get(k).bestPrompt(), solo.get(k));
                    System.out.printf("PACK %s run %d (%s, N=%d, %s): packed vs solo, max relative difference %.2e%n", arch, k,
                            runs.get(k).encoder().task().name(), runs.get(k).cfg().tokens(), runs.get(k).cfg().optimizer(), rel);
                    assertTrue(rel <= 1e-5, arch + " run " + k + ": " + rel);
                    assertTrue(relative(runs.get(k).init(), solo.get(k)) > 1e-3, "it trained");
                }
                // with a token budget the runs split over several passes: still the same
                List<Trainer.Result> budget = Trainer.trainPack(m.lm(), runs, 40);
                for (int k = 0; k < runs.size(); k++) {
                    assertTrue(relative(budget.get(k).bestPrompt(), solo.get(k)) <= 1e-5, arch + " budget run " + k);
                }
            }
        }));
    }

    /** A run whose listener records each step's loss and gradient norm. */
    static Trainer.Run recorded(Trainer.Run r, List<double[]> steps) {
        Trainer.Listener l = new Trainer.Listener() {
            @Override
            public void onStep(Trainer.Step s) {
                steps.add(new double[] {s.loss(), s.gradNorm()});
            }

            @Override
            public void onEval(int step, Metrics dev, boolean best) {}
        };
        return new Trainer.Run(r.cfg(), r.encoder(), r.train(), r.eval(), r.devSize(), r.init(), l, r.context());
    }

    @Test
    void gradientAccumulationEqualsTheLargerBatch() throws Exception {
        for (String arch : List.of("gpt2", "t5")) {
            try (LoadedModel m = LoadedModel.load(Fixtures.of(arch), arch)) {
                for (String objective : List.of("verbalizer", "lm")) {
                    Task t = task("mood", "{sentence} it was", " bad", " good");
                    List<double[]> bigSteps = new ArrayList<>();
                    List<double[]> accumSteps = new ArrayList<>();
                    float[] big = Trainer.trainPack(m.lm(), List.of(recorded(run(m, t, 2, 3, "adamw", objective, 7, 8, 1, 6),
                            bigSteps)), 0).get(0).bestPrompt();
                    float[] accum = Trainer.trainPack(m.lm(), List.of(recorded(run(m, t, 2, 3, "adamw", objective, 7, 2, 4, 6),
                            accumSteps)), 0).get(0).bestPrompt();
                    // the first step starts from the same prompt: its loss and gradient are the accumulation itself
                    double loss = Math.abs(accumSteps.get(0)[0] - bigSteps.get(0)[0]) / Math.abs(bigSteps.get(0)[0]);
                    double grad = Math.abs(accumSteps.get(0)[1] - bigSteps.get(0)[1]) / Math.abs(bigSteps.get(0)[1]);
                    double rel = relative(accum, big);
                    System.out.printf("ACCUM %s %s: 4 x batch 2 vs batch 8: step-1 loss %.2e, gradient norm %.2e, prompt after "
                            + "6 AdamW steps %.2e (relative)%n", arch, objective, loss, grad, rel);
                    assertTrue(loss <= 1e-6 && grad <= 1e-6, arch + " " + objective + ": " + loss + " / " + grad);
                    assertTrue(rel <= 1e-5, arch + " " + objective + ": " + rel);
                }
            }
        }
    }

    @Test
    void lengthGroupedOrderIsAPermutationOfSimilarLengthsAndAPureFunction() {
        int[] lengths = new int[1000];
        java.util.Random r = new java.util.Random(3);
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = 5 + r.nextInt(60);
        }
        TrainConfig cfg = TrainConfig.builder().batchSize(8).groupByLength(true).seed(5).build();
        int[] a = Trainer.order(lengths, cfg, 2);
        assertEquals(java.util.Arrays.toString(a), java.util.Arrays.toString(Trainer.order(lengths, cfg, 2)), "pure");
        int[] sorted = a.clone();
        java.util.Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) {
            assertEquals(i, sorted[i], "a permutation");
        }
        double grouped = 0;
        double plain = 0;
        int[] p = Trainer.order(lengths.length, 5, 2);
        for (int s = 0; s + 8 <= a.length; s += 8) {
            grouped += spread(lengths, a, s);
            plain += spread(lengths, p, s);
        }
        System.out.printf("GROUP BY LENGTH: mean padding per batch %.1f tokens, %.1f without%n", grouped / 125, plain / 125);
        assertTrue(grouped < plain / 4, grouped + " vs " + plain);
    }

    /** Padding tokens of the batch of 8 rows starting at s. */
    static double spread(int[] lengths, int[] order, int s) {
        int max = 0;
        int sum = 0;
        for (int i = s; i < s + 8; i++) {
            max = Math.max(max, lengths[order[i]]);
            sum += lengths[order[i]];
        }
        return 8.0 * max - sum;
    }
}
