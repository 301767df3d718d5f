package io.softprompt.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import io.softprompt.loader.LoadedModel;
import io.softprompt.prompt.PromptInit;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.util.UserException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Template encoding, truncation, batching and prompt initialisation on the gpt2 fixture's word tokenizer. */
class EncoderAndInitTest {
    static LoadedModel model;
    static Task task;

    @BeforeAll
    static void load() {
        model = LoadedModel.load(Fixtures.of("gpt2"), "gpt2-tiny");
        LinkedHashMap<String, String> v = new LinkedHashMap<>();
        v.put("0", " negative");
        v.put("1", " positive");
        task = new Task("t", "{sentence} it was", null, null, v, null, null, null, null).validated("test");
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void templateMatchesTheReferenceEncoding() {
        // golden.json's first text is exactly "{sentence} it was" applied to this sentence
        SafetensorsFile g = SafetensorsFile.open(Fixtures.of("gpt2").resolve("golden.safetensors"));
        long[] golden = Arrays.copyOf(g.readLongs("input_ids"), 15);
        Encoder enc = new Encoder(model.tokenizer(), task, 128, model.lm());
        assertArrayEquals(golden, enc.encodeText("the movie was a great film with good actors and a fine story "));
        assertArrayEquals(g.readLongs("verbalizer_ids"), enc.labelTokens());
    }

    @Test
    void truncationKeepsTheTemplateTail() {
        Encoder enc = new Encoder(model.tokenizer(), task, 6, model.lm());
        long[] ids = enc.encodeText("the movie was a great film with good actors");
        assertEquals(6, ids.length);
        long[] tail = model.tokenizer().encode(" it was");
        assertArrayEquals(tail, Arrays.copyOfRange(ids, 4, 6));
        assertArrayEquals(Arrays.copyOf(model.tokenizer().encode("the movie was a great film with good actors"), 4),
                Arrays.copyOf(ids, 4));
    }

    @Test
    void batchesPadRightAndMarkTheLastRealToken() {
        Encoder.Batch b = Encoder.batch(List.of(new Encoder.Encoded(new long[] {5, 6, 7}, 1),
                new Encoder.Encoded(new long[] {9}, 0)), 0);
        assertEquals(3, b.length());
        assertArrayEquals(new long[] {5, 6, 7, 9, 0, 0}, b.ids());
        assertArrayEquals(new long[] {1, 1, 1, 1, 0, 0}, b.mask());
        assertArrayEquals(new long[] {2, 0}, b.positions());
        assertArrayEquals(new long[] {1, 0}, b.classes());
        assertEquals(5, Encoder.batch(List.of(new Encoder.Encoded(new long[] {1}, 0)), 5).length());
    }

    @Test
    void labelWordsSharingAFirstTokenAreRefused() {
        LinkedHashMap<String, String> v = new LinkedHashMap<>();
        v.put("a", " good film");
        v.put("b", " good plot");
        Task clash = new Task("c", "{sentence}", null, null, v, null, null, null, null);
        UserException e = assertThrows(UserException.class, () -> Encoder.labels(model.tokenizer(), clash, -1));
        assertTrue(e.getMessage().contains("same token"), e.getMessage());
    }

    float[] row(long id) {
        int d = model.lm().hiddenSize();
        float[] all = model.lm().embeddings().toFloatArray();
        return Arrays.copyOfRange(all, (int) id * d, (int) (id + 1) * d);
    }

    @Test
    void initialisations() {
        int d = model.lm().hiddenSize();
        long[] labels = new Encoder(model.tokenizer(), task, 32, model.lm()).labelTokens();
        float[] text = PromptInit.TEXT.values(model.lm(), model.tokenizer(), 5, 1, "good film", labels);
        long[] ids = model.tokenizer().encode("good film");
        for (int i = 0; i < 5; i++) {
            assertArrayEquals(row(ids[i % ids.length]), Arrays.copyOfRange(text, i * d, (i + 1) * d), "tiled text row " + i);
        }
        float[] lab = PromptInit.LABELS.values(model.lm(), model.tokenizer(), 4, 1, null, labels);
        assertArrayEquals(row(labels[0]), Arrays.copyOfRange(lab, 0, d));
        assertArrayEquals(row(labels[1]), Arrays.copyOfRange(lab, d, 2 * d));
        float[] rnd = PromptInit.RANDOM.values(model.lm(), model.tokenizer(), 3, 9, null, labels);
        for (float x : rnd) {
            assertTrue(x >= -0.5f && x <= 0.5f);
        }
        assertArrayEquals(rnd, PromptInit.RANDOM.values(model.lm(), model.tokenizer(), 3, 9, null, labels), "seeded");
        float[] vocab = PromptInit.VOCAB.values(model.lm(), model.tokenizer(), 3, 9, null, labels);
        float[] emb = model.lm().embeddings().toFloatArray();
        for (int i = 0; i < 3; i++) {
            float[] r = Arrays.copyOfRange(vocab, i * d, (i + 1) * d);
            boolean found = false;
            for (int v = 0; v < model.lm().vocabSize() && !found; v++) {
                found = Arrays.equals(r, Arrays.copyOfRange(emb, v * d, (v + 1) * d));
            }
            assertTrue(found, "vocab row " + i + " is a vocabulary embedding");
        }
    }
}
