package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Issue 35: help text wraps at spaces only; a path, URL or flag is never cut across lines. */
class HelpWrapTest {
    static final List<String> COMMANDS = List.of("train", "eval", "infer", "inspect", "export", "import", "embed", "encode",
            "serve", "sweep", "report", "completion");

    @Test
    void noCommandsHelpCutsAToken() {
        for (String c : COMMANDS) {
            Cli.Run r = Cli.run(c, "--help");
            assertEquals(0, r.code(), c + ": " + r.err());
            String help = r.out();
            for (String line : help.split("\n")) {
                assertTrue(line.length() <= 80 || !line.strip().contains(" "), c + ": a line over 80 columns: " + line);
            }
            // every token of the unwrapped help is whole in the wrapped one: none was cut across lines
            picocli.CommandLine root = new picocli.CommandLine(new Main()).addSubcommand(c, new picocli.CommandLine(Main.command(c)));
            String wide = root.getSubcommands().get(c).setUsageHelpWidth(10_000).getUsageMessage();
            List<String> want = tokens(wide);
            List<String> got = tokens(help);
            for (int i = 0; i < Math.min(want.size(), got.size()); i++) {
                assertEquals(want.get(i), got.get(i), c + ": a token was cut across lines");
            }
            assertEquals(want.size(), got.size(), c + ": tokens");
            if (help.contains("huggingface/hub")) {
                assertTrue(help.contains("~/.cache/huggingface/hub"), c + ": the cache path is cut");
            }
        }
        String train = Cli.run("train", "--help").out();
        assertTrue(train.contains("[--init-from=FILE.sp|ADAPTER]"), "a synopsis item is cut");
        assertTrue(train.contains("(default: the output's name with\n                            .run)")
                || train.contains("name with .run)"), "the description column is kept");
    }

    static List<String> tokens(String text) {
        return java.util.Arrays.stream(text.split("\\s+")).filter(t -> !t.isEmpty()).toList();
    }

    @Test
    void aLineIsWrappedAtSpacesUnderItsColumn() {
        String option = "      --model=DIR   Hugging Face model folder ($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub, shared)";
        String wrapped = HelpWrap.rewrap(option, 60, false, true);
        assertEquals("      --model=DIR   Hugging Face model folder\n"
                + "                    ($HF_HUB_CACHE, $HF_HOME/hub or\n"
                + "                    ~/.cache/huggingface/hub, shared)", wrapped);
        String url = "  see https://example.org/a/very/long/path/that/does/not/fit/in/the/room/at/all/ever";
        assertEquals("  see\n  https://example.org/a/very/long/path/that/does/not/fit/in/the/room/at/all/ever",
                HelpWrap.rewrap(url, 40, false, false), "a token longer than the room stays whole on its own line");
    }
}
