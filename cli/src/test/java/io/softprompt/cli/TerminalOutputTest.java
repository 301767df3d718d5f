package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.eval.Metrics;
import io.softprompt.train.Trainer;
import io.softprompt.util.Json;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a person sees: progress that fits the terminal, plain logs, JSON on every command, suggestions. */
class TerminalOutputTest {
    @TempDir
    Path tmp;

    @Test
    void progressOnAnEightyColumnTerminalNeverPassesTheWidth() {
        for (int width : new int[] {80, 40, 200}) {
            StringWriter sw = new StringWriter();
            Progress p = new Progress(new PrintWriter(sw, true), true, width);
            for (int step = 1; step <= 12_345; step += 617) {
                p.onStep(new Trainer.Step(step, 12_345, 123.456789, 3e-2, 1.5, 123_456.7));
                if (step % 3 == 0) {
                    p.onEvalStart(step, 67_349);
                    p.onEval(step, new Metrics(67_349, 0.512345, 0.498765, new long[2][2]), true);
                }
            }
            p.finish();
            String out = sw.toString();
            assertTrue(out.contains("\r"), "redrawn in place on a terminal");
            assertTrue(out.contains("eval at step"), "each evaluation's result is shown on a terminal: " + out);
            assertTrue(out.contains("evaluating 67349 dev examples"), "evaluation progress: " + out);
            for (String piece : out.split("[\r\n]")) {
                assertTrue(piece.length() < width, width + " columns: a piece of " + piece.length() + ": '" + piece + "'");
            }
        }
    }

    @Test
    void theShownLossIsTheMeanOfTheLastTwentySteps() {
        StringWriter sw = new StringWriter();
        Progress p = new Progress(new PrintWriter(sw, true), false, 80);
        assertEquals(1.0, p.windowMean(1.0));
        assertEquals(0.75, p.windowMean(0.5), 1e-12);
        for (int i = 0; i < 30; i++) {
            p.windowMean(i % 2 == 0 ? 0.9 : 0.5); // a loss that swings between batches
        }
        assertEquals(0.7, p.windowMean(0.9), 1e-12, "the last 20: ten of 0.9, ten of 0.5");
        p.onStep(new Trainer.Step(1, 10, 0.5, 0.03, 1.0, 10.0));
        assertTrue(sw.toString().contains("(mean of 20)"), "the line says what the loss is: " + sw);
    }

    @Test
    void offATerminalProgressIsPlainLinesWithoutCarriageReturns() {
        Cli.Run r = Cli.run("train", "--model", Fixtures.of("gpt2").toString(), "--task", "sst2", "--tokens", "2",
                "--steps", "6", "--eval-every", "3", "--batch-size", "2", "-o", tmp.resolve("p.sp").toString());
        assertEquals(0, r.code(), r.err());
        assertFalse(r.err().contains("\r"), r.err());
        assertTrue(r.err().contains("eval at step 3"), r.err());
    }

    @Test
    void everyJsonFlagPrintsJson() throws Exception {
        Path model = Fixtures.of("gpt2");
        Path task = Fixtures.moodTask(tmp, 3);
        Path sp = tmp.resolve("m.sp");
        List<String[]> commands = new ArrayList<>();
        commands.add(new String[] {"train", "--model", model.toString(), "--task", task.toString(), "--tokens", "2",
            "--steps", "3", "--batch-size", "2", "-o", sp.toString(), "--json"});
        commands.add(new String[] {"eval", "--prompt", sp.toString(), "--model", model.toString(), "--json"});
        commands.add(new String[] {"infer", "--prompt", sp.toString(), "--model", model.toString(), "--json", "a", "b"});
        commands.add(new String[] {"inspect", "--prompt", sp.toString(), "--model", model.toString(), "--json"});
        commands.add(new String[] {"export", "--prompt", sp.toString(), "--to", "npy", tmp.resolve("m.npy").toString(),
            "--json"});
        commands.add(new String[] {"export", "--prompt", sp.toString(), "--to", "peft", tmp.resolve("adapter").toString(),
            "--json"});
        commands.add(new String[] {"import", tmp.resolve("adapter").toString(), "--model", model.toString(), "-o",
            tmp.resolve("again.sp").toString(), "--json"});
        Path sweep = tmp.resolve("sweep.json");
        Files.writeString(sweep, "{\"base\": {\"task\": " + Json.write(task.toString()) + ", \"model\": "
                + Json.write(model.toString()) + ", \"steps\": 2, \"batch_size\": 2}, \"grid\": {\"tokens\": [2]}}");
        commands.add(new String[] {"sweep", "--config", sweep.toString(), "--out", tmp.resolve("runs").toString(), "--json"});
        commands.add(new String[] {"report", tmp.resolve("runs").toString(), "--out", tmp.resolve("report").toString(),
            "--json"});
        for (String[] c : commands) {
            Cli.Run r = Cli.run(c);
            assertEquals(0, r.code(), String.join(" ", c) + ": " + r.err());
            String[] lines = r.out().strip().split("\n");
            assertTrue(lines.length >= 1 && !lines[0].isBlank(), c[0] + " printed JSON: " + r.out());
            if (!c[0].equals("infer")) {
                assertEquals(1, lines.length, c[0] + " prints one JSON object: " + r.out());
            }
            for (String line : lines) {
                JsonNode j = Json.MAPPER.readTree(line);
                assertTrue(j.isObject(), c[0] + ": " + line);
            }
        }
    }

    @Test
    void misspeltFlagsAndCommandsGetSuggestions() {
        Cli.Run flag = Cli.run("train", "--stepz", "3");
        assertEquals(2, flag.code());
        assertTrue(flag.errLine().contains("did you mean --steps?"), flag.err());
        assertEquals(1, flag.errLine().lines().count(), flag.err());
        Cli.Run cmd = Cli.run("trian");
        assertEquals(2, cmd.code());
        assertTrue(cmd.errLine().contains("did you mean train?"), cmd.err());
    }

    @Test
    void bareCommandPrintsUsageAndExitsTwo() {
        Cli.Run r = Cli.run();
        assertEquals(2, r.code());
        assertTrue(r.err().contains("Usage: softprompt"), r.err());
        assertTrue(r.out().isEmpty(), r.out());
    }

    @Test
    void completionScriptCoversCommandsAndFlags() {
        Cli.Run r = Cli.run("completion");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("#!/usr/bin/env bash"), r.out().substring(0, 80));
        for (String word : List.of("train", "eval", "infer", "serve", "--steps", "--batch-size", "--prompt")) {
            assertTrue(r.out().contains(word), "completion knows " + word);
        }
    }
}
