package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.train.Checkpoint;
import io.softprompt.train.RunDir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --init-from: prompt transfer within one model; the length adapted by truncation or tiling; refused across models. */
class TransferTest {
    @TempDir
    Path tmp;

    @Test
    void aTransferStartsExactlyFromTheSourceTruncatedOrTiled() throws Exception {
        Path task = Fixtures.moodTask(tmp, 3);
        String gpt2 = Fixtures.of("gpt2").toString();
        Path source = tmp.resolve("source.sp");
        assertEquals(0, Cli.run("train", "--task", task.toString(), "--model", gpt2, "--tokens", "3", "--steps", "5",
                "--batch-size", "2", "--depth", "input", "-o", source.toString()).code());
        Prompt src = PromptFile.read(source);
        int d = src.hidden();
        for (int n : new int[] {2, 3, 7}) {
            Path out = tmp.resolve("from-" + n + ".sp");
            Cli.Run r = Cli.run("train", "--task", task.toString(), "--model", gpt2, "--tokens", "" + n, "--steps", "0",
                    "--init-from", source.toString(), "-o", out.toString());
            assertEquals(0, r.code(), r.err());
            Prompt p = PromptFile.read(out);
            for (int i = 0; i < n; i++) {
                assertArrayEquals(Arrays.copyOfRange(src.values(), (i % 3) * d, (i % 3 + 1) * d),
                        Arrays.copyOfRange(p.values(), i * d, (i + 1) * d), "row " + i + " of " + n);
            }
            assertEquals("transfer", p.meta(PromptFile.INIT));
            assertTrue(p.meta(PromptFile.TRAIN_CONFIG).contains("\"init_from\":\"" + source.toAbsolutePath()), p.meta(
                    PromptFile.TRAIN_CONFIG));
        }
        // trained on from there, it still learns (and is not the source any more)
        Path trained = tmp.resolve("trained.sp");
        assertEquals(0, Cli.run("train", "--task", task.toString(), "--model", gpt2, "--tokens", "3", "--steps", "5",
                "--batch-size", "2", "--init-from", source.toString(), "-o", trained.toString()).code());
        // (the last checkpoint's prompt: the output is the best by dev accuracy, which may be the initial one)
        assertTrue(!Arrays.equals(src.values(), Checkpoint.read(tmp.resolve("trained.run").resolve(RunDir.CHECKPOINT)).prompt()));

        // a recipe's own init gives way to --init-from on the command line (as scripts/transfer.sh does)
        Path recipe = Files.writeString(tmp.resolve("recipe.json"), "{\"init\": \"random\", \"tokens\": 3}");
        Path viaRecipe = tmp.resolve("via-recipe.sp");
        Cli.Run r = Cli.run("train", "--config", recipe.toString(), "--task", task.toString(), "--model", gpt2, "--steps", "0",
                "--init-from", source.toString(), "-o", viaRecipe.toString());
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(src.values(), PromptFile.read(viaRecipe).values());
    }

    @Test
    void aTransferAcrossModelsIsRefused() throws Exception {
        Path task = Fixtures.moodTask(tmp, 3);
        Path llamaPrompt = tmp.resolve("llama.sp");
        assertEquals(0, Cli.run("train", "--task", task.toString(), "--model", Fixtures.of("llama").toString(), "--tokens",
                "2", "--steps", "0", "--depth", "input", "-o", llamaPrompt.toString()).code());
        Cli.Run r = Cli.run("train", "--task", task.toString(), "--model", Fixtures.of("gpt2").toString(), "--tokens", "2",
                "--init-from", llamaPrompt.toString(), "-o", tmp.resolve("x.sp").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.errLine().contains("a prompt transfers only within one model") || r.errLine().contains("hidden size"),
                r.err());
        Cli.Run both = Cli.run("train", "--task", task.toString(), "--model", Fixtures.of("gpt2").toString(), "--init", "random",
                "--init-from", llamaPrompt.toString(), "-o", tmp.resolve("y.sp").toString());
        assertEquals(2, both.code());
        assertTrue(both.errLine().contains("--init-from replaces --init"), both.err());
    }
}
