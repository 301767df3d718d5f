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

    /**
     * What a terminal shows after writing {@code stream}: a carriage return goes back to the start of
     * the line (later text overwrites), a newline starts the next one. The screen's lines.
     */
    static List<String> screen(String stream) {
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        int col = 0;
        for (char c : stream.toCharArray()) {
            if (c == '\n') {
                lines.add(line.toString().stripTrailing());
                line.setLength(0);
                col = 0;
            } else if (c == '\r') {
                col = 0;
            } else {
                if (col < line.length()) {
                    line.setCharAt(col, c);
                } else {
                    line.append(c);
                }
                col++;
            }
        }
        if (line.length() > 0) {
            lines.add(line.toString().stripTrailing());
        }
        return lines;
    }

    /**
     * A scripted run on a terminal of {@code width} columns, with a fixed clock (1 s per step): the
     * long note softprompt prints first, 200 steps, evaluations at 100 and 200, the last lines. The
     * screen at the end, and the bar as it stood at step 150.
     */
    static String[] drive(int width) throws Exception {
        StringWriter sw = new StringWriter();
        PrintWriter err = new PrintWriter(new WrappingWriter(sw, width), true);
        err.println("note: no --model given, no models/gpt2, no gpt2 in the Hugging Face cache /root/.cache/huggingface/hub "
                + "and no hub: using the embedded sentiment-lm: a 4-layer GPT-2 trained here on SST-2 to hold a sentiment "
                + "skill behind a cue, not a pretrained language model");
        long[] now = {0};
        Progress p = new Progress(err, true, width, () -> now[0]);
        String at150 = null;
        for (int step = 1; step <= 200; step++) {
            now[0] = step * 1_000_000_000L;
            p.onStep(new Trainer.Step(step, 200, 0.70 - step * 0.0004, 3e-2 * (1 - step / 200.0), 10.0, 16.0));
            if (step % 100 == 0) {
                p.onEvalStart(step, 872);
                p.onEval(step, new Metrics(872, 0.5 + step * 0.0002, 0.49 + step * 0.0002, new long[2][2]), true);
            }
            if (step == 150) {
                err.flush();
                List<String> s = screen(sw.toString());
                at150 = s.get(s.size() - 1);
            }
        }
        p.finish();
        err.println("wrote sst2.sp (best dev accuracy 0.5400 at step 200) -- sentiment-lm: a 4-layer GPT-2 trained here on "
                + "SST-2 to hold a sentiment skill behind a cue, not a pretrained language model");
        err.flush();
        return new String[] {String.join("\n", screen(sw.toString())), at150};
    }

    /**
     * Screens at 50, 80 and 120 columns: nothing reaches the last column, the bar is there at every
     * width, evaluation results are whole (wrapped at word boundaries, never cut), notes wrap at word
     * boundaries. docs/SCREENS.md holds these screens; -Dsoftprompt.writeScreens=true rewrites it.
     */
    @Test
    void screensAtFiftyEightyAndOneHundredTwentyColumns() throws Exception {
        StringBuilder doc = new StringBuilder("# What a terminal shows\n\nDrawn by `TerminalOutputTest` (a scripted 200-step run, "
                + "one second per step) through the same `Progress` and line wrapping `softprompt train` uses on a "
                + "terminal; the test fails when the code draws anything else.\n");
        for (int width : new int[] {50, 80, 120}) {
            String[] drawn = drive(width);
            String screen = drawn[0];
            for (String line : screen.split("\n")) {
                assertTrue(line.length() < width, width + " columns: a line of " + line.length() + ": '" + line + "'");
            }
            assertTrue(drawn[1].matches("\\[#+\\.+\\] .*"), width + " columns: the bar is there at step 150: " + drawn[1]);
            String oneLine = screen.replace("\n  ", " ");
            assertTrue(oneLine.contains("eval at step 200: dev accuracy 0.5400, macro-F1 0.5300 (best so far)"),
                    width + " columns: the evaluation is whole: " + screen);
            assertTrue(oneLine.contains("not a pretrained language model"), screen);
            for (String word : List.of("sentiment-lm:", "Hugging", "0.5400,")) {
                assertTrue(screen.contains(word), width + " columns: '" + word + "' is never cut: " + screen);
            }
            doc.append("\n## ").append(width).append(" columns\n\nThe bar at step 150:\n\n```\n").append(drawn[1])
                    .append("\n```\n\nThe screen at the end:\n\n```\n").append(screen).append("\n```\n");
            System.out.println(width + " columns:\n" + drawn[1] + "\n" + screen + "\n");
        }
        Path file = Path.of(System.getProperty("softprompt.root", ".."), "docs", "SCREENS.md");
        if (Boolean.getBoolean("softprompt.writeScreens")) {
            Files.writeString(file, doc);
        }
        assertEquals(doc.toString(), Files.readString(file), "docs/SCREENS.md shows what the code draws; rerun with "
                + "-Dsoftprompt.writeScreens=true after changing it");
    }

    @Test
    void wrappingBreaksAtSpacesAndCutsOnlyWordsLongerThanALine() {
        assertEquals("short", Terminal.wrap("short", 80));
        String w = Terminal.wrap("aaaa bbbb cccc dddd eeee ffff", 15);
        assertEquals("aaaa bbbb cccc\n  dddd eeee\n  ffff", w);
        String cut = Terminal.wrap("see /a/very/long/path/that/does/not/fit/anywhere now", 20);
        for (String line : cut.split("\n")) {
            assertTrue(line.length() < 20, line);
        }
        assertEquals("see/a/very/long/path/that/does/not/fit/anywherenow", cut.replaceAll("\\s", ""), "nothing lost: " + cut);
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
            "--steps", "3", "--batch-size", "2", "--depth", "input", "-o", sp.toString(), "--json"});
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

    @Test
    void aNamedCommandIsBuiltAloneAndHelpStillListsEveryCommand() {
        assertEquals(List.of("infer"), List.copyOf(Main.commandLine("infer", "--prompt", "p.sp", "x").getSubcommands().keySet()));
        assertTrue(Main.commandLine("--version").getSubcommands().isEmpty());
        List<String> all = List.of("train", "eval", "infer", "inspect", "export", "import", "embed", "encode", "serve", "sweep", "report",
                "completion", "help");
        assertEquals(all, List.copyOf(Main.commandLine("--help").getSubcommands().keySet()));
        assertEquals(all, List.copyOf(Main.commandLine("help", "train").getSubcommands().keySet()));
        Cli.Run help = Cli.run("--help");
        assertEquals(0, help.code(), help.err());
        for (String c : all) {
            assertTrue(help.out().contains("  " + c + " "), "help lists " + c + ":\n" + help.out());
        }
        Cli.Run version = Cli.run("--version");
        assertEquals(0, version.code(), version.err());
        assertTrue(version.out().startsWith("softprompt "), version.out());
    }

    /**
     * Issue 35: the first ETA was hours for a run of minutes: it divided the time since the start (the
     * step-0 evaluation, the first step's warm-up) by one step. It is measured from the first step on.
     */
    @Test
    void theEtaIgnoresTheStartsSlowFirstStep() {
        Progress p = new Progress(new PrintWriter(new StringWriter(), true), false, 200, () -> 0L);
        // the baseline evaluation and a slow first step took 100 s; then 1 s a step
        assertTrue(Double.isNaN(p.eta(1, 200, 100_000_000_000L)), "no estimate from one step");
        assertEquals(198.0, p.eta(2, 200, 101_000_000_000L), 1e-9, "198 steps at 1 s (it said 5 h 30 min)");
        assertEquals("3:18", io.softprompt.util.Durations.clock(p.eta(2, 200, 101_000_000_000L)));
    }
}
