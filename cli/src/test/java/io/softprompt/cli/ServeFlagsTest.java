package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.serve.ServeSettings;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** serve's flags are the library's settings: the defaults shown are ServeSettings.DEFAULTS, the rules its. */
class ServeFlagsTest {
    @TempDir
    Path tmp;

    @Test
    void theHelpShowsTheLibrarysDefaults() {
        Cli.Run help = Cli.run("serve", "--help");
        assertEquals(0, help.code());
        String text = help.out().replaceAll("\\s+", " ");
        assertTrue(text.contains("Rows per forward pass (default: " + ServeSettings.DEFAULTS.maxBatch() + ")"), help.out());
        assertTrue(text.contains("(default: " + ServeSettings.DEFAULTS.host() + ";"), help.out());
        assertTrue(text.contains("(default: " + ServeSettings.DEFAULTS.timeoutMillis() + ")"), help.out());
    }

    @Test
    void theLibrarysRulesSpeakInFlags() {
        Cli.Run r = Cli.run("serve", "--prompts", tmp.toString(), "--max-batch", "0");
        assertEquals(2, r.code(), r.err());
        assertEquals("softprompt: error: --max-batch must be at least 1 (got 0)", r.errLine());
        Cli.Run w = Cli.run("serve", "--prompts", tmp.toString(), "--batch-window-ms", "-1");
        assertEquals("softprompt: error: --batch-window-ms must not be negative (got -1)", w.errLine());
    }
}
