package io.softprompt.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import io.softprompt.OpenArrays;
import io.softprompt.data.Encoder;
import io.softprompt.data.Task;
import io.softprompt.eval.Evaluator;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.ActivationCache;
import io.softprompt.scoring.Scorer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * No training step leaves a native array behind: DJL's count of open arrays (every NDManager's, the
 * model's weights included) is the same after step 6 as after step 24, on every path a prompt takes in
 * training (deep and input, solo and packed, accumulation, a projected deep prompt, text-to-text, an
 * evaluation through the scorer every 5 steps). A leak of one array a step shows as 18 more; the deep
 * path's batch-expanded prefix keys and values once did exactly that (issue 36).
 */
class NoLeakTest {
    /** A run that records the open arrays at the end of each step (after its update, log and evaluation). */
    static Trainer.Run counted(Trainer.Run r, List<Integer> counts) {
        Trainer.Listener l = new Trainer.Listener() {
            @Override
            public void onStep(Trainer.Step s) {
                counts.add(OpenArrays.count());
            }
        };
        return new Trainer.Run(r.plan(), r.encoder(), r.train(), r.eval(), r.devSize(), r.init(), l, r.context());
    }

    /** A run of 24 steps, edited, with an evaluation through {@code scorer} every 5 steps when it classifies. */
    static Trainer.Run run(LoadedModel m, Scorer scorer, Task t, int tokens, int accum, UnaryOperator<TrainConfigBuilder> edit) {
        Trainer.Run base = PackTest.run(m, t, t.textToText() ? 0 : 2, tokens, "adamw", "verbalizer", 5, 2, accum, 24);
        TrainConfig cfg = edit.apply(base.cfg().toBuilder().evalEvery(5)).build();
        TrainPlan plan = TrainPlan.of(cfg);
        int width = cfg.site().width(m.lm());
        int n = cfg.tokens();
        float[] init = new float[n * width];
        java.util.Random rnd = new java.util.Random(n);
        for (int i = 0; i < init.length; i++) {
            init[i] = (float) (rnd.nextGaussian() * 0.1);
        }
        Encoder enc = base.encoder();
        List<Encoder.Encoded> dev = base.train().subList(0, 4);
        Trainer.Evaluation eval = t.textToText() ? null
                : p -> Evaluator.classify(scorer, new Scorer.Slot(p, n, enc.labels(), cfg.site()), dev, 4);
        return new Trainer.Run(plan, enc, base.train(), eval, eval == null ? 0 : dev.size(), init, base.listener(), base.context());
    }

    record Case(String arch, String name, List<UnaryOperator<TrainConfigBuilder>> runs, boolean textToText, int accum, boolean kept) {
        Case(String arch, String name, List<UnaryOperator<TrainConfigBuilder>> runs, boolean textToText, int accum) {
            this(arch, name, runs, textToText, accum, false);
        }
    }

    @TestFactory
    Stream<DynamicTest> aTrainingStepLeavesNoArrayBehind() {
        UnaryOperator<TrainConfigBuilder> deep = b -> b.depth("deep");
        UnaryOperator<TrainConfigBuilder> input = b -> b.depth("input");
        return Stream.of(
                new Case("gpt2", "deep", List.of(deep), false, 1),
                new Case("gpt2", "deep, 2 micro-batches", List.of(deep), false, 2),
                new Case("gpt2", "deep, projected", List.of(b -> b.depth("deep").prefixProjection(true).reparamHidden(8)), false, 1),
                new Case("gpt2", "deep, text-to-text", List.of(deep), true, 1),
                new Case("gpt2", "input", List.of(input), false, 1),
                new Case("gpt2", "input, residual", List.of(b -> b.depth("input").reparam("residual").reparamHidden(8)), false, 1),
                new Case("gpt2", "pack of deep and input", List.of(deep, input, b -> b.depth("input").tokens(3)), false, 1),
                new Case("llama", "deep", List.of(deep), false, 1),
                new Case("t5", "deep", List.of(deep), false, 1),
                new Case("bert", "deep", List.of(deep), false, 1),
                new Case("gpt2", "deep in the top layer", List.of(b -> b.depth("deep").promptLayers(1)), false, 1),
                new Case("gpt2", "late, kept states", List.of(b -> b.depth("late").promptLayers(1)), false, 1, true),
                new Case("llama", "pack of partial, late and deep, kept states", List.of(b -> b.depth("deep").promptLayers(1),
                        b -> b.depth("late").promptLayers(1), deep), false, 1, true),
                new Case("t5", "late, kept states", List.of(b -> b.depth("late").promptLayers(1)), false, 1, true))
                .map(c -> DynamicTest.dynamicTest(c.arch() + " " + c.name(), () -> check(c)));
    }

    static void check(Case c) throws Exception {
        try (LoadedModel m = LoadedModel.load(Fixtures.of(c.arch()), c.arch());
             ActivationCache lm = new ActivationCache(m.lm(), c.kept() ? 1 << 20 : 0, null); Scorer scorer = new Scorer(lm)) {
            Task t = c.textToText() ? PackTest.textToText() : PackTest.task("mood", "{sentence} it was", " bad", " good");
            List<List<Integer>> counts = new ArrayList<>();
            List<Trainer.Run> runs = new ArrayList<>();
            for (UnaryOperator<TrainConfigBuilder> edit : c.runs()) {
                List<Integer> mine = new ArrayList<>();
                counts.add(mine);
                runs.add(counted(run(m, scorer, t, 2, c.accum(), edit), mine));
            }
            List<Trainer.Result> results = Trainer.trainPack(lm, runs, 0);
            for (int k = 0; k < runs.size(); k++) {
                assertEquals(null, results.get(k).failure(), "run " + k);
                List<Integer> mine = counts.get(k);
                assertEquals(24, mine.size(), "run " + k + " steps");
                int early = mine.get(5);
                int late = mine.get(23);
                System.out.printf("LEAK %s %s run %d: open arrays after step 6 %d, after step 24 %d%n", c.arch(), c.name(), k,
                        early, late);
                assertEquals(early, late, c.arch() + " " + c.name() + " run " + k + ": arrays left behind by 18 steps");
                assertTrue(early > 0, "the count sees the model's weights");
            }
        }
    }
}
