package io.softprompt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.softprompt.Fixtures;
import org.junit.jupiter.api.Test;

/**
 * Issue 37: a tokenizer's added special tokens are never split: "<|im_start|>" in a text is its one id,
 * as transformers encodes it (the chat templates' markers depend on it).
 */
class SpecialTokensTest {
    @Test
    void addedSpecialTokensAreSingleIds() {
        for (String[] c : new String[][] {{"qwen3", "<|im_start|>", "<|im_end|>"}, {"gemma3", "<bos>", "<eos>"},
            {"phi3", "<s>", "<|endoftext|>"}}) {
            TextTokenizer tok = TextTokenizer.open(Fixtures.of(c[0]).resolve("tokenizer.json"));
            long a = Specials.id(tok, c[1]);
            long b = Specials.id(tok, c[2]);
            assertEquals(1, tok.encode(c[1]).length, c[0] + ": " + c[1] + " is one id");
            long[] ids = tok.encode(c[1] + "the movie" + c[2]);
            assertEquals(a, ids[0], c[0] + ": " + c[1] + " kept whole at the start");
            assertEquals(b, ids[ids.length - 1], c[0] + ": " + c[2] + " kept whole at the end");
            assertArrayEquals(tok.encode(c[1]), new long[] {a});
        }
    }
}
