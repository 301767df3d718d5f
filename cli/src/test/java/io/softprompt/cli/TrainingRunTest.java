package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.prompt.PromptFile;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.train.Checkpoint;
import io.softprompt.train.RunDir;
import io.softprompt.util.Json;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Run folders, checkpoints and resume, the NaN guard, config files, early stopping, the metrics log. */
class TrainingRunTest {
    @TempDir
    static Path tmp;
    static Path task;
    static Path model;

    @BeforeAll
    static void data() throws Exception {
        task = tmp.resolve("mood.json");
        Files.writeString(task, """
                {"name": "mood", "template": "{text} it was", "text_column": "text", "label_column": "y",
                 "verbalizer": {"neg": " bad", "pos": " good"}, "train": "mood.tsv", "dev": "mood-dev.tsv"}
                """);
        StringBuilder rows = new StringBuilder("text\ty\n");
        String[] pos = {"the movie was great and fine", "a fine and great film", "great acting", "fine work"};
        String[] neg = {"a dull boring plot", "boring and dull", "the plot was dull", "a boring film"};
        for (int k = 0; k < 5; k++) {
            for (int i = 0; i < 4; i++) {
                rows.append(pos[i]).append("\tpos\n").append(neg[i]).append("\tneg\n");
            }
        }
        Files.writeString(tmp.resolve("mood.tsv"), rows);
        Files.writeString(tmp.resolve("mood-dev.tsv"), "text\ty\ngreat and fine\tpos\ndull and boring\tneg\n");
        model = Fixtures.of("gpt2");
    }

    /** train with this class's defaults; a flag in extra replaces the default (flags with a value, or bare). */
    static String[] train(String out, String... extra) {
        LinkedHashMap<String, String> flags = new LinkedHashMap<>();
        String[] defaults = {"--task", task.toString(), "--model", model.toString(), "--tokens", "4", "--steps", "40",
            "--batch-size", "4", "--lr", "0.05", "--eval-every", "10", "--checkpoint-every", "5", "--log-every", "5",
            "-o", tmp.resolve(out).toString()};
        for (int i = 0; i < defaults.length; i += 2) {
            flags.put(defaults[i], defaults[i + 1]);
        }
        for (int i = 0; i < extra.length; i++) {
            boolean valued = i + 1 < extra.length && !extra[i + 1].startsWith("--");
            flags.put(extra[i], valued ? extra[++i] : null);
        }
        List<String> a = new ArrayList<>(List.of("train"));
        flags.forEach((k, v) -> {
            a.add(k);
            if (v != null) {
                a.add(v);
            }
        });
        return a.toArray(String[]::new);
    }

    static byte[] promptBytes(Path sp) {
        ByteBuffer b = SafetensorsFile.open(sp).rawBytes(PromptFile.TENSOR);
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    /**
     * Runs {@code args} (a slowed-down train) in a child JVM, SIGKILLs it once its checkpoint has reached step
     * 15, and returns the checkpoint's step (between 15 and the run's 40).
     */
    static int killedMidRun(Path run, Path log, String[] args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-cp", System.getProperty("java.class.path"), "-Dai.djl.offline=true", "-Dsoftprompt.offline=true",
                "-Xmx512m", Main.class.getName()));
        cmd.addAll(Arrays.asList(args));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        int seen = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (seen < 15 && System.nanoTime() < deadline && child.isAlive()) {
            Thread.sleep(50);
            if (Files.isRegularFile(run.resolve(RunDir.CHECKPOINT))) {
                seen = Checkpoint.read(run.resolve(RunDir.CHECKPOINT)).state().step();
            }
        }
        assertTrue(child.isAlive(), "the child is still training when killed: " + Files.readString(log));
        child.destroyForcibly(); // SIGKILL on POSIX
        assertEquals(137, child.waitFor(), "killed by SIGKILL");
        int at = Checkpoint.read(run.resolve(RunDir.CHECKPOINT)).state().step();
        assertTrue(at >= 15 && at < 40, "killed mid-run, after step " + at);
        return at;
    }

    @Test
    void killedWithSigkillThenResumedEndsWithTheSameBytes() throws Exception {
        for (String opt : List.of("adamw", "adafactor")) {
            Cli.Run whole = Cli.run(train("whole-" + opt + ".sp", "--optimizer", opt, "--schedule", "cosine",
                    "--clip-norm", "1.0"));
            assertEquals(0, whole.code(), whole.err());

            // the same run in a child JVM, slowed down, killed with SIGKILL once a checkpoint exists
            Path run = tmp.resolve("killed-" + opt + ".run");
            int at = killedMidRun(run, tmp.resolve("child-" + opt + ".log"), train("killed-" + opt + ".sp", "--optimizer", opt,
                    "--schedule", "cosine", "--clip-norm", "1.0", "--debug-step-delay-ms", "150"));
            assertFalse(Files.exists(tmp.resolve("killed-" + opt + ".sp")), "no output from a killed run");
            assertFalse(Files.exists(run.resolve(RunDir.FINAL)));

            // a new run in the same folder is refused: it would destroy the resumable one
            Cli.Run again = Cli.run(train("killed-" + opt + ".sp", "--optimizer", opt));
            assertEquals(2, again.code());
            assertTrue(again.errLine().contains("--resume"), again.err());

            Cli.Run resumed = Cli.run("train", "--resume", run.toString(), "--json");
            assertEquals(0, resumed.code(), resumed.err());
            assertTrue(resumed.err().contains("resuming " + run + " at step " + at), resumed.err());
            assertEquals(at, Json.MAPPER.readTree(resumed.out()).get("resumed_from_step").asInt());
            assertArrayEquals(promptBytes(tmp.resolve("whole-" + opt + ".sp")), promptBytes(tmp.resolve("killed-" + opt + ".sp")),
                    opt + ": an interrupted-then-resumed run ends with the uninterrupted run's prompt bytes");

            // the metrics log reads as one run: each logged step once, in order
            List<Integer> steps = new ArrayList<>();
            for (String line : Files.readAllLines(run.resolve(RunDir.METRICS))) {
                steps.add(Json.MAPPER.readTree(line).get("step").asInt());
            }
            List<Integer> expected = new ArrayList<>(List.of(0, 1)); // 0: the baseline evaluation
            for (int s = 5; s <= 40; s += 5) {
                expected.add(s);
            }
            assertEquals(expected, steps);
            assertTrue(Files.isRegularFile(run.resolve(RunDir.FINAL)));
            Cli.Run done = Cli.run("train", "--resume", run.toString());
            assertEquals(2, done.code());
            assertTrue(done.errLine().contains("already finished"), done.err());
        }
    }

    @Test
    void aNonFiniteLossStopsWithExitThreeAndKeepsTheLastGoodFiles() throws Exception {
        Path run = tmp.resolve("nan.run");
        Cli.Run r = Cli.run(train("nan.sp", "--debug-nan-at", "23"));
        assertEquals(3, r.code(), r.err());
        String line = r.errLine().lines().reduce((a, b) -> b).orElse("");
        assertTrue(line.startsWith("softprompt: error: non-finite loss (NaN) at step 23"), line);
        assertTrue(line.contains("checkpoint " + run.resolve(RunDir.CHECKPOINT) + " (step 20)"), line);
        assertTrue(line.contains("best prompt " + run.resolve(RunDir.BEST)), line);
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose");
        assertEquals(20, Checkpoint.read(run.resolve(RunDir.CHECKPOINT)).state().step());
        float[] best = PromptFile.read(run.resolve(RunDir.BEST)).values();
        for (float v : best) {
            assertTrue(Float.isFinite(v));
        }
        assertFalse(Files.exists(tmp.resolve("nan.sp")), "no output .sp from a diverged run");
        assertFalse(Files.exists(run.resolve(RunDir.FINAL)));
        // and the kept checkpoint resumes
        Cli.Run resumed = Cli.run("train", "--resume", run.toString());
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(Files.exists(tmp.resolve("nan.sp")));
    }

    @Test
    void configFileSetsFlagsAndTheCommandLineWins() throws Exception {
        Path cfg = tmp.resolve("cfg.json");
        Files.writeString(cfg, """
                {"optimizer": "adafactor", "tokens": 3, "steps": 12, "schedule": "linear", "clip_norm": 0.5,
                 "eval_every": 6, "seed": 7}
                """);
        Cli.Run r = Cli.run(train("cfg.sp", "--config", cfg.toString(), "--steps", "9"));
        assertEquals(0, r.code(), r.err());
        JsonNode eff = Json.MAPPER.readTree(PromptFile.read(tmp.resolve("cfg.sp")).meta(PromptFile.TRAIN_CONFIG));
        assertEquals("adafactor", eff.get("optimizer").asText());
        assertEquals(0.05, eff.get("lr").asDouble(), 0.0, "--lr 0.05 on the command line");
        assertEquals(9, eff.get("steps").asInt(), "the command line beats the file");
        assertEquals("linear", eff.get("schedule").asText());
        assertEquals(0.5, eff.get("clip_norm").asDouble(), 0.0);
        assertEquals(7, eff.get("seed").asInt());
        assertEquals(4, eff.get("tokens").asInt(), "--tokens 4 on the command line");
        // the run's config.json is itself a valid --config file, and the checkpoint carries it too
        JsonNode stored = Json.MAPPER.readTree(tmp.resolve("cfg.run/config.json").toFile());
        assertEquals(eff, stored);
        assertEquals(eff, Json.MAPPER.readTree(Json.write(Checkpoint.read(tmp.resolve("cfg.run/" + RunDir.CHECKPOINT)).config())));
        Cli.Run again = Cli.run("train", "--config", tmp.resolve("cfg.run/config.json").toString(), "--force",
                "-o", tmp.resolve("cfg2.sp").toString(), "--run-dir", tmp.resolve("cfg2.run").toString());
        assertEquals(0, again.code(), again.err());
        assertArrayEquals(promptBytes(tmp.resolve("cfg.sp")), promptBytes(tmp.resolve("cfg2.sp")),
                "rerunning from a run's config.json reproduces its prompt");
    }

    @Test
    void earlyStoppingKeepsTheBestPrompt() throws Exception {
        // a learning rate this small cannot move dev accuracy: no evaluation beats the initial prompt's (step 0)
        Cli.Run r = Cli.run(train("early.sp", "--lr", "1e-9", "--steps", "200", "--eval-every", "5", "--patience", "2",
                "--json"));
        assertEquals(0, r.code(), r.err());
        JsonNode j = Json.MAPPER.readTree(r.out());
        assertTrue(j.get("stopped_early").asBoolean(), r.out());
        assertEquals(10, j.get("steps").asInt(), "best at 0 (the initial prompt), no better at 5 and 10: patience 2 is spent");
        assertEquals(0, j.get("best_step").asInt());
        assertTrue(j.get("kept_initial_prompt").asBoolean(), r.out());
        assertTrue(r.err().contains("stopped early at step 10"), r.err());
        assertTrue(r.err().contains("no evaluation beat the initial prompt"), r.err());
    }

    @Test
    void metricsLogHasOneLinePerLoggedStepWithDevFigures() throws Exception {
        Cli.Run r = Cli.run(train("log.sp", "--steps", "20"));
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(tmp.resolve("log.run/" + RunDir.METRICS));
        assertEquals(6, lines.size(), "steps 0, 1, 5, 10, 15, 20: " + lines);
        JsonNode baseline = Json.MAPPER.readTree(lines.get(0));
        assertEquals(0, baseline.get("step").asInt(), "the step-0 evaluation is the first line (issue 35)");
        assertTrue(baseline.get("dev").has("accuracy") && !baseline.has("loss"), lines.get(0));
        for (String line : lines.subList(1, lines.size())) {
            JsonNode n = Json.MAPPER.readTree(line);
            for (String k : List.of("step", "loss", "lr", "grad_norm", "examples_per_sec", "rss_mb")) {
                assertTrue(n.hasNonNull(k), k + " in " + line);
            }
            assertTrue(Double.isFinite(n.get("loss").asDouble()));
            int step = n.get("step").asInt();
            assertEquals(step % 10 == 0, n.has("dev"), "dev figures exactly at evaluations: " + line);
        }
        JsonNode fin = Json.MAPPER.readTree(tmp.resolve("log.run/" + RunDir.FINAL).toFile());
        assertEquals(20, fin.get("steps").asInt());
    }

    @Test
    void anchorTextKeepsThePromptNearItsEmbeddings() throws Exception {
        String text = "great movie";
        Cli.Run free = Cli.run(train("free.sp", "--init", "text", "--init-text", text, "--lr", "0.3"));
        Cli.Run held = Cli.run(train("held.sp", "--init", "text", "--init-text", text, "--lr", "0.3",
                "--anchor-text", text, "--anchor-weight", "50"));
        assertEquals(0, free.code(), free.err());
        assertEquals(0, held.code(), held.err());
        Cli.Run init = Cli.run(train("init.sp", "--init", "text", "--init-text", text, "--lr", "1e-12", "--steps", "1",
                "--eval-every", "1"));
        assertEquals(0, init.code(), init.err());
        float[] e = PromptFile.read(tmp.resolve("init.sp")).values();
        // where training took each prompt: the last checkpoint's (the output is the best by dev accuracy, which on
        // this random model can be the initial prompt itself)
        double dFree = dist(Checkpoint.read(tmp.resolve("free.run").resolve(RunDir.CHECKPOINT)).prompt(), e);
        double dHeld = dist(Checkpoint.read(tmp.resolve("held.run").resolve(RunDir.CHECKPOINT)).prompt(), e);
        assertTrue(dHeld < dFree / 2, "anchored prompt stays nearer E(text): " + dHeld + " vs " + dFree);
    }

    static double dist(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (a[i] - b[i]) * (a[i] - b[i]);
        }
        return Math.sqrt(s);
    }

    @Test
    void badInputIsOneLineExitTwo() throws Exception {
        Path notRun = Files.createDirectories(tmp.resolve("not-a-run"));
        Path badKey = tmp.resolve("bad-key.json");
        Files.writeString(badKey, "{\"lr\": 0.1, \"learning_rate\": 0.2}");
        Path badType = tmp.resolve("bad-type.json");
        Files.writeString(badType, "{\"steps\": \"many\"}");
        Path notJson = tmp.resolve("not.json");
        Files.writeString(notJson, "{\"steps\": 3,");

        Cli.Run base = Cli.run(train("base.sp", "--steps", "5"));
        assertEquals(0, base.code(), base.err());
        Path baseRun = tmp.resolve("base.run");
        // make it resumable again: a finished run is refused with its own message (tested above)
        Files.delete(baseRun.resolve(RunDir.FINAL));

        String[][] cases = {
            {"--resume " + notRun + ": not a run folder", "train", "--resume", notRun.toString()},
            {"--resume " + tmp.resolve("nowhere") + ": not a folder", "train", "--resume", tmp.resolve("nowhere").toString()},
            {"another model", "train", "--resume", baseRun.toString(), "--model", Fixtures.of("llama").toString()},
            {"trains task mood, not sst2", "train", "--resume", baseRun.toString(), "--task", "sst2"},
            {"--lr cannot be used with --resume", "train", "--resume", baseRun.toString(), "--lr", "0.1"},
            {badKey + ": both 'lr' and its alias 'learning_rate' are set", "train", "--config", badKey.toString()},
            {badType + ": key 'steps' must be a whole number (got \"many\")", "train", "--config", badType.toString()},
            {notJson + ": not valid JSON", "train", "--config", notJson.toString()},
            {"--config " + tmp.resolve("none.json") + ": file not found", "train", "--config", tmp.resolve("none.json").toString()},
            {"--optimizer: unknown value 'sgd'", "train", "--optimizer", "sgd"},
            {"--schedule: unknown value 'step'", "train", "--schedule", "step"},
            {"--clip-norm must be a positive number", "train", "--clip-norm", "0"},
            {"--patience must be at least 1", "train", "--patience", "0"},
            {"--warmup 50 is longer than --steps 10", "train", "--steps", "10", "--warmup", "50"},
            {"--init-text is only used with --init text", "train", "--init-text", "hi"},
        };
        for (String[] c : cases) {
            Cli.Run r = Cli.run(Arrays.copyOfRange(c, 1, c.length));
            assertEquals(2, r.code(), String.join(" ", c) + " -> " + r.err());
            assertEquals(1, r.errLine().lines().count(), "one line: " + r.err());
            assertTrue(r.errLine().contains(c[0]), "expected '" + c[0] + "' in: " + r.err());
        }
    }

    @Test
    void helpDocumentsExitCodes() {
        Cli.Run r = Cli.run("train", "--help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("Exit codes:"), r.out());
        assertTrue(r.out().contains("3   non-finite loss"), r.out());
    }
}
