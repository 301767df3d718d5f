package io.softprompt.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import io.softprompt.api.SoftPrompt;
import io.softprompt.data.Encoder;
import io.softprompt.infer.Member;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.ActivationCache;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.train.TrainConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 37: the text every row of a chat task shares (the system turn and the user header) sits in the
 * prefix cache after the prompt, computed once per prompt, and every row scores exactly as when it runs
 * whole: alone, beside rows of the same prompt without the head, and beside rows cut into the head.
 */
class SharedHeadTest {
    static final List<String> TEXTS = List.of("the movie was great and fine", "a dull boring plot", "great", "a plot",
            "fine fine fine movie", "boring");

    @Test
    void aChatsHeadIsComputedOnceAndEveryRowScoresAsWhole(@TempDir Path tmp) throws Exception {
        Path qwen = Fixtures.withChatTemplate(tmp, "qwen3", "qwen3.jinja");
        Path task = Fixtures.moodTask(tmp, 3);
        // a deep prompt in the top layer and a late prompt entering it keep no head (their rows run whole, the head's
        // states below the prompt kept with each row by an activation cache): they scored 5e-3 off when they kept one
        for (String kind : List.of("input", "deep", "deep:1", "late:1")) {
            String depth = kind.split(":")[0];
            Integer layers = kind.contains(":") ? Integer.valueOf(kind.split(":")[1]) : null;
            Path sp = tmp.resolve(kind.replace(':', '-') + ".sp");
            try (SoftPrompt api = SoftPrompt.of(LoadedModel.load(qwen, qwen.toString()))) {
                api.train(TrainConfig.builder().task(task.toString()).tokens(3).depth(depth).promptLayers(layers).steps(1)
                        .batchSize(2).chat(true).system("You label the mood of short reviews.").output(sp.toString()).build());
            }
            try (LoadedModel model = LoadedModel.load(qwen, qwen.toString())) {
                Prompt p = PromptFile.read(sp);
                Member m = Member.of(model, null, "p", p, null, false);
                Member cut = Member.of(model, null, "p", p, 12, false); // rows cut into the head run whole
                long[] head = m.slot().head();
                assertTrue(head.length >= 8, depth + ": the system turn and header are shared: " + head.length);
                List<Encoder.Encoded> rows = new ArrayList<>();
                List<Encoder.Encoded> cutRows = new ArrayList<>();
                for (String t : TEXTS) {
                    rows.add(m.encoder().encode(t, -1));
                    cutRows.add(cut.encoder().encode(t, -1));
                }
                Scorer.Slot whole = new Scorer.Slot(m.slot().values(), m.slot().tokens(), m.slot().labels(), m.slot().site());
                try (Scorer s = new Scorer(model.lm(), true)) {
                    float[][] headed = s.probabilities(m.slot(), rows, 4);
                    int headRows = layers == null ? rows.size() : 0;
                    assertEquals(headRows, s.headRows(), kind + ": rows after the cached head");
                    float[][] plain = s.probabilities(whole, rows, 4);
                    float[][] cutAlone = s.probabilities(cut.slot(), cutRows, 4);
                    assertEquals(headRows, s.headRows(), kind + ": rows cut into the head and slots without one ran whole");
                    double worst = close(headed, plain, 2e-5f, kind + " headed vs whole");
                    List<Scorer.Slot> slots = List.of(m.slot(), whole, cut.slot());
                    List<Scorer.Item> items = new ArrayList<>();
                    for (int i = 0; i < rows.size(); i++) {
                        items.add(new Scorer.Item(i % 3, i % 3 == 2 ? cutRows.get(i) : rows.get(i)));
                    }
                    float[][] mixed = s.score(slots, items, s.batches(slots, items, 8, 0));
                    for (int i = 0; i < rows.size(); i++) {
                        float[][] want = {i % 3 == 2 ? cutAlone[i] : plain[i]};
                        worst = Math.max(worst, close(new float[][] {mixed[i]}, want, 2e-5f, kind + " mixed row " + i));
                    }
                    if (layers != null) { // through an activation cache: the kept states (float16) hold the head's
                        try (ActivationCache kept = new ActivationCache(model.lm(), 1 << 20, null);
                             Scorer viaKept = new Scorer(kept, true)) {
                            close(viaKept.probabilities(m.slot(), rows, 4), plain, 2e-3f, kind + " through an activation cache");
                            assertTrue(kept.stats().hits() + kept.stats().misses() > 0, kind + ": read the activation cache");
                        }
                    }
                    System.out.printf("%s prompt, chat head of %d ids%s: largest difference from whole rows %.2e%n",
                            kind, head.length, layers == null ? " cached" : " run with each row", worst);
                }
            }
        }
    }

    static double close(float[][] a, float[][] b, float tol, String what) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            for (int c = 0; c < a[i].length; c++) {
                double d = Math.abs(a[i][c] - b[i][c]);
                worst = Math.max(worst, d);
                assertTrue(d <= tol, what + ": row " + i + " class " + c + " differs by " + d);
            }
        }
        return worst;
    }
}
