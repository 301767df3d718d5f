package io.softprompt.prompt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 34: a model card carries a base model's name from a file. It went unquoted into the card's
 * shell snippet ({@code --model gpt2;touch /tmp/pwned #}), and a Windows path kept the user's name
 * (only "/" counted as a separator); a NUL in a path was an internal error.
 */
class ModelCardTest {
    @Test
    void aNameIsOneShellWordWhateverItHolds() throws Exception {
        for (String name : List.of("gpt2;touch /tmp/pwned #", "a'b", "$(id)", "`id`", "x\ny", "plain")) {
            String word = ModelCard.shellQuoted(name);
            Process p = new ProcessBuilder("sh", "-c", "printf %s " + word).redirectErrorStream(true).start();
            String back = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor());
            assertEquals(name, back, "the shell reads " + word + " back as the name, and runs nothing");
        }
    }

    @Test
    void aLocalPathShowsOnlyItsLastNameOnEverySystem() {
        assertEquals("tiny-gpt2", ModelCard.plainName("C:\\Users\\alice\\models\\tiny-gpt2"));
        assertEquals("tiny-gpt2", ModelCard.plainName("C:/Users/alice/models/tiny-gpt2/"));
        assertEquals("tiny-gpt2", ModelCard.plainName("/home/alice/models/tiny-gpt2"));
        assertEquals("tiny-gpt2", ModelCard.plainName("\\\\server\\share\\alice\\tiny-gpt2"));
        assertEquals("tiny-gpt2", ModelCard.plainName("../alice/tiny-gpt2"));
        assertEquals("gpt2 x", ModelCard.plainName("/tmp/gpt2\u0000x"));
        assertEquals("Qwen/Qwen3-0.6B", ModelCard.plainName("Qwen/Qwen3-0.6B"), "a hub id is shown as it is");
        assertEquals("gpt2@main", ModelCard.plainName("gpt2@main"));
    }

    @Test
    void theCardOfAPromptFromAnotherMachineNamesNoUserAndRunsNoCode() {
        Prompt sp = new Prompt(new float[8], 2, 4, java.util.Map.of(PromptFile.MODEL_NAME, "gpt2;touch pwned #",
                PromptFile.TRAIN_CONFIG, "{\"train\":\"C:\\\\Users\\\\alice\\\\data\\\\t.tsv\",\"model\":\"/home/bob/m\\u0000x\"}"));
        String card = ModelCard.of(sp, "CAUSAL_LM", "PROMPT_TUNING");
        assertFalse(card.contains("alice") || card.contains("bob"), card);
        assertTrue(card.contains("--model 'gpt2;touch pwned #'"), card);
        assertFalse(card.contains("\u0000"), card);
    }
}
