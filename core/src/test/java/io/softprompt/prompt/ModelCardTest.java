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

    /**
     * Issue 35: the card's Python always used AutoModelForCausalLM (failing for T5, wrong for BERT), no
     * card showed the classification in Python, pipeline_tag was text-generation for a classifying
     * prompt, and softprompt.json carried absolute local paths and the hidden pad_to.
     */
    @Test
    void eachKindGetsItsModelClassAndAClassifierInPython() {
        java.util.Map<String, String> meta = new java.util.LinkedHashMap<>(java.util.Map.of(PromptFile.MODEL_NAME, "org/m",
                PromptFile.TEMPLATE, "{sentence} It was", PromptFile.TEXT_COLUMN, "sentence",
                PromptFile.VERBALIZER, "{\"0\":\" bad\",\"1\":\" good\"}", PromptFile.TASK, "sst2"));
        Prompt sp = new Prompt(new float[8], 2, 4, meta);
        for (String[] k : new String[][] {{"DECODER", "AutoModelForCausalLM", "logits[0, -1]"},
            {"SEQ2SEQ", "AutoModelForSeq2SeqLM", "decoder_input_ids=start"}, {"MASKED", "AutoModelForMaskedLM", "tok.mask_token_id"}}) {
            String card = ModelCard.of(sp, k[0], "PROMPT_TUNING");
            assertTrue(card.contains("pipeline_tag: text-classification"), card);
            assertTrue(card.contains(k[1] + ".from_pretrained(\"org/m\")") && card.contains(k[2]), k[0] + "\n" + card);
            assertTrue(card.contains("template.replace(\"{sentence}\", text.strip())") && card.contains("def classify(text)"), card);
        }
        meta.put(PromptFile.TASK_TYPE, "text-to-text");
        String gen = ModelCard.of(new Prompt(new float[8], 2, 4, meta), "SEQ2SEQ", "PROMPT_TUNING");
        assertTrue(gen.contains("pipeline_tag: text2text-generation") && !gen.contains("def classify"), gen);
    }

    @Test
    void theAdaptersCopyOfTheMetadataHoldsNothingMachineLocal() {
        java.util.Map<String, String> meta = java.util.Map.of(PromptFile.MODEL_NAME, "/home/alice/models/tiny-gpt2",
                PromptFile.TRAIN_CONFIG, "{\"train\":\"/home/alice/data/t.tsv\",\"pad_to\":64,\"init_text\":\"review :\",\"lr\":0.03}");
        java.util.Map<String, String> p = ModelCard.portable(meta);
        assertEquals("tiny-gpt2", p.get(PromptFile.MODEL_NAME));
        assertEquals("{\"train\":\"t.tsv\",\"init_text\":\"review :\",\"lr\":0.03}", p.get(PromptFile.TRAIN_CONFIG));
    }

    /** Issue 37: a prompt trained on the model's chat template is reproduced in Python through apply_chat_template. */
    @Test
    void aChatPromptsCardRendersTheConversationAsTraining() throws Exception {
        java.util.Map<String, String> meta = new java.util.LinkedHashMap<>(java.util.Map.of(PromptFile.MODEL_NAME, "Qwen/Qwen3-0.6B",
                PromptFile.TEMPLATE, "Review: {sentence}", PromptFile.TEXT_COLUMN, "sentence",
                PromptFile.VERBALIZER, "{\"0\":\"negative\",\"1\":\"positive\"}", PromptFile.TASK, "sst2",
                PromptFile.CHAT, "true", PromptFile.SYSTEM, "Label \"reviews\".", PromptFile.CHAT_VARIABLES, "{\"enable_thinking\":false}"));
        String card = ModelCard.of(new Prompt(new float[8], 2, 4, meta), "DECODER", "PROMPT_TUNING");
        assertTrue(card.contains("tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False, "
                + "**json.loads(\"{\\\"enable_thinking\\\":false}\"))"), card);
        assertTrue(card.contains("messages.insert(0, {\"role\": \"system\", \"content\": \"Label \\\"reviews\\\".\"})"), card);
        assertTrue(card.contains("add_special_tokens=False"), card);
        String plain = ModelCard.of(new Prompt(new float[8], 2, 4, java.util.Map.of(PromptFile.MODEL_NAME, "gpt2",
                PromptFile.TEMPLATE, "{sentence} It was", PromptFile.VERBALIZER, "{\"0\":\" bad\",\"1\":\" good\"}")),
                "DECODER", "PROMPT_TUNING");
        assertFalse(plain.contains("apply_chat_template"), plain);
        // the card's Python parses (python3 is on the build machines; without it only the text is checked)
        String py = card.substring(card.indexOf("```python") + 9, card.indexOf("```", card.indexOf("```python") + 9));
        org.junit.jupiter.api.Assumptions.assumeTrue(new java.io.File("/usr/bin/python3").canExecute()
                || new java.io.File("/usr/local/bin/python3").canExecute(), "python3 absent: the snippet's syntax is not checked");
        Process p = new ProcessBuilder("python3", "-c", "import ast, sys; ast.parse(sys.stdin.read())").redirectErrorStream(true).start();
        p.getOutputStream().write(py.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out + "\n" + py);
    }
}
