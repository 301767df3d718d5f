package io.softprompt.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import io.softprompt.data.Encoder;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.ActivationCache;
import io.softprompt.model.DeepSite;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.LateSite;
import io.softprompt.model.PromptSite;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Prompts that reach only the top layers in the scorer, on every architecture: one batch holding rows of
 * an input prompt, a deep prompt, a deep prompt in the top L − 1 layers, a late prompt entering layer 1
 * and one entering layer 0 scores each row as its prompt alone, with the prefix cache on and off, through
 * the model (within float16's rounding through an activation cache, whose kept states a batch of one
 * prompt reads and a batch stacking several prompts' prefixes does not); and with the prefix cache on and
 * off.
 */
class PartialSlotTest {
    @TestFactory
    Stream<DynamicTest> mixedBatchesWithPartialDepthPromptsEqualEachAlone() {
        return Fixtures.all().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            try (LoadedModel model = LoadedModel.load(dir, "x")) {
                LanguageModel lm = model.lm();
                int d = lm.hiddenSize();
                int top = Math.max(1, lm.attention().layers() - 1);
                long[] words = {5, 9};
                Encoder.Labels labels = new Encoder.Labels(words, new long[][] {{5, 1}, {9, 1}});
                PromptSite partial = new DeepSite(top);
                List<Scorer.Slot> slots = List.of(
                        new Scorer.Slot(DeepSlotTest.random(4 * d, 1, 0.5), 4, labels),
                        new Scorer.Slot(DeepSlotTest.random(3 * lm.attention().prefixWidth(), 2, 0.5), 3, labels, PromptSite.DEEP),
                        new Scorer.Slot(DeepSlotTest.random(2 * partial.width(lm), 3, 0.5), 2, labels, partial),
                        new Scorer.Slot(DeepSlotTest.random(3 * d, 4, 0.5), 3, labels, new LateSite(top)),
                        new Scorer.Slot(DeepSlotTest.random(2 * d, 5, 0.5), 2, labels, new LateSite(lm.attention().layers())));
                List<Encoder.Encoded> rows = new ArrayList<>();
                for (String t : DeepSlotTest.TEXTS) {
                    rows.add(new Encoder.Encoded(model.tokenizer().encode(t), -1));
                }
                List<Scorer.Item> items = DeepSlotTest.items(slots.size(), rows);
                List<int[]> one = List.of(IntStream.range(0, items.size()).toArray());
                double worst = 0;
                double keptWorst = 0;
                double layouts = 0;
                float[][] first = null;
                try (ActivationCache kept = new ActivationCache(lm, 1 << 20, null)) {
                    for (LanguageModel via : new LanguageModel[] {lm, kept}) {
                        for (boolean cache : new boolean[] {false, true}) {
                            try (Scorer mixed = new Scorer(via, cache)) {
                                float[][] together = mixed.score(slots, items, one);
                                double w = DeepSlotTest.worstAgainstAlone(via, cache, slots, rows, together);
                                if (via == lm) {
                                    worst = Math.max(worst, w);
                                } else {
                                    keptWorst = Math.max(keptWorst, w);
                                }
                                if (via == lm) {
                                    first = first == null ? together : first;
                                    for (int i = 0; i < together.length; i++) {
                                        for (int c = 0; c < 2; c++) {
                                            layouts = Math.max(layouts, Math.abs(together[i][c] - first[i][c]));
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                System.out.printf(Locale.ROOT, "PARTIAL-SLOTS %-14s largest difference to each alone %.3e (through an "
                        + "activation cache %.3e); prefix cache on vs off %.3e%n", dir.getFileName(), worst, keptWorst, layouts);
                assertTrue(worst <= 1e-5, dir.getFileName() + ": " + worst);
                // a row alone reads its kept float16 states; beside other prompts' prefixes it runs the lower layers
                assertTrue(keptWorst <= 1e-3, dir.getFileName() + " through an activation cache: " + keptWorst);
                assertTrue(layouts <= 1e-5, dir.getFileName() + ": " + layouts);
            }
        }));
    }
    /**
     * An ensemble of prompts entering at one layer with one length (two deep prompts in the top L − 1 layers
     * and a late prompt entering layer 1, decoder LMs; the late prompt alone twice elsewhere), every text under
     * each: the frozen layers below run once per distinct text in the batch, and each row scores as alone.
     */
    @TestFactory
    Stream<DynamicTest> anEnsembleRunsTheFrozenLayersOncePerText() {
        return Fixtures.all().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            try (LoadedModel model = LoadedModel.load(dir, "x")) {
                LanguageModel lm = model.lm();
                if (lm.attention().layers() < 2) {
                    return;
                }
                int top = lm.attention().layers() - 1;
                long[] words = {5, 9};
                Encoder.Labels labels = new Encoder.Labels(words, new long[][] {{5, 1}, {9, 1}});
                PromptSite late = new LateSite(top);
                PromptSite partial = lm.kind() == LanguageModel.Kind.DECODER ? new DeepSite(top) : late;
                List<Scorer.Slot> slots = List.of(
                        new Scorer.Slot(DeepSlotTest.random(3 * partial.width(lm), 11, 0.5), 3, labels, partial),
                        new Scorer.Slot(DeepSlotTest.random(3 * partial.width(lm), 12, 0.5), 3, labels, partial),
                        new Scorer.Slot(DeepSlotTest.random(3 * late.width(lm), 13, 0.5), 3, labels, late));
                List<Encoder.Encoded> rows = new ArrayList<>();
                for (String t : DeepSlotTest.TEXTS) {
                    rows.add(new Encoder.Encoded(model.tokenizer().encode(t), -1));
                }
                List<Scorer.Item> items = DeepSlotTest.items(slots.size(), rows);
                java.util.concurrent.atomic.AtomicLong entered = new java.util.concurrent.atomic.AtomicLong();
                LanguageModel counting = (LanguageModel) java.lang.reflect.Proxy.newProxyInstance(LanguageModel.class.getClassLoader(),
                        new Class<?>[] {LanguageModel.class}, (proxy, method, args) -> {
                            if (method.getName().equals("entry")) {
                                entered.addAndGet(((ai.djl.ndarray.NDArray) args[0]).getShape().get(0));
                            }
                            try {
                                return method.invoke(lm, args);
                            } catch (java.lang.reflect.InvocationTargetException e) {
                                throw e.getCause();
                            }
                        });
                boolean prefix = partial.pass(lm, true) == PromptSite.Pass.PREFIX && late.pass(lm, true) == PromptSite.Pass.PREFIX;
                try (Scorer s = new Scorer(counting, true)) {
                    float[][] together = s.score(slots, items, List.of(IntStream.range(0, items.size()).toArray()));
                    if (prefix) { // encoder-style models run each late row's own pass: no shared frozen rows to count
                        assertEquals(rows.size(), entered.get(), dir.getFileName() + ": the frozen layers ran once per text");
                    }
                    double worst = DeepSlotTest.worstAgainstAlone(lm, true, slots, rows, together);
                    System.out.printf(Locale.ROOT, "ENSEMBLE-ENTRY %-14s %d rows, frozen layers for %d, largest difference to "
                            + "each alone %.3e%n", dir.getFileName(), items.size(), entered.get(), worst);
                    assertTrue(worst <= 1e-5, dir.getFileName() + ": " + worst);
                }
            }
        }));
    }
}
