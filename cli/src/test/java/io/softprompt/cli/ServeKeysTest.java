package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.serve.ServeSettings;
import io.softprompt.serve.ServeSettingsBuilder;
import io.softprompt.util.Json;
import io.softprompt.util.Key;
import io.softprompt.util.Keys;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine;

/**
 * Each serve key is declared once (a ServeSettings component with its @Key) and appears everywhere
 * from that declaration: a JSON key, a method of the generated builder, a serve flag with its label,
 * help and default (unless another flag sets it), and docs/CONFIG.md's serve table.
 */
class ServeKeysTest {
    static CommandSpec serve() {
        return Main.commandLine().getSubcommands().get("serve").getCommandSpec();
    }

    @Test
    void everyDeclaredKeyIsAJsonKeyABuilderMethodAndAFlagInTheHelp() {
        JsonNode json = Json.MAPPER.valueToTree(ServeSettings.DEFAULTS);
        CommandSpec spec = serve();
        String help = Main.commandLine().getSubcommands().get("serve").getUsageMessage();
        List<String> missing = new ArrayList<>();
        for (RecordComponent c : Keys.declarations(ServeSettings.class)) {
            String key = Keys.key(c);
            Key k = c.getAnnotation(Key.class);
            if (!json.has(key)) {
                missing.add(key + ": not a JSON key");
            }
            try {
                Method m = ServeSettingsBuilder.class.getMethod(c.getName(), c.getType());
                assertEquals(ServeSettingsBuilder.class, m.getReturnType());
            } catch (NoSuchMethodException e) {
                missing.add(key + ": no builder method " + c.getName());
            }
            String flag = Flags.flag(key);
            if (k.flag()) {
                if (spec.findOption(flag) == null || !help.contains(flag)) {
                    missing.add(key + ": no flag " + flag + " in serve --help");
                } else {
                    String shown = String.join(" ", spec.findOption(flag).description());
                    assertTrue(shown.startsWith(Flags.render(k.help()).split("\\$\\{")[0]), flag + ": " + shown);
                }
            }
        }
        assertTrue(missing.isEmpty(), String.join("\n", missing));
        assertTrue(help.contains("--token-file") && help.contains("--no-prefix-cache"), "the two keys set by hand");
        assertTrue(help.contains("--max-batch=B") && help.contains("(default: 32)"), help);
    }

    @Test
    void theDefaultsAreTheDeclarationsAndAFlagReachesItsKey() {
        ServeSettings d = ServeSettings.DEFAULTS;
        assertEquals(8080, d.port());
        assertEquals(5, d.windowMillis());
        assertEquals(1 << 20, d.maxBodyBytes());
        assertTrue(d.prefixCache());
        assertEquals(null, d.token());
        assertEquals(d, ServeSettings.builder().build());
        CommandLine cl = Main.commandLine();
        CommandLine.ParseResult p = cl.parseArgs("serve", "--prompts", "p", "--max-batch", "4", "--batch-window-ms", "9",
                "--queue", "7");
        ServeSettings s = ServeFlags.settings(p.subcommand(), false, "a-token-of-16-chars");
        assertEquals(4, s.maxBatch());
        assertEquals(9, s.windowMillis());
        assertEquals(7, s.queueCapacity());
        assertEquals(false, s.prefixCache());
        assertEquals("a-token-of-16-chars", s.token());
        assertEquals(d.maxItems(), s.maxItems(), "a key not given keeps its default");
        CommandLine.ParseResult bad = Main.commandLine().parseArgs("serve", "--prompts", "p", "--max-batch", "0");
        UserException e = assertThrows(UserException.class, () -> ServeFlags.settings(bad.subcommand(), true, null));
        assertEquals("--max-batch must be at least 1 (got 0)", e.message(Flags::flag));
    }

    /** docs/CONFIG.md's table of serve keys, as the declarations give it. */
    static String table() {
        StringBuilder sb = new StringBuilder("| key | flag | type | default | meaning |\n|---|---|---|---|---|\n");
        JsonNode json = Json.MAPPER.valueToTree(ServeSettings.DEFAULTS);
        for (RecordComponent c : Keys.declarations(ServeSettings.class)) {
            Key k = c.getAnnotation(Key.class);
            String key = Keys.key(c);
            String type = c.getType().getSimpleName().toLowerCase(Locale.ROOT);
            JsonNode v = json.get(key);
            String help = Flags.render(k.help()).replace("${DEFAULT-VALUE}", v.isNull() ? "none" : v.asText()).replace("|", "\\|");
            String flag = k.flag() ? Flags.flag(key) : key.equals("prefix_cache") ? "--no-prefix-cache" : Flags.flag(key);
            sb.append("| `").append(key).append("` | `").append(flag).append("` | ").append(type).append(" | ")
                    .append(v.isNull() ? "—" : "`" + v.asText() + "`").append(" | ").append(help).append(" |\n");
        }
        return sb.toString();
    }

    @Test
    void theDocumentsTableIsTheDeclarations() throws IOException {
        Path doc = Path.of(System.getProperty("softprompt.root", "..")).resolve("docs/CONFIG.md");
        String text = Files.readString(doc);
        String begin = "<!-- serve keys: generated from ServeSettings' declarations; ServeKeysTest checks it -->\n";
        int at = text.indexOf(begin);
        String expected = table();
        if (at < 0 || !text.substring(at + begin.length()).startsWith(expected)) {
            Path fresh = Path.of("target", "CONFIG-serve-table.md");
            Files.writeString(fresh, expected);
            throw new AssertionError(doc + "'s serve table differs from the declarations (or its marker is missing); the "
                    + "table as they give it is in " + fresh.toAbsolutePath() + ":\n" + expected);
        }
    }
}
