package io.softprompt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.data.Encoder;
import io.softprompt.data.Example;
import io.softprompt.data.Task;
import io.softprompt.eval.Metrics;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.LanguageModel;
import io.softprompt.prompt.PromptFile;
import io.softprompt.prompt.PromptInit;
import io.softprompt.util.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Random;
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
        return new Trainer.Run(TrainPlan.of(cfg), enc, enc.encodeAll(rows(t, classes)), null, 0, init, quiet(), Trainer.Context.none());
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
                    double rel = packedVsSolo(m, runs.get(k), packed.get(k).bestPrompt(), solo.get(k));
                    System.out.printf("PACK %s run %d (%s, N=%d, %s): packed vs solo, max relative difference %.2e%n", arch, k,
                            runs.get(k).encoder().task().name(), runs.get(k).cfg().tokens(), runs.get(k).cfg().optimizer(), rel);
                    assertTrue(rel <= 1e-5, arch + " run " + k + ": " + rel);
                    assertTrue(relative(runs.get(k).init(), solo.get(k)) > 1e-3, "it trained");
                }
                // with a token budget the rows spread over more passes: still the same
                List<Trainer.Result> budget = Trainer.trainPack(m.lm(), runs, 40);
                for (int k = 0; k < runs.size(); k++) {
                    assertTrue(packedVsSolo(m, runs.get(k), budget.get(k).bestPrompt(), solo.get(k)) <= 1e-5, arch + " budget run " + k);
                }
            }
        }));
    }

    /**
     * How far a packed run ended from the run alone: max relative difference from its solo result or,
     * where that is over 1e-5, from the same run alone in micro-batches of one row (the same mean
     * gradient, summed in another order), whichever is closer. A pack lays a run's rows into passes by
     * length, so its sums run in another order than alone; on a trajectory that passes a ReLU kink
     * (t5-tiny's "topic" run under Adafactor at 0.3: alone in micro-batches of one it ends 1.9e-3 from
     * alone in one batch of three) rounding picks the side, and the pack must land on one of the two.
     */
    static double packedVsSolo(LoadedModel m, Trainer.Run r, float[] packed, float[] solo) {
        double rel = relative(packed, solo);
        if (rel <= 1e-5 || r.cfg().batchSize() == 1) {
            return rel;
        }
        Trainer.Run ones = variant(r, b -> b.batchSize(1).gradAccum(r.cfg().batchSize() * r.cfg().gradAccum()), r.init());
        float[] other = Trainer.trainPack(m.lm(), List.of(ones), 0).get(0).bestPrompt();
        System.out.printf("PACK %s: %.2e from alone in one batch, which is %.2e from alone in batches of one row; "
                + "packed is %.2e from the latter%n", r.encoder().task().name(), rel, relative(other, solo), relative(packed, other));
        return Math.min(rel, relative(packed, other));
    }

    /** A run as {@link #run}, with the config changed by {@code edit} (depth, reparameterisation) and its init. */
    static Trainer.Run variant(Trainer.Run r, java.util.function.UnaryOperator<TrainConfigBuilder> edit, float[] init) {
        return new Trainer.Run(TrainPlan.of(edit.apply(r.cfg().toBuilder()).build()), r.encoder(), r.train(), r.eval(), r.devSize(),
                init, r.listener(), r.context());
    }

    /**
     * Mixed depths and reparameterisations in one pack on the decoders: an input prompt, a deep prompt (its
     * own pass), a residual and an mlp reparameterised prompt (their folded prompts share the input pass)
     * each end where they end alone.
     */
    @TestFactory
    Stream<DynamicTest> aPackOfDeepInputAndReparameterisedPromptsEndsWhereEachEndsAlone() {
        return Stream.of("gpt2", "llama").map(arch -> DynamicTest.dynamicTest(arch, () -> {
            try (LoadedModel m = LoadedModel.load(Fixtures.of(arch), arch)) {
                Task t = task("mood", "{sentence} it was", " bad", " good");
                Trainer.Run plain = run(m, t, 2, 3, "adamw", "verbalizer", 1, 2, 1, 12);
                float[] table;
                try (ai.djl.ndarray.NDManager nd = ai.djl.ndarray.NDManager.newBaseManager()) {
                    table = io.softprompt.model.DeepSite.fromInputPrompt(m.lm(), io.softprompt.util.Tensors.create(nd,
                            run(m, t, 2, 2, "adamw", "verbalizer", 2, 2, 1, 12).init(),
                            new ai.djl.ndarray.types.Shape(2, m.lm().hiddenSize()))).toFloatArray();
                }
                Trainer.Run deep = variant(run(m, t, 2, 2, "adamw", "verbalizer", 2, 2, 1, 12), b -> b.depth("deep"), table);
                Trainer.Run residual = variant(run(m, t, 2, 4, "adamw", "verbalizer", 3, 2, 1, 12),
                        b -> b.reparam("residual").reparamHidden(8), run(m, t, 2, 4, "adamw", "verbalizer", 3, 2, 1, 12).init());
                Trainer.Run mlp = variant(run(m, t, 2, 3, "adamw", "lm", 4, 2, 1, 12),
                        b -> b.reparam("mlp").reparamHidden(8).lr(0.01), run(m, t, 2, 3, "adamw", "lm", 4, 2, 1, 12).init());
                List<Trainer.Run> runs = List.of(plain, deep, residual, mlp);
                List<float[]> solo = new ArrayList<>();
                for (Trainer.Run r : runs) {
                    solo.add(Trainer.trainPack(m.lm(), List.of(r), 0).get(0).bestPrompt());
                }
                List<Trainer.Result> packed = Trainer.trainPack(m.lm(), runs, 0);
                String[] names = {"input", "deep", "residual", "mlp"};
                for (int k = 0; k < runs.size(); k++) {
                    double rel = relative(packed.get(k).bestPrompt(), solo.get(k));
                    System.out.printf("PACK %s %s: packed vs solo, max relative difference %.2e%n", arch, names[k], rel);
                    assertTrue(rel <= 1e-5, arch + " " + names[k] + ": " + rel);
                }
                assertEquals(table.length, solo.get(1).length, "the deep prompt's table");
                assertTrue(relative(table, solo.get(1)) > 1e-3, "the deep prompt trained");
                assertTrue(relative(residual.init(), solo.get(2)) > 1e-3, "the residual prompt trained");
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
        return new Trainer.Run(r.plan(), r.encoder(), r.train(), r.eval(), r.devSize(), r.init(), l, r.context());
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

    /**
     * A float16 model trains its float32 prompt (mixed precision: each step differentiates a half copy,
     * the float32 master takes the update): the losses and the prompt follow the float32 run closely.
     */
    @Test
    void aHalfModelTrainsAFloat32PromptAsTheFloat32ModelDoes() throws Exception {
        for (String arch : List.of("gpt2", "t5")) {
            try (LoadedModel full = LoadedModel.load(Fixtures.of(arch), arch, "cpu", "float32");
                 LoadedModel half = LoadedModel.load(Fixtures.of(arch), arch, "cpu", "float16")) {
                Task t = task("mood", "{sentence} it was", " bad", " good");
                List<double[]> fullSteps = new ArrayList<>();
                List<double[]> halfSteps = new ArrayList<>();
                Trainer.Run rf = recorded(run(full, t, 2, 3, "adamw", "verbalizer", 5, 4, 1, 20), fullSteps);
                Trainer.Run rh = recorded(run(half, t, 2, 3, "adamw", "verbalizer", 5, 4, 1, 20), halfSteps);
                float[] pf = Trainer.trainPack(full.lm(), List.of(rf), 0).get(0).bestPrompt();
                float[] ph = Trainer.trainPack(half.lm(), List.of(rh), 0).get(0).bestPrompt();
                double firstLoss = Math.abs(halfSteps.get(0)[0] - fullSteps.get(0)[0]) / fullSteps.get(0)[0];
                double lastLoss = Math.abs(halfSteps.get(19)[0] - fullSteps.get(19)[0]) / fullSteps.get(19)[0];
                double rel = relative(ph, pf);
                System.out.printf("HALF TRAIN %s: float16 model vs float32, step-1 loss %.1e, step-20 loss %.1e, prompt after "
                        + "20 AdamW steps %.1e (relative)%n", arch, firstLoss, lastLoss, rel);
                assertTrue(firstLoss < 1e-2, "step 1: " + firstLoss);
                assertTrue(lastLoss < 5e-2, "step 20: " + lastLoss);
                assertTrue(rel < 5e-2, "prompt: " + rel);
                assertTrue(relative(rh.init(), ph) > 1e-3, "it trained");
            }
        }
    }

    @Test
    void lengthGroupedOrderIsAPermutationOfSimilarLengthsAndAPureFunction() {
        int[] lengths = new int[1000];
        Random r = new Random(3);
        for (int i = 0; i < lengths.length; i++) {
            lengths[i] = 5 + r.nextInt(60);
        }
        TrainConfig cfg = TrainConfig.builder().batchSize(8).groupByLength(true).seed(5).build();
        int[] a = DataOrder.order(lengths, cfg, 2);
        assertEquals(Arrays.toString(a), Arrays.toString(DataOrder.order(lengths, cfg, 2)), "pure");
        int[] sorted = a.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) {
            assertEquals(i, sorted[i], "a permutation");
        }
        double grouped = 0;
        double plain = 0;
        int[] p = DataOrder.order(lengths.length, 5, 2);
        for (int s = 0; s + 8 <= a.length; s += 8) {
            grouped += spread(lengths, a, s);
            plain += spread(lengths, p, s);
        }
        System.out.printf("GROUP BY LENGTH: mean padding per batch %.1f tokens, %.1f without%n", grouped / 125, plain / 125);
        assertTrue(grouped < plain / 4, grouped + " vs " + plain);
    }

    /** The pack of the kill-and-resume test: two tasks (mood, and topic of three classes), N 2, 5 and 3, both optimisers, one member leaving at step 12. */
    static List<TrainConfig> packConfigs(Path dir, Path mood) throws IOException {
        Path topic = mood.resolveSibling("topic.json");
        Files.writeString(topic, """
                {"name": "topic", "template": "Topic of: {text} is", "text_column": "text", "label_column": "y",
                 "verbalizer": {"0": " movie", "1": " plot", "2": " film"}, "train": "topic.tsv", "dev": "topic.tsv"}
                """);
        StringBuilder rows = new StringBuilder("text\ty\n");
        for (int i = 0; i < SENTENCES.length; i++) {
            rows.append(SENTENCES[i]).append('\t').append(i % 3).append('\n');
        }
        Files.writeString(mood.resolveSibling("topic.tsv"), rows);
        TrainConfigBuilder base = TrainConfig.builder().steps(20).checkpointEvery(5).evalEvery(5).batchSize(4).maxLength(24)
                .logEvery(1).warmup(2);
        return List.of(
                base.build().toBuilder().task(topic.toString()).tokens(2).optimizer("adamw").lr(0.03).seed(1)
                        .output(dir.resolve("a.sp").toString()).build(),
                base.build().toBuilder().task(mood.toString()).tokens(5).optimizer("adafactor").lr(0.3).seed(2)
                        .output(dir.resolve("b.sp").toString()).build(),
                base.build().toBuilder().task(mood.toString()).tokens(3).optimizer("adamw").lr(0.03).seed(3).steps(12)
                        .output(dir.resolve("c.sp").toString()).build());
    }

    /** Trains the pack in dir; member 0's listener throws at killAt (0: never), as a kill would stop it. */
    static void trainPack(LoadedModel m, Path dir, Path mood, int killAt) throws IOException {
        List<TrainJob> jobs = new ArrayList<>();
        List<TrainConfig> cfgs = packConfigs(dir, mood);
        for (int k = 0; k < cfgs.size(); k++) {
            jobs.add(TrainJob.prepare(cfgs.get(k), dir.resolve("run" + k), false));
        }
        runJobs(m, jobs, killAt);
    }

    static void runJobs(LoadedModel m, List<TrainJob> jobs, int killAt) {
        List<Trainer.Listener> ls = new ArrayList<>();
        for (int k = 0; k < jobs.size(); k++) {
            boolean killer = k == 0;
            ls.add(new Trainer.Listener() {
                @Override
                public void onStep(Trainer.Step s) {
                    if (killer && s.step() == killAt) {
                        throw new IllegalStateException("killed");
                    }
                }

                @Override
                public void onEval(int step, Metrics dev, boolean best) {}
            });
        }
        try {
            TrainJob.runPack(jobs, m, "gpt2-fixture", ls, 0);
        } catch (IllegalStateException e) {
            assertEquals("killed", e.getMessage());
        } finally {
            jobs.forEach(TrainJob::close);
        }
    }

    static void resumePack(LoadedModel m, Path dir, List<Integer> members, int expectedMoves) {
        List<TrainJob> jobs = new ArrayList<>();
        for (int k : members) {
            jobs.add(TrainJob.resume(dir.resolve("run" + k)));
        }
        List<String> notes = TrainJob.align(jobs);
        notes.forEach(n -> System.out.println("ALIGN " + n));
        assertEquals(expectedMoves, notes.size(), String.valueOf(notes));
        runJobs(m, jobs, 0);
    }

    static void assertSameFiles(Path whole, Path resumed, int k) throws Exception {
        String sp = new String[] {"a.sp", "b.sp", "c.sp"}[k];
        float[] w = PromptFile.read(whole.resolve(sp)).values();
        float[] r = PromptFile.read(resumed.resolve(sp)).values();
        org.junit.jupiter.api.Assertions.assertArrayEquals(w, r, "member " + k + ": best prompt bit for bit");
        Checkpoint cw = Checkpoint.read(whole.resolve("run" + k).resolve(RunDir.CHECKPOINT));
        Checkpoint cr = Checkpoint.read(resumed.resolve("run" + k).resolve(RunDir.CHECKPOINT));
        org.junit.jupiter.api.Assertions.assertArrayEquals(cw.prompt(), cr.prompt(), "member " + k + ": last prompt");
        for (String key : cw.optimizer().keySet()) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(cw.optimizer().get(key), cr.optimizer().get(key),
                    "member " + k + ": optimizer " + key);
        }
        assertEquals(losses(whole.resolve("run" + k)), losses(resumed.resolve("run" + k)), "member " + k + ": the log");
        JsonNode fw = Json.MAPPER.readTree(
                whole.resolve("run" + k).resolve(RunDir.FINAL).toFile());
        JsonNode fr = Json.MAPPER.readTree(
                resumed.resolve("run" + k).resolve(RunDir.FINAL).toFile());
        for (String f : List.of("steps", "best_step", "best_dev_accuracy", "final_loss", "initial_dev_accuracy")) {
            assertEquals(fw.get(f), fr.get(f), "member " + k + ": final.json " + f);
        }
    }

    /** step:loss of each logged line (the timing fields differ between runs). */
    static List<String> losses(Path run) throws Exception {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve(RunDir.METRICS))) {
            JsonNode j = Json.MAPPER.readTree(line);
            out.add(j.get("step") + ":" + j.get("loss") + ":" + j.path("dev").path("accuracy"));
        }
        return out;
    }

    /**
     * A pack killed mid-run, and one killed between its members' checkpoint writes, resume to end bit for
     * bit as the uninterrupted pack. (On this fixture a row's bits happen not to depend on the other
     * rows of its pass, so the torn case also pins that align moved member 0 back to the pack's step:
     * on other shapes and thread counts the company of a row can change its last bits.)
     */
    @Test
    void aKilledPackResumesBitForBit(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path mood = Fixtures.moodTask(tmp, 6);
        try (LoadedModel m = LoadedModel.load(Fixtures.of("gpt2"), "gpt2")) {
            Path whole = Files.createDirectories(tmp.resolve("whole"));
            trainPack(m, whole, mood, 0);

            // killed at step 14: every member checkpointed at 12 (member 2 left there, finished); 0 and 1 resume
            Path cut = Files.createDirectories(tmp.resolve("cut"));
            trainPack(m, cut, mood, 14);
            assertTrue(Files.isRegularFile(cut.resolve("run2").resolve(RunDir.FINAL)), "member 2 finished at 12");
            assertTrue(!Files.exists(cut.resolve("run0").resolve(RunDir.FINAL)), "member 0 did not");
            assertEquals(12, Checkpoint.read(cut.resolve("run1").resolve(RunDir.CHECKPOINT)).state().step(),
                    "member 1 checkpointed when member 2 left (12 is no multiple of 5)");
            resumePack(m, cut, List.of(0, 1), 0);

            // killed while the pack wrote its step-12 checkpoints, after member 0's: members 1 and 2 still at 10,
            // member 2 not finished; member 0 goes back to its previous checkpoint, all three resume at 10
            Path torn = Files.createDirectories(tmp.resolve("torn"));
            trainPack(m, torn, mood, 14);
            for (int k : List.of(1, 2)) {
                Path run = torn.resolve("run" + k);
                Files.copy(run.resolve(RunDir.PREVIOUS), run.resolve(RunDir.CHECKPOINT),
                        StandardCopyOption.REPLACE_EXISTING);
            }
            Files.delete(torn.resolve("run2").resolve(RunDir.FINAL));
            Files.delete(torn.resolve("c.sp"));
            assertEquals(10, Checkpoint.read(torn.resolve("run1").resolve(RunDir.CHECKPOINT)).state().step());
            resumePack(m, torn, List.of(0, 1, 2), 1);

            for (int k = 0; k < 3; k++) {
                assertSameFiles(whole, cut, k);
                assertSameFiles(whole, torn, k);
            }
            System.out.println("PACK RESUME: killed at step 14, and torn between checkpoint writes at step 12: "
                    + "all three members end bit for bit as the uninterrupted pack");
        }
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
