package io.softprompt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Real chat templates rendered byte for byte as transformers renders them (../shared/chat-templates). */
class ChatTemplateTest {

    static ChatTemplate template(Path cases, JsonNode doc) throws Exception {
        Path file = cases.resolveSibling(doc.get("template").asText());
        Map<String, String> tokens = new LinkedHashMap<>();
        tokens.put("bos_token", doc.get("bos_token").asText());
        tokens.put("eos_token", doc.get("eos_token").asText());
        return new ChatTemplate(Files.readString(file), file.toString(), tokens);
    }

    @Test
    void everyCaseRendersByteForByteAsTransformersDoes() throws Exception {
        List<Path> files = Fixtures.chatCases();
        assertTrue(files.size() >= 5, "the committed chat templates are missing: " + files);
        int checked = 0;
        for (Path f : files) {
            JsonNode doc = Json.readTree(f);
            ChatTemplate t = template(f, doc);
            int n = 0;
            int refused = 0;
            for (JsonNode c : doc.get("cases")) {
                List<ChatTemplate.Message> msgs = new ArrayList<>();
                c.get("messages").forEach(m -> msgs.add(new ChatTemplate.Message(m.get("role").asText(), m.get("content").asText())));
                Map<String, Object> extra = new LinkedHashMap<>();
                c.get("extra").fields().forEachRemaining(e -> extra.put(e.getKey(), Json.MAPPER.convertValue(e.getValue(), Object.class)));
                boolean gen = c.get("add_generation_prompt").asBoolean();
                String what = f.getFileName() + " case " + c.get("name").asText();
                if (c.has("error")) {
                    UserException e = assertThrows(UserException.class, () -> t.render(msgs, gen, extra), what);
                    // the case holds Python's "TemplateError: <message>"; the message is what a user reads
                    String message = c.get("error").asText().replaceFirst("^TemplateError: ", "");
                    assertTrue(e.getMessage().endsWith(": " + message), what + ": " + e.getMessage());
                    assertFalse(e.getMessage().contains("\n"), what);
                    refused++;
                } else {
                    assertEquals(c.get("rendered").asText(), t.render(msgs, gen, extra), what);
                }
                n++;
            }
            checked += n;
            System.out.printf("chat template %s: %d cases byte for byte (%d refused with the template's message)%n",
                    f, n, refused);
        }
        assertTrue(checked >= 40, "cases checked: " + checked);
    }

    private static String render(String source, String content) {
        return new ChatTemplate(source, "t.jinja", Map.of("bos_token", "<s>")).render(
                List.of(new ChatTemplate.Message("user", content)), true, Map.of());
    }

    @Test
    void pythonsStringMethodsHavePythonsMeaningNotJavas() {
        // Java's split takes a regular expression: '.' would split at every character
        assertEquals("[a|b|]", render("[{{ messages[0].content.split('.')|join('|') }}]", "a.b."));
        assertEquals("x y", render("{{ messages[0].content.split()|join(' ') }}", "  x \t y  "));
        assertEquals("a.b", render("{{ messages[0].content.split('.', 1)[1] }}", "z.a.b"));
        assertEquals("yes|no", render("{{ 'yes' if messages[0].content.startswith('<t') }}|{{ 'no' if not messages[0].content.endswith('x') }}", "<tool>"));
        assertEquals("[b]", render("[{{ messages[0].content.strip('\\n').lstrip('a') }}]", "\nab\n"));
        assertEquals("[hi]", render("[{{ messages[0].content | trim }}]", "\u00a0 hi\u3000"));
        assertEquals("HI there|hi there|Hi There", render("{{ messages[0].content.upper().replace('THERE', 'there') }}|"
                + "{{ messages[0].content.lower() }}|{{ messages[0].content.title() }}", "hi THERE"));
    }

    @Test
    void stepSlicesAndKeywordValuesReadAsJinja2ReadsThem() {
        assertEquals("3,2,1", render("{{ [1, 2, 3][::-1]|join(',') }}", "x"));
        assertEquals("c", render("{% set l = ['a', 'b', 'c', 'd'] %}{{ l[2:3:1]|join(',') }}", "x"));
        assertEquals("2,4", render("{% set l = [1, 2, 3, 4] %}{{ l[1::2]|join(',') }}", "x"));
        assertEquals("cba", render("{{ messages[0].content[::-1] }}", "abc"));
        assertEquals("2", render("{% set ns = namespace(a=true, i=messages|length + 1) %}{{ ns.i }}", "x"));
        assertEquals("a=b", render("{{ 'a=b' }}", "x"));
        assertEquals("<|im_start|>", render("{{ '<|im_start|>' if messages is defined }}", "x"), "a '|' in a string is no filter");
    }

    @Test
    void tojsonWritesWhatPythonsJsonDumpsWrites() {
        String t = "{{ {'a': [1, 2.5, 'x\\n\"'], 'b': none, 'c': true, 'd': 0.00001, 'é': 'ü'} | tojson }}";
        assertEquals("{\"a\": [1, 2.5, \"x\\n\\\"\"], \"b\": null, \"c\": true, \"d\": 1e-05, \"é\": \"ü\"}", render(t, "x"));
    }

    @Test
    void messagesAreDataAndJavaIsOutOfReach() {
        assertEquals("{{ 7 * 7 }} {% if true %}x{% endif %}", render("{{ messages[0].content }}", "{{ 7 * 7 }} {% if true %}x{% endif %}"));
        for (String code : List.of("{{ messages[0].content.getClass() }}", "{{ messages[0].content.toUpperCase() }}",
                "{{ messages[0].content.getBytes() }}", "{{ messages[0].getClass() }}", "{{ messages[0].content | nosuchfilter }}",
                "{{ 'x' if messages is nosuchtest }}", "{{ messages[0].content.split('a', 'b') }}")) {
            UserException e = assertThrows(UserException.class, () -> render(code, "x"), code);
            assertTrue(e.getMessage().startsWith("t.jinja: the chat template "), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void aModelFolderCarriesItsTemplateInEitherPlace(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        assertEquals(null, ChatTemplate.find(dir));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": {\"content\": \"<B>\"}, "
                + "\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"T\"}, {\"name\": \"default\", \"template\": \"{{ bos_token }}D\"}]}");
        assertEquals("<B>D", ChatTemplate.find(dir).render(List.of(), true, Map.of()));
        Files.writeString(dir.resolve("chat_template.jinja"), "{{ bos_token }}J\n");
        assertEquals("<B>J", ChatTemplate.find(dir).render(List.of(), true, Map.of()), "the file wins; one trailing break dropped");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": 7}");
        Files.delete(dir.resolve("chat_template.jinja"));
        UserException e = assertThrows(UserException.class, () -> ChatTemplate.find(dir));
        assertTrue(e.getMessage().contains("tokenizer_config.json (chat_template)"), e.getMessage());
    }

    /** A model folder's template is not trusted to end: loops, recursion and output are bounded. */
    @Test
    void aRunawayTemplateEndsQuickly() {
        for (String t : List.of("{% for i in range(100000000) %}x{% endfor %}",
                "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
                "{% set s = 'x' %}{% for i in range(40) %}{% set s = s + s %}{% endfor %}{{ s|length }}")) {
            long t0 = System.nanoTime();
            try {
                String out = render(t, "x");
                assertTrue(out.length() <= 4 << 20, t);
            } catch (UserException e) {
                assertFalse(e.getMessage().contains("\n"), e.getMessage());
            }
            assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "took over 10 s: " + t);
        }
    }
}
