package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.scoring.Decoding;
import io.softprompt.serve.ServeSettings;
import io.softprompt.util.Json;
import io.softprompt.util.Key;
import io.softprompt.util.Keys;
import io.softprompt.util.UserException;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine;

/**
 * Each decoding key is declared once (a Decoding component with its @Key) and appears everywhere from
 * that declaration: a JSON key (a serve item's field), an infer flag with its label, help and default;
 * max_new_tokens has one default for infer, serve and Spark.
 */
class DecodingKeysTest {
    @Test
    void everyDeclaredKeyIsAJsonKeyAndAnInferFlagInTheHelp() {
        JsonNode json = Json.MAPPER.valueToTree(Decoding.DEFAULTS);
        CommandSpec spec = Main.commandLine().getSubcommands().get("infer").getCommandSpec();
        String help = Main.commandLine().getSubcommands().get("infer").getUsageMessage();
        List<String> missing = new ArrayList<>();
        for (RecordComponent c : Keys.declarations(Decoding.class)) {
            String key = Keys.key(c);
            Key k = c.getAnnotation(Key.class);
            String flag = Flags.flag(key);
            if (!json.has(key)) {
                missing.add(key + ": not a JSON key");
            }
            if (spec.findOption(flag) == null || !help.contains(flag)) {
                missing.add(key + ": no flag " + flag + " in infer --help");
            } else {
                String shown = String.join(" ", spec.findOption(flag).description());
                assertTrue(shown.startsWith(Flags.render(k.help()).split("\\$\\{")[0]), flag + ": " + shown);
            }
        }
        assertTrue(missing.isEmpty(), String.join("\n", missing));
        assertEquals(List.of("max_new_tokens", "do_sample", "temperature", "top_k", "top_p", "seed", "stop"),
                List.copyOf(Keys.keys(Decoding.class)), "transformers' names, as serve items take them");
        assertEquals("32", spec.findOption("--max-new-tokens").defaultValueString(), "the declared default, in the help");
        assertEquals("50", spec.findOption("--top-k").defaultValueString());
    }

    @Test
    void maxNewTokensHasOneDefaultAndFlagsReachTheirKeys() {
        assertEquals(Integer.parseInt(Decoding.MAX_NEW_TOKENS), Decoding.DEFAULTS.maxNewTokens());
        assertEquals(Decoding.DEFAULTS.maxNewTokens(), ServeSettings.DEFAULTS.maxNewTokens(), "serve's cap and item default");
        Decoding d = DecodingFlags.decoding(Main.commandLine().parseArgs("infer", "--prompt", "p.sp", "x").subcommand());
        assertEquals(Decoding.DEFAULTS, d, "no flag: the declared defaults, greedy");
        Decoding s = DecodingFlags.decoding(Main.commandLine().parseArgs("infer", "--prompt", "p.sp", "--do-sample",
                "--top-k", "5", "--seed", "9", "--stop", "a", "--stop", "b", "--max-new-tokens", "3", "x").subcommand());
        assertEquals(new Decoding(3, true, 1.0, 5, 1.0, 9, List.of("a", "b")), s);
        CommandLine.ParseResult noSample = Main.commandLine().parseArgs("infer", "--prompt", "p.sp", "--temperature", "0.5", "x");
        UserException e = assertThrows(UserException.class, () -> DecodingFlags.decoding(noSample.subcommand()));
        assertTrue(e.getMessage().endsWith("add --do-sample"), e.getMessage());
        CommandLine.ParseResult bad = Main.commandLine().parseArgs("infer", "--prompt", "p.sp", "--do-sample", "--top-p", "0", "x");
        UserException b = assertThrows(UserException.class, () -> DecodingFlags.decoding(bad.subcommand()));
        assertEquals("--top-p must be in (0, 1] (got 0.0)", b.message(Flags::flag));
    }

    /** A decoding flag on a classifying prompt without --generate was ignored; it is refused in one line now (issue 35). */
    @Test
    void decodingFlagsOnAClassifyingPromptWithoutGenerateAreRefused(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        java.nio.file.Files.writeString(tmp.resolve("mood.json"), """
                {"name": "mood", "template": "{text} it was", "text_column": "text", "label_column": "y",
                 "verbalizer": {"neg": " bad", "pos": " good"}, "train": "mood.tsv"}
                """);
        java.nio.file.Files.writeString(tmp.resolve("mood.tsv"), "text\ty\na dull plot\tneg\n");
        java.nio.file.Path model = io.softprompt.Fixtures.of("gpt2");
        java.nio.file.Path sp = io.softprompt.TestPrompts.initial(model, tmp.resolve("mood.json"), 2, "random", tmp.resolve("mood.sp"));
        for (String[] flag : new String[][] {{"--max-new-tokens", "3"}, {"--do-sample"}, {"--stop", "x"}}) {
            List<String> args = new ArrayList<>(List.of("infer", "--prompt", sp.toString(), "--model", model.toString()));
            args.addAll(List.of(flag));
            args.add("a fine film");
            Cli.Run r = Cli.run(args.toArray(String[]::new));
            assertEquals(2, r.code(), String.join(" ", flag) + ": " + r.err());
            assertTrue(r.errLine().endsWith("task mood classifies: add --generate to continue the inputs instead"), r.err());
        }
        assertEquals(0, Cli.run("infer", "--prompt", sp.toString(), "--model", model.toString(), "a fine film").code());
    }
}
