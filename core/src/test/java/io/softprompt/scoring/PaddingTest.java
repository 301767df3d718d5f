package io.softprompt.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import io.softprompt.data.Encoder;
import io.softprompt.data.Task;
import io.softprompt.loader.LoadedModel;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Inputs are laid out [prompt][text][padding]: padding never sits between the prompt and the text, so
 * a short input batched with a long one scores exactly as it does alone.
 */
class PaddingTest {
    @TestFactory
    Stream<DynamicTest> paddingDoesNotChangeAnswers() {
        return Fixtures.all().stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> {
            try (LoadedModel m = LoadedModel.load(dir, "x")) {
                LinkedHashMap<String, String> v = new LinkedHashMap<>();
                v.put("0", " bad");
                v.put("1", " good");
                Task task = new Task("t", "{sentence} it was", null, null, v, null, null, null, null).validated("t");
                Encoder enc = new Encoder(m.tokenizer(), task, 64, m.lm());
                Encoder.Encoded shortRow = enc.encode("a bad plot", 0);
                Encoder.Encoded longRow = enc.encode("the movie was a great film with good actors and a fine story", 1);
                assertTrue(longRow.ids().length > shortRow.ids().length + 5);
                int n = 3;
                float[] prompt = new float[n * m.lm().hiddenSize()];
                Random r = new Random(1);
                for (int i = 0; i < prompt.length; i++) {
                    prompt[i] = (float) r.nextGaussian() * 0.3f;
                }
                Scorer p = new Scorer(m.lm(), false);
                Scorer.Slot slot = new Scorer.Slot(prompt, n, enc.labels());
                float[] alone = p.probabilities(slot, List.of(shortRow), 8)[0];
                float[] batched = p.probabilities(slot, List.of(longRow, shortRow), 8)[1];
                for (int c = 0; c < alone.length; c++) {
                    assertEquals(alone[c], batched[c], 1e-5f, dir.getFileName() + " class " + c);
                }
            }
        }));
    }
}
