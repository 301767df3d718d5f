package io.softprompt.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import io.softprompt.model.ChatTemplate;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Specials;
import io.softprompt.model.TextTokenizer;
import io.softprompt.util.UserException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Chat tasks: each row framed exactly as rendering its own conversation frames it, specials as single ids, no doubled BOS. */
class ChatFrameTest {
    static final Path TEMPLATES = Fixtures.root().resolveSibling("chat-templates");

    static Task task(String template, String system, Map<String, Object> vars) {
        LinkedHashMap<String, String> v = new LinkedHashMap<>();
        v.put("0", "negative");
        v.put("1", "positive");
        return new Task("chatty", template, null, null, v, null, null, null, null, null, null, true, system,
                vars == null ? null : new LinkedHashMap<>(vars)).validated("test");
    }

    @Test
    void everyRowIsFramedAsItsOwnConversationRenders(@TempDir Path dir) throws Exception {
        Path qwen = Fixtures.withChatTemplate(dir, "qwen3", "qwen3.jinja");
        List<String> texts = List.of("a gorgeous, witty film", "  padded  text \t", "{{ 7 * 7 }} {% raw %}", "naïve — “quoted” \\ back",
                "line one\nline two", "x");
        try (TextTokenizer tok = TextTokenizer.open(qwen.resolve("tokenizer.json"))) {
            Specials sp = Specials.decoder(new long[0], 2, 0);
            int checked = 0;
            for (String file : List.of("qwen3.jinja", "llama-3-instruct.jinja", "gemma-it.jinja", "phi-3.jinja", "mistral-instruct.jinja")) {
                ChatTemplate chat = new ChatTemplate(Files.readString(TEMPLATES.resolve(file)), file, Map.of("bos_token", "<s>", "eos_token", "</s>"));
                for (String system : new String[] {null, "You label reviews."}) {
                    if (system != null && file.startsWith("mistral")) {
                        continue; // renders no generation prompt: the same frame, checked without a system message
                    }
                    for (Map<String, Object> vars : List.<Map<String, Object>>of(Map.of(), Map.of("enable_thinking", false))) {
                        Task t = task("Review: {sentence} Sentiment:", system, vars);
                        Encoder enc = new Encoder(tok, t, 512, LanguageModel.Kind.DECODER, sp, chat);
                        for (String text : texts) {
                            List<ChatTemplate.Message> msgs = new ArrayList<>();
                            if (system != null) {
                                msgs.add(new ChatTemplate.Message("system", system));
                            }
                            msgs.add(new ChatTemplate.Message("user", "Review: " + text.strip() + " Sentiment:"));
                            String direct = chat.render(msgs, true, vars);
                            assertEquals(direct, enc.framed(text), file + " " + system + " " + vars + " " + text);
                            assertTrue(java.util.Arrays.equals(tok.encode(direct), enc.encodeText(text)), file + ": ids of " + text);
                            checked++;
                        }
                    }
                }
            }
            assertTrue(checked >= 100, "rows checked: " + checked);
        }
    }

    @Test
    void specialTokensInTheTemplateAreSingleIdsAndABosIsNeverDoubled(@TempDir Path dir) throws Exception {
        Path qwen = Fixtures.withChatTemplate(dir, "qwen3", "qwen3.jinja");
        try (TextTokenizer tok = TextTokenizer.open(qwen.resolve("tokenizer.json"))) {
            Encoder enc = new Encoder(tok, task("{sentence}", null, null), 128, LanguageModel.Kind.DECODER,
                    Specials.decoder(new long[0], 2, 0), ChatTemplate.find(qwen));
            long[] ids = enc.encodeText("good");
            long imStart = Specials.id(tok, "<|im_start|>");
            long imEnd = Specials.id(tok, "<|im_end|>");
            assertTrue(imStart >= 0 && imEnd >= 0);
            assertEquals(imStart, ids[0], "<|im_start|> is one id");
            assertEquals(2, java.util.Arrays.stream(ids).filter(i -> i == imStart).count(), "user and assistant turns");
            assertEquals(1, java.util.Arrays.stream(ids).filter(i -> i == imEnd).count());
        }
        // a template that writes bos_token, on a model whose framing also puts a BOS first: one BOS
        Path llama = Fixtures.withChatTemplate(dir, "llama", "llama-3-instruct.jinja");
        try (TextTokenizer tok = TextTokenizer.open(llama.resolve("tokenizer.json"))) {
            long bos = Specials.id(tok, "<s>");
            Specials sp = Specials.decoder(new long[] {bos}, 2, 0);
            Encoder chat = new Encoder(tok, task("{sentence}", null, null), 128, LanguageModel.Kind.DECODER, sp, ChatTemplate.find(llama));
            assertTrue(chat.framed("good").startsWith("<s>"), chat.framed("good"));
            long[] ids = chat.encodeText("good");
            assertEquals(bos, ids[0]);
            assertTrue(ids[1] != bos, "BOS doubled: " + java.util.Arrays.toString(ids));
        }
    }

    @Test
    void aChatTheModelCannotTakeIsOneLine(@TempDir Path dir) throws Exception {
        try (TextTokenizer tok = TextTokenizer.open(Fixtures.of("qwen3").resolve("tokenizer.json"))) {
            Specials sp = Specials.decoder(new long[0], 2, 0);
            UserException none = assertThrows(UserException.class,
                    () -> new Encoder(tok, task("{sentence}", null, null), 128, LanguageModel.Kind.DECODER, sp, null));
            assertTrue(none.getMessage().contains("no chat template"), none.getMessage());
            UserException masked = assertThrows(UserException.class, () -> new Encoder(tok, task("{sentence}", null, null), 128,
                    LanguageModel.Kind.MASKED, new Specials(new long[] {1}, new long[] {2}, 3, "<|im_end|>", 2, 0, -1),
                    new ChatTemplate("{{ messages[0].content }}", "t.jinja", Map.of())));
            assertTrue(masked.getMessage().contains("only decoder LMs"), masked.getMessage());
            UserException dropped = assertThrows(UserException.class, () -> new Encoder(tok, task("{sentence}", null, null), 128,
                    LanguageModel.Kind.DECODER, sp, new ChatTemplate("{{ messages[0].content.upper() }}", "t.jinja", Map.of())));
            assertTrue(dropped.getMessage().startsWith("t.jinja: the chat template does not show the user's message"), dropped.getMessage());
            for (UserException e : List.of(none, masked, dropped)) {
                assertFalse(e.getMessage().contains("\n"));
            }
        }
        UserException system = assertThrows(UserException.class, () -> new Task("t", "{sentence}", null, null,
                new LinkedHashMap<>(Map.of("0", "a", "1", "b")), null, null, null, null, null, null, false, "sys", null).validated("t.json"));
        assertEquals("t.json: system frames a chat: it needs \"chat\": true (or --chat)", system.getMessage());
    }
}
