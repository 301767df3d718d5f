package io.softprompt.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.softprompt.Fixtures;
import io.softprompt.data.Task;
import io.softprompt.eval.Evaluator;
import io.softprompt.eval.Metrics;
import io.softprompt.loader.LoadedModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The initial prompt (step 0) is a candidate for best: a run that only gets worse keeps it. */
class BestPromptTest {
    /** An evaluation that scores the k-th call as scores[k]: the initial prompt first, then each evaluation. */
    static Trainer.Evaluation scripted(double... scores) {
        int[] call = {0};
        return p -> {
            double acc = scores[Math.min(call[0]++, scores.length - 1)];
            return new Evaluator.Result(new Metrics(100, acc, acc, new long[][] {{0}}), 1, 1);
        };
    }

    static Trainer.Result train(double... scores) throws Exception {
        try (LoadedModel m = LoadedModel.load(Fixtures.of("gpt2"), "gpt2")) {
            Task t = PackTest.task("mood", "{sentence} it was", " bad", " good");
            Trainer.Run r = PackTest.run(m, t, 2, 3, "adamw", "verbalizer", 1, 2, 1, 6);
            List<Integer> bests = new ArrayList<>();
            Trainer.Listener l = new Trainer.Listener() {
                @Override
                public void onStep(Trainer.Step s) {}

                @Override
                public void onEval(int step, Metrics dev, boolean best) {
                    if (best) {
                        bests.add(step);
                    }
                }
            };
            TrainConfig cfg = r.cfg().toBuilder().evalEvery(2).build();
            Trainer.Result res = Trainer.train(cfg, m.lm(), r.encoder(), r.train(), scripted(scores), 4, r.init(), l,
                    Trainer.Context.none());
            seen = bests;
            init = r.init();
            return res;
        }
    }

    static List<Integer> seen;
    static float[] init;

    @Test
    void aRunThatOnlyGetsWorseKeepsItsInitialPrompt() throws Exception {
        // 0.5252 at step 0, then 0.5023, 0.51, 0.50: no evaluation beats the start
        Trainer.Result r = train(0.5252, 0.5023, 0.51, 0.50);
        assertEquals(0, r.bestStep());
        assertEquals(0.5252, r.bestDev().accuracy());
        assertArrayEquals(init, r.bestPrompt(), "the initial prompt is the output");
        assertEquals(List.of(), seen, "no later evaluation is announced as best so far: " + seen);
    }

    @Test
    void aBetterEvaluationStillWins() throws Exception {
        Trainer.Result r = train(0.50, 0.49, 0.60, 0.55);
        assertEquals(4, r.bestStep());
        assertEquals(0.60, r.bestDev().accuracy());
        assertFalse(Arrays.equals(init, r.bestPrompt()));
        assertEquals(List.of(4), seen);
    }
}
