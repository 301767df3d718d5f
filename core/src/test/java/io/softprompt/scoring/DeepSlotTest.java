package io.softprompt.scoring;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.softprompt.Fixtures;
import io.softprompt.data.Encoder;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.DeepSite;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.PromptSite;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Deep prompts in the scorer: rows of input prompts and deep prompts of different lengths share one
 * batch and score exactly as each prompt alone, with the prefix cache on or off; a deep prompt made
 * from an input prompt's keys and values scores as that prompt.
 */
class DeepSlotTest {
    static final String[] TEXTS = {"the movie was great", "a bad plot", "it was fine and good", "dull"};

    @TestFactory
    Stream<DynamicTest> mixedBatchesOfDeepAndInputPromptsEqualEachAlone() {
        return Stream.of("gpt2", "llama").map(arch -> DynamicTest.dynamicTest(arch, () -> check(Fixtures.of(arch))));
    }

    static float[] random(int n, long seed, double scale) {
        return io.softprompt.TestPrompts.gaussian(n, seed, scale);
    }

    /** Each slot's rows, slot after slot: items k·R + i. */
    static List<Scorer.Item> items(int slots, List<Encoder.Encoded> rows) {
        List<Scorer.Item> items = new ArrayList<>();
        for (int k = 0; k < slots; k++) {
            for (Encoder.Encoded r : rows) {
                items.add(new Scorer.Item(k, r));
            }
        }
        return items;
    }

    /** The largest |together − alone| over every slot's rows and classes (two classes), alone scored by a fresh scorer. */
    static double worstAgainstAlone(LanguageModel lm, boolean cache, List<Scorer.Slot> slots, List<Encoder.Encoded> rows,
            float[][] together) {
        double worst = 0;
        for (int k = 0; k < slots.size(); k++) {
            float[][] alone;
            try (Scorer solo = new Scorer(lm, cache)) {
                alone = solo.probabilities(slots.get(k), rows, 2);
            }
            for (int i = 0; i < rows.size(); i++) {
                for (int c = 0; c < 2; c++) {
                    worst = Math.max(worst, Math.abs(together[k * rows.size() + i][c] - alone[i][c]));
                }
            }
        }
        return worst;
    }

    static void check(Path dir) {
        try (LoadedModel model = LoadedModel.load(dir, "x"); NDManager m = NDManager.newBaseManager()) {
            LanguageModel lm = model.lm();
            int d = lm.hiddenSize();
            int w = lm.attention().prefixWidth();
            long[] words = {model.tokenizer().encode(" good")[0], model.tokenizer().encode(" bad")[0]};
            Encoder.Labels labels = new Encoder.Labels(words, new long[][] {{words[0]}, {words[1]}});
            float[] p = random(4 * d, 1, 0.5);
            NDArray fromP = DeepSite.fromInputPrompt(lm, m.create(p, new Shape(4, d)));
            List<Scorer.Slot> slots = List.of(
                    new Scorer.Slot(p, 4, labels),                                        // input, N = 4
                    new Scorer.Slot(fromP.toFloatArray(), 4, labels, PromptSite.DEEP),               // deep, the same as P
                    new Scorer.Slot(random(3 * w, 2, 0.5), 3, labels, PromptSite.DEEP),              // deep, Np = 3
                    new Scorer.Slot(random(2 * d, 3, 0.5), 2, labels));                   // input, N = 2
            List<Encoder.Encoded> rows = new ArrayList<>();
            for (String t : TEXTS) {
                long[] ids = model.tokenizer().encode(t);
                rows.add(new Encoder.Encoded(ids, -1)); // read at its last token
            }
            List<Scorer.Item> items = items(slots.size(), rows);
            double worst = 0;
            for (boolean cache : new boolean[] {false, true}) {
                try (Scorer mixed = new Scorer(lm, cache)) {
                    float[][] together = mixed.score(slots, items, List.of(java.util.stream.IntStream.range(0, items.size()).toArray()));
                    worst = Math.max(worst, worstAgainstAlone(lm, cache, slots, rows, together));
                    for (int i = 0; i < rows.size(); i++) { // deep from P = P
                        for (int c = 0; c < 2; c++) {
                            worst = Math.max(worst, Math.abs(together[i][c] - together[rows.size() + i][c]));
                        }
                    }
                }
            }
            System.out.printf(Locale.ROOT, "DEEP-SLOTS %-12s largest probability difference %.3e%n", dir.getFileName(), worst);
            assertTrue(worst <= 1e-5, dir.getFileName() + ": " + worst);
        }
    }

    /**
     * BERT: deep prompts run as caches (P-Tuning v2), input prompts as ever in front of the tokens; a
     * batch mixing them is split, and each row scores as its prompt alone.
     */
    @Test
    void onAMaskedLmDeepAndInputRowsShareACallAndScoreAsEachAlone() {
        try (LoadedModel model = LoadedModel.load(Fixtures.of("bert"), "x"); NDManager m = NDManager.newBaseManager()) {
            LanguageModel lm = model.lm();
            long[] words = {model.tokenizer().encode("good")[0], model.tokenizer().encode("bad")[0]};
            Encoder.Labels labels = new Encoder.Labels(words, new long[][] {{words[0]}, {words[1]}});
            List<Scorer.Slot> slots = List.of(new Scorer.Slot(random(3 * lm.attention().prefixWidth(), 4, 0.5), 3, labels, PromptSite.DEEP),
                    new Scorer.Slot(random(2 * lm.hiddenSize(), 5, 0.5), 2, labels));
            List<Encoder.Encoded> rows = List.of(new Encoder.Encoded(new long[] {2, 7, 8, 4, 3}, -1, 3),
                    new Encoder.Encoded(new long[] {2, 9, 4, 3}, -1, 2));
            float[][] together;
            try (Scorer s = new Scorer(lm, true)) {
                together = s.score(slots, items(2, rows), List.of(new int[] {0, 1, 2, 3}));
            }
            double worst = worstAgainstAlone(lm, true, slots, rows, together);
            System.out.printf(Locale.ROOT, "DEEP-SLOTS bert-tiny    largest probability difference %.3e%n", worst);
            assertTrue(worst <= 1e-5, "bert: " + worst);
        }
    }

    /**
     * T5: a deep prompt sits in the encoder, so each deep prompt's rows take an encoder pass of their own and
     * input rows theirs; a call mixing two deep prompts and an input prompt scores each row as its prompt alone.
     */
    @Test
    void onT5DeepAndInputRowsShareACallAndScoreAsEachAlone() {
        try (LoadedModel model = LoadedModel.load(Fixtures.of("t5"), "x")) {
            LanguageModel lm = model.lm();
            Encoder.Labels labels = new Encoder.Labels(new long[] {5, 6}, new long[][] {{5, 1}, {6, 1}});
            List<Scorer.Slot> slots = List.of(new Scorer.Slot(random(3 * lm.attention().prefixWidth(), 4, 0.5), 3, labels, PromptSite.DEEP),
                    new Scorer.Slot(random(2 * lm.hiddenSize(), 5, 0.5), 2, labels),
                    new Scorer.Slot(random(2 * lm.attention().prefixWidth(), 6, 0.5), 2, labels, PromptSite.DEEP));
            List<Encoder.Encoded> rows = List.of(new Encoder.Encoded(new long[] {7, 8, 9, 1}, -1),
                    new Encoder.Encoded(new long[] {10, 1}, -1));
            float[][] together;
            try (Scorer s = new Scorer(lm, true)) {
                together = s.score(slots, items(slots.size(), rows), List.of(new int[] {0, 1, 2, 3, 4, 5}));
            }
            double worst = worstAgainstAlone(lm, true, slots, rows, together);
            double apart = 0;
            for (int k = 0; k < slots.size(); k++) {
                apart = Math.max(apart, Math.abs(together[k * 2][0] - together[0][0]));
            }
            System.out.printf(Locale.ROOT, "DEEP-SLOTS t5-tiny      largest probability difference %.3e%n", worst);
            assertTrue(worst <= 1e-5, "t5: " + worst);
            assertTrue(apart > 1e-4, "the prompts make a difference: " + apart);
        }
    }
}
