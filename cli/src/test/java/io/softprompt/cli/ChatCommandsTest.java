package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.model.TextTokenizer;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.util.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 37: a Qwen3-style fixture with the real Qwen3 chat template. {@code encode --chat --json} shows
 * the rendered conversation and its ids; {@code train --chat} records the framing in the .sp, so eval,
 * infer and embed frame rows alike; what cannot chat is one line.
 */
class ChatCommandsTest {
    @TempDir
    static Path tmp;
    static Path qwen;
    static Path task;

    @BeforeAll
    static void fixture() throws Exception {
        qwen = Fixtures.withChatTemplate(tmp, "qwen3", "qwen3.jinja");
        task = Fixtures.moodTask(tmp, 3);
    }

    @Test
    void encodeShowsTheRenderedConversationAndItsIds() throws Exception {
        Cli.Run r = Cli.run("encode", "--model", qwen.toString(), "--task", "sst2", "--chat", "--json", "a gripping film");
        assertEquals(0, r.code(), r.err());
        System.out.println("encode --chat --json on a Qwen3-style fixture with the Qwen3 template:\n" + r.out().strip());
        JsonNode j = Json.MAPPER.readTree(r.out());
        String rendered = "<|im_start|>user\na gripping film It was<|im_end|>\n<|im_start|>assistant\n";
        assertEquals(rendered, j.get("rendered").asText());
        try (TextTokenizer tok = TextTokenizer.open(qwen.resolve("tokenizer.json"))) {
            long[] ids = Json.MAPPER.convertValue(j.get("ids"), long[].class);
            assertArrayEquals(tok.encode(rendered), ids, "the rendered text's ids, no special id added");
            assertEquals(tok.encode("<|im_start|>")[0], ids[0], "<|im_start|> is one id");
            assertEquals(1, tok.encode("<|im_start|>").length);
            assertEquals(ids.length, j.get("tokens").size());
            assertEquals("<|im_start|>", j.get("tokens").get(0).asText());
            assertEquals(ids.length - 1, j.get("decision_at").asInt(), "the answer follows the opened assistant turn");
            assertEquals(0, j.get("prompt_at").asInt());
            assertEquals(20, j.get("positions").get(0).asInt());
            assertEquals(20 + ids.length - 1, j.get("decision_position").asInt());
            assertEquals(" positive", j.get("labels").get("1").get("word").asText());
        }
        Cli.Run plain = Cli.run("encode", "--model", qwen.toString(), "--task", "sst2", "--json", "a gripping film");
        assertEquals("a gripping film It was", Json.MAPPER.readTree(plain.out()).get("rendered").asText(), "no chat unless asked");
        Cli.Run human = Cli.run("encode", "--model", qwen.toString(), "--task", "sst2", "--chat", "--system", "Be brief.", "x");
        assertEquals(0, human.code(), human.err());
        assertTrue(human.out().contains("rendered:  \"<|im_start|>system\\nBe brief.<|im_end|>\\n<|im_start|>user\\nx It was"), human.out());
        assertTrue(human.out().contains("<- the answer is read here"), human.out());
    }

    @Test
    void aChatPromptIsEvaluatedInferredAndEmbeddedInItsFraming() throws Exception {
        Path sp = tmp.resolve("chat.sp");
        Cli.Run t = Cli.run("train", "--task", task.toString(), "--model", qwen.toString(), "--chat", "--system", "Label the mood.",
                "--tokens", "3", "--steps", "2", "--batch-size", "2", "--depth", "input", "-o", sp.toString());
        assertEquals(0, t.code(), t.err());
        Prompt p = PromptFile.read(sp);
        assertEquals("true", p.meta(PromptFile.CHAT));
        assertEquals("Label the mood.", p.meta(PromptFile.SYSTEM));
        Cli.Run e = Cli.run("eval", "--prompt", sp.toString(), "--model", qwen.toString(), "--data", task.resolveSibling("mood.tsv").toString());
        assertEquals(0, e.code(), e.err());
        Cli.Run enc = Cli.run("encode", "--model", qwen.toString(), "--task", task.toString(), "--chat", "--system", "Label the mood.",
                "--tokens", "3", "--json", "a happy day");
        Cli.Run emb = Cli.run("embed", "--prompt", sp.toString(), "--model", qwen.toString(), "--format", "vllm", "a happy day");
        assertEquals(0, emb.code(), emb.err());
        int ids = Json.MAPPER.readTree(enc.out()).get("ids").size();
        assertEquals(3 + ids, Json.MAPPER.readTree(emb.out()).get("shape").get(0).asInt(),
                "embed frames the chat prompt's text as encode shows it");
        Path plain = tmp.resolve("plain.sp");
        assertEquals(0, Cli.run("train", "--task", task.toString(), "--model", qwen.toString(), "--tokens", "3", "--steps", "1",
                "--batch-size", "2", "--depth", "input", "-o", plain.toString()).code());
        Cli.Run asChat = Cli.run("embed", "--prompt", plain.toString(), "--model", qwen.toString(), "--chat", "--system",
                "Label the mood.", "--format", "vllm", "a happy day");
        assertEquals(0, asChat.code(), asChat.err());
        assertEquals(3 + ids, Json.MAPPER.readTree(asChat.out()).get("shape").get(0).asInt(), "embed --chat frames a plain prompt's text");
    }

    @Test
    void whatCannotChatIsOneLine() {
        Cli.Run none = Cli.run("encode", "--model", Fixtures.of("qwen3").toString(), "--chat", "x");
        Cli.Run masked = Cli.run("encode", "--model", Fixtures.of("bert").toString(), "--chat", "x");
        Cli.Run system = Cli.run("encode", "--model", qwen.toString(), "--system", "s", "x");
        Cli.Run train = Cli.run("train", "--model", qwen.toString(), "--system", "s", "--steps", "1", "-o", tmp.resolve("n.sp").toString());
        assertTrue(none.errLine().contains("has no chat template"), none.err());
        assertTrue(masked.errLine().contains("only decoder LMs take"), masked.err());
        assertTrue(system.errLine().contains("--system is a chat's system message: add --chat"), system.err());
        assertTrue(train.errLine().contains("--system is a chat's system message: add --chat"), train.err());
        for (Cli.Run r : new Cli.Run[] {none, masked, system, train}) {
            assertEquals(2, r.code(), r.err());
            assertFalse(r.errLine().contains("\n"), r.err());
            assertFalse(r.err().contains("\tat "), r.err());
        }
        assertFalse(Files.exists(tmp.resolve("n.sp")));
        // a chat the model cannot frame is refused before the run is announced or its folder made
        Cli.Run noTemplate = Cli.run("train", "--model", Fixtures.of("qwen3").toString(), "--chat", "--steps", "1",
                "-o", tmp.resolve("t.sp").toString());
        assertEquals(2, noTemplate.code(), noTemplate.err());
        assertTrue(noTemplate.errLine().endsWith("but the model has no chat template (no chat_template.jinja, no chat_template in "
                + "tokenizer_config.json)"), noTemplate.err());
        assertFalse(noTemplate.err().contains("training a"), noTemplate.err());
        assertFalse(Files.exists(tmp.resolve("t.run")) || Files.exists(tmp.resolve("t.sp")));
    }
}
