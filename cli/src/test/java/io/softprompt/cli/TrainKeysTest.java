package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.train.TrainConfig;
import io.softprompt.train.TrainConfigBuilder;
import io.softprompt.util.Json;
import io.softprompt.util.Key;
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
 * Each training key is declared once (a TrainConfig component with its @Key) and appears everywhere
 * from that declaration: a JSON key of the stored config, a method of the generated builder, a
 * train flag with its label and help, in train --help (unless hidden), and in docs/CONFIG.md's table.
 */
class TrainKeysTest {
    static CommandSpec train() {
        return Main.commandLine().getSubcommands().get("train").getCommandSpec();
    }

    @Test
    void everyDeclaredKeyIsAJsonKeyABuilderMethodAFlagAndInTheHelp() {
        JsonNode json = Json.MAPPER.valueToTree(TrainConfig.defaults());
        CommandSpec spec = train();
        String help = Main.commandLine().getSubcommands().get("train").getUsageMessage();
        List<String> missing = new ArrayList<>();
        for (RecordComponent c : TrainConfig.declarations()) {
            String key = TrainConfig.key(c);
            Key k = c.getAnnotation(Key.class);
            if (!json.has(key)) {
                missing.add(key + ": not a JSON key");
            }
            try {
                Method m = TrainConfigBuilder.class.getMethod(c.getName(), c.getType());
                assertEquals(TrainConfigBuilder.class, m.getReturnType());
            } catch (NoSuchMethodException e) {
                missing.add(key + ": no builder method " + c.getName());
            }
            String flag = Flags.flag(key);
            if (spec.findOption(flag) == null) {
                missing.add(key + ": no flag " + flag);
            } else if (k.flag() && !k.hidden()) {
                if (!help.contains(flag)) {
                    missing.add(key + ": " + flag + " not in train --help");
                }
                String shown = String.join(" ", spec.findOption(flag).description());
                assertTrue(shown.startsWith(Flags.render(k.help()).replace("%%", "%").split("\\$\\{")[0]), flag + ": " + shown);
            }
        }
        assertTrue(missing.isEmpty(), String.join("\n", missing));
        assertEquals(TrainConfig.keys().size(), TrainConfig.declarations().size());
        assertFalse(help.contains("--pad-to"), "hidden keys stay out of the help");
    }

    @Test
    void theBuilderStartsFromTheDeclaredDefaultsAndAFlagReachesItsKey() throws Exception {
        TrainConfig d = TrainConfig.defaults();
        assertEquals(20, d.tokens());
        assertEquals(1e-5, d.weightDecay());
        assertEquals("adamw", d.optimizer());
        assertEquals(null, d.steps());
        assertEquals(d, TrainConfig.builder().build());
        assertEquals(7, TrainConfig.builder().tokens(7).build().tokens());
        CommandLine cl = Main.commandLine();
        CommandLine.ParseResult p = cl.parseArgs("train", "--grad-accum", "3", "--group-by-length", "-o", "x.sp");
        JsonNode given = TrainFlags.given(p.subcommand());
        assertEquals(3, given.get("grad_accum").asInt());
        assertTrue(given.get("group_by_length").asBoolean());
        assertEquals("x.sp", given.get("output").asText());
        assertEquals(3, given.size(), given.toString());
        // issue 35: Hugging Face's flag names reach their keys
        JsonNode hf = TrainFlags.given(cl.parseArgs("train", "--learning-rate", "0.2", "--max-steps", "4",
                "--per-device-train-batch-size", "2").subcommand());
        assertEquals("{\"lr\":0.2,\"steps\":4,\"batch_size\":2}", hf.toString());
    }

    /** docs/CONFIG.md's table of keys, as the declarations give it. */
    static String table() {
        StringBuilder sb = new StringBuilder("| key | flag | type | default | meaning |\n|---|---|---|---|---|\n");
        JsonNode json = Json.MAPPER.valueToTree(TrainConfig.defaults());
        for (RecordComponent c : TrainConfig.declarations()) {
            Key k = c.getAnnotation(Key.class);
            if (k.hidden()) {
                continue;
            }
            String key = TrainConfig.key(c);
            String type = c.getType().getSimpleName().toLowerCase(Locale.ROOT).replace("integer", "int");
            JsonNode v = json.get(key);
            String help = Flags.render(k.help()).replace("${DEFAULT-VALUE}", v.isNull() ? "none" : v.asText()).replace("%%", "%")
                    .replace("|", "\\|");
            sb.append("| `").append(key).append("` | `").append(k.flag() ? Flags.flag(key) : "--model").append("` | ")
                    .append(type).append(" | ").append(v.isNull() ? "—" : "`" + v.asText() + "`").append(" | ").append(help)
                    .append(" |\n");
        }
        return sb.toString();
    }

    @Test
    void theDocumentsTableIsTheDeclarations() throws IOException {
        Path doc = Path.of(System.getProperty("softprompt.root", "..")).resolve("docs/CONFIG.md");
        String text = Files.readString(doc);
        String begin = "<!-- keys: generated from TrainConfig's declarations; TrainKeysTest checks it -->\n";
        int at = text.indexOf(begin);
        assertTrue(at >= 0, doc + " has the generated table's marker");
        String current = text.substring(at + begin.length());
        current = current.substring(0, current.indexOf("\n\n") + 1);
        String expected = table();
        if (!current.equals(expected)) {
            Path fresh = Path.of("target", "CONFIG-table.md");
            Files.writeString(fresh, expected);
            throw new AssertionError(doc + "'s table differs from the declarations; the table as they give it is in "
                    + fresh.toAbsolutePath() + ":\n" + expected);
        }
    }
}
