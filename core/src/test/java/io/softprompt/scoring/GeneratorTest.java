package io.softprompt.scoring;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.LanguageModel;
import io.softprompt.util.UserException;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Greedy generation with the key/value cache gives exactly the tokens of recomputing every step. */
class GeneratorTest {
    @TestFactory
    Stream<DynamicTest> cacheAndRecomputeAgree() {
        return Fixtures.all().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> check(dir)));
    }

    static void check(Path dir) {
        try (LoadedModel m = LoadedModel.load(dir, "x")) {
            LanguageModel lm = m.lm();
            if (lm.kind() == LanguageModel.Kind.MASKED) {
                assertThrows(UserException.class, () -> new Generator(lm, true));
                return;
            }
            int n = 4;
            int d = lm.hiddenSize();
            int total = 0;
            for (int trial = 0; trial < 3; trial++) {
                Random r = new Random(trial);
                float[] prompt = new float[n * d];
                for (int i = 0; i < prompt.length; i++) {
                    prompt[i] = (float) r.nextGaussian() * 0.5f;
                }
                long[] input = m.tokenizer().encode(trial == 0 ? "the movie was great" : trial == 1 ? "a bad plot" : "it was");
                long[] cached = new Generator(lm, true).generate(prompt, n, input, 12);
                long[] full = new Generator(lm, false).generate(prompt, n, input, 12);
                System.out.printf("generate %s trial %d: %d tokens%n", dir.getFileName(), trial, cached.length);
                assertArrayEquals(full, cached, dir.getFileName() + " trial " + trial);
                assertTrue(cached.length <= 12);
                total += cached.length;
            }
            assertTrue(total > 3, "the comparison covers several generated tokens, not just an immediate EOS");
        }
    }

    @Test
    void stopsAtMaxNewTokens() {
        try (LoadedModel m = LoadedModel.load(Fixtures.of("gpt2"), "x")) {
            float[] prompt = new float[2 * m.lm().hiddenSize()];
            long[] out = new Generator(m.lm(), true).generate(prompt, 2, m.tokenizer().encode("the movie"), 3);
            assertTrue(out.length <= 3);
            assertEquals(0, new Generator(m.lm(), true).generate(prompt, 2, m.tokenizer().encode("the movie"), 0).length);
        }
    }
}
