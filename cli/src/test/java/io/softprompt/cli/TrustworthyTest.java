package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.model.FixtureCopies;
import io.softprompt.prompt.Npy;
import io.softprompt.prompt.PromptFile;
import io.softprompt.train.RunDir;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nothing is lost, misplaced or let in: traversal names, finished runs, concurrent trainers, changed
 * sweeps, full and read-only disks, meaningless flag pairs, malformed data lines and configs.
 */
class TrustworthyTest {
    @TempDir
    Path tmp;

    Path gpt2() {
        return Fixtures.of("gpt2");
    }

    /** Exit 2, one line, no stack trace; returns the line. */
    static String fails(String... args) {
        Cli.Run r = Cli.run(args);
        assertEquals(2, r.code(), String.join(" ", args) + " -> " + r.err());
        String line = r.errLine().lines().reduce((a, b) -> b).orElse("");
        assertTrue(line.startsWith("softprompt: error: "), r.err());
        assertFalse(r.err().contains("\tat ") || r.err().contains("Exception"), r.err());
        return line;
    }

    Path evilTask() throws IOException {
        Path task = tmp.resolve("evil.json");
        Files.writeString(task, "{\"name\": \"../../evil\", \"template\": \"{text} it was\", \"text_column\": \"text\","
                + " \"label_column\": \"y\", \"verbalizer\": {\"neg\": \" bad\", \"pos\": \" good\"}, \"train\": \"mood.tsv\"}");
        Fixtures.moodTask(tmp, 2);
        return task;
    }

    @Test
    void traversalTaskNamesAreRefusedEverywhere() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("a/b/c"));
        Path task = evilTask();
        String train = fails("train", "--task", task.toString(), "--model", gpt2().toString(), "--steps", "1");
        assertTrue(train.contains("task name \"../../evil\" is not a plain name"), train);
        assertFalse(Files.exists(work.resolve("../../evil.sp")) || Files.exists(tmp.resolve("evil.sp")));
        // import with that task
        Path npy = tmp.resolve("p.npy");
        Npy.write(npy, new float[2 * 64], 2, 64);
        String imp = fails("import", npy.toString(), "--model", gpt2().toString(), "--task", task.toString(), "-o",
                tmp.resolve("x.sp").toString());
        assertTrue(imp.contains("is not a plain name"), imp);
        // a sweep whose base names it
        Path sweep = tmp.resolve("sweep.json");
        Files.writeString(sweep, "{\"base\": {\"task\": " + Json.write(task.toString()) + ", \"steps\": 1}, \"grid\": "
                + "{\"tokens\": [1]}}");
        String sw = fails("sweep", "--config", sweep.toString(), "--out", tmp.resolve("runs").toString());
        assertTrue(sw.contains("is not a plain name"), sw);
        assertFalse(Files.exists(tmp.resolve("runs/tokens-1/prompt.sp")));
        // a control character or a slash in a name
        for (String name : List.of("a/b", "tab\\there", "..", ".hidden")) {
            Path t = tmp.resolve("t.json");
            Files.writeString(t, "{\"name\": \"" + name + "\", \"template\": \"{text} x\", \"text_column\": \"text\","
                    + " \"verbalizer\": {\"0\": \" a\", \"1\": \" b\"}}");
            assertTrue(fails("train", "--task", t.toString(), "--model", gpt2().toString()).contains("not a plain name"),
                    name);
        }
    }

    @Test
    void aFinishedRunAndAnExistingOutputAreNotOverwrittenWithoutForce() throws Exception {
        Path task = Fixtures.moodTask(tmp, 2);
        Path sp = tmp.resolve("m.sp");
        String[] train = {"train", "--task", task.toString(), "--model", gpt2().toString(), "--tokens", "2", "--steps", "2",
            "--batch-size", "2", "-o", sp.toString()};
        assertEquals(0, Cli.run(train).code());
        byte[] first = Files.readAllBytes(sp);
        byte[] finalJson = Files.readAllBytes(tmp.resolve("m.run/final.json"));
        String again = fails(train);
        assertTrue(again.contains(sp + ": exists; pass --force"), again);
        assertArrayEquals(first, Files.readAllBytes(sp), "the finished prompt is untouched");
        // the output removed, the finished run folder still guards itself
        Files.delete(sp);
        String run = fails(train);
        assertTrue(run.contains("holds a finished run"), run);
        assertArrayEquals(finalJson, Files.readAllBytes(tmp.resolve("m.run/final.json")));
        // --force replaces both
        List<String> forced = new ArrayList<>(List.of(train));
        forced.add("--force");
        assertEquals(0, Cli.run(forced.toArray(String[]::new)).code());
        assertTrue(Files.isRegularFile(sp));
    }

    @Test
    void twoTrainersCannotShareARunFolder() throws Exception {
        Path task = Fixtures.moodTask(tmp, 20);
        Path sp = tmp.resolve("slow.sp");
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), "-Dai.djl.offline=true", "-Dsoftprompt.offline=true",
                Main.class.getName(), "train", "--task", task.toString(), "--model", gpt2().toString(), "--tokens", "2",
                "--steps", "400", "--batch-size", "2", "--checkpoint-every", "5", "--debug-step-delay-ms", "50", "-o",
                sp.toString()));
        Process first = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("first.log").toFile())
                .start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.isRegularFile(tmp.resolve("slow.run/" + RunDir.CHECKPOINT)) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(first.isAlive(), "the first trainer is running");
            String second = fails("train", "--task", task.toString(), "--model", gpt2().toString(), "--tokens", "2",
                    "--steps", "3", "-o", sp.toString(), "--force");
            assertTrue(second.contains("another process is training in this run folder (PID " + first.pid() + ")"), second);
            String resume = fails("train", "--resume", tmp.resolve("slow.run").toString());
            assertTrue(resume.contains("PID " + first.pid()), resume);
        } finally {
            first.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
        // killed: its lock went with it, and the temp files it may have left are cleaned on resume
        Path stale = tmp.resolve("slow.run/.checkpoint.safetensors.tmp-999999999");
        Files.writeString(stale, "half");
        Cli.Run r = Cli.run("train", "--resume", tmp.resolve("slow.run").toString());
        assertEquals(0, r.code(), r.err());
        assertFalse(Files.exists(stale), "a dead process's temp file is removed on resume");
    }

    @Test
    void aSweepWhoseBaseChangedRefusesToReportStaleRuns() throws Exception {
        Path task = Fixtures.moodTask(tmp, 2);
        Path sweep = tmp.resolve("sweep.json");
        Files.writeString(sweep, "{\"base\": {\"task\": " + Json.write(task.toString()) + ", \"model\": "
                + Json.write(gpt2().toString()) + ", \"steps\": 2, \"batch_size\": 2}, \"grid\": {\"tokens\": [1, 2]}}");
        Path runs = tmp.resolve("runs");
        Cli.Run r = Cli.run("sweep", "--config", sweep.toString(), "--out", runs.toString());
        assertEquals(0, r.code(), r.err());
        String changed = fails("sweep", "--config", sweep.toString(), "--out", runs.toString(), "--set", "steps=3");
        assertTrue(changed.contains("2 run folder(s) were started with another configuration"), changed);
        assertTrue(changed.contains("--force"), changed);
        Cli.Run dry = Cli.run("sweep", "--config", sweep.toString(), "--out", runs.toString(), "--set", "steps=3", "--dry-run", "--json");
        assertTrue(dry.out().contains("\"state\":\"changed\""), dry.out());
        Cli.Run forced = Cli.run("sweep", "--config", sweep.toString(), "--out", runs.toString(), "--set", "steps=3",
                "--force", "--json");
        assertEquals(0, forced.code(), forced.err());
        JsonNode j = Json.MAPPER.readTree(forced.out());
        assertEquals(2, j.get("finished").size(), "both ran afresh, none reported as done: " + j);
        assertEquals(3, Json.MAPPER.readTree(runs.resolve("tokens-1/final.json").toFile()).get("steps").asInt());
        Cli.Run same = Cli.run("sweep", "--config", sweep.toString(), "--out", runs.toString(), "--set", "steps=3", "--json");
        assertEquals(2, Json.MAPPER.readTree(same.out()).get("skipped").size(), "unchanged: skipped");
    }

    @Test
    void everyGridPointIsCheckedBeforeAnyRuns() throws Exception {
        Path task = Fixtures.moodTask(tmp, 2);
        Path sweep = tmp.resolve("sweep.json");
        Files.writeString(sweep, "{\"base\": {\"task\": " + Json.write(task.toString()) + ", \"model\": "
                + Json.write(gpt2().toString()) + ", \"steps\": 2}, \"grid\": {\"tokens\": [2, -1]}}");
        String bad = fails("sweep", "--config", sweep.toString(), "--out", tmp.resolve("runs").toString());
        assertTrue(bad.contains("(run tokens--1)") && bad.contains("--tokens must be at least 1"), bad);
        assertFalse(Files.exists(tmp.resolve("runs/tokens-2/final.json")), "no run started");
        Files.writeString(sweep, "{\"base\": {\"task\": " + Json.write(task.toString()) + ", \"steps\": 2}, \"grid\": "
                + "{\"train\": [" + Json.write(tmp.resolve("mood.tsv").toString()) + ", "
                + Json.write(tmp.resolve("missing.tsv").toString()) + "]}}");
        String missing = fails("sweep", "--config", sweep.toString(), "--out", tmp.resolve("runs2").toString());
        assertTrue(missing.contains("missing.tsv: file not found"), missing);
    }

    /** Mounts a small tmpfs at dir, or returns false where this machine cannot. */
    static boolean mount(Path dir, String options) {
        try {
            Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", options, "tmpfs", dir.toString())
                    .redirectErrorStream(true).start();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    static void umount(Path dir) throws Exception {
        new ProcessBuilder("umount", dir.toString()).redirectErrorStream(true).start().waitFor(10, TimeUnit.SECONDS);
    }

    @Test
    void aFullDiskIsExitTwoWithTheOperatingSystemsReason() throws Exception {
        Path task = Fixtures.moodTask(tmp, 2);
        Path disk = Files.createDirectories(tmp.resolve("disk"));
        if (mount(disk, "size=64k")) {
            try {
                // fill it, leaving no block free
                try (var o = Files.newOutputStream(disk.resolve("filler"))) {
                    byte[] b = new byte[4096];
                    while (true) {
                        o.write(b);
                    }
                } catch (IOException full) {
                    assertEquals("No space left on device", AtomicFiles.reason(full));
                }
                String e = fails("train", "--task", task.toString(), "--model", gpt2().toString(), "--steps", "2",
                        "-o", disk.resolve("p.sp").toString());
                assertTrue(e.contains("No space left on device"), e);
                try (var s = Files.list(disk)) {
                    assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temp file left");
                }
                System.out.println("DISK FULL: a 64 KB tmpfs, filled: " + e);
            } finally {
                umount(disk);
            }
        } else {
            // no mount here: the same write path, with the exception a full disk raises
            Path target = tmp.resolve("kept.txt");
            Files.writeString(target, "finished work");
            IOException full = new IOException("No space left on device");
            try {
                AtomicFiles.write(target, out -> {
                    out.write(new byte[100]);
                    throw full;
                });
            } catch (IOException e) {
                assertEquals("No space left on device", AtomicFiles.reason(e));
            }
            assertEquals("finished work", Files.readString(target), "the old content survives");
            try (var s = Files.list(tmp)) {
                assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temp file left");
            }
            System.out.println("DISK FULL: no tmpfs could be mounted here; simulated with the real IOException message");
        }
    }

    @Test
    void aReadOnlyDestinationOrAFolderAsOutputIsRefusedBeforeTraining() throws Exception {
        Path task = Fixtures.moodTask(tmp, 2);
        String folder = fails("train", "--task", task.toString(), "--model", gpt2().toString(), "-o", tmp.toString());
        assertTrue(folder.contains("is a folder"), folder);
        Path ro = Files.createDirectories(tmp.resolve("ro"));
        if (mount(ro, "size=64k,ro")) {
            try {
                String e = fails("train", "--task", task.toString(), "--model", gpt2().toString(), "-o",
                        ro.resolve("p.sp").toString());
                assertTrue(e.contains("Read-only file system"), e);
                assertFalse(e.contains("step"), "refused before training: " + e);
            } finally {
                umount(ro);
            }
        } else if (!"root".equals(System.getProperty("user.name"))) {
            assertTrue(ro.toFile().setWritable(false, false));
            String e = fails("train", "--task", task.toString(), "--model", gpt2().toString(), "-o",
                    ro.resolve("p.sp").toString());
            assertTrue(e.contains("Permission denied"), e);
        }
    }

    @Test
    void meaninglessFlagPairsAndBadValuesAreRefused() throws Exception {
        Path task = Fixtures.moodTask(tmp, 2);
        String m = gpt2().toString();
        String[][] cases = {
            {"--anchor-weight needs --anchor-text", "train", "--model", m, "--anchor-weight", "0.5"},
            {"--anchor-weight must be a non-negative number (got NaN)", "train", "--model", m, "--anchor-text", "hi",
                "--anchor-weight", "NaN"},
            {"--log-every must be at least 1", "train", "--model", m, "--log-every", "0"},
            {"--token-budget applies to --input", "infer", "--prompt", "x.sp", "--token-budget", "100", "a"},
            {"--host nowhere.invalid: cannot resolve it", "serve", "--prompts", tmp.toString(), "--host", "nowhere.invalid"},
            {"--prompts " + tmp.resolve("nope") + ": no such folder", "serve", "--prompts", tmp.resolve("nope").toString()},
        };
        for (String[] c : cases) {
            String e = fails(Arrays.copyOfRange(c, 1, c.length));
            assertTrue(e.contains(c[0]), "expected '" + c[0] + "' in " + e);
        }
        Path nHead = FixtureCopies.copy(gpt2(), tmp.resolve("zero-heads"), "F32", 1);
        Files.writeString(nHead.resolve("config.json"), Files.readString(nHead.resolve("config.json"))
                .replaceAll("\"n_head\": *[0-9]+", "\"n_head\": 0"));
        String zero = fails("train", "--model", nHead.toString(), "--task", task.toString(), "-o", tmp.resolve("zero.sp").toString());
        assertTrue(zero.contains("config.json: 'n_head' must be a positive whole number (got 0)"), zero);
        assertFalse(Files.exists(tmp.resolve("zero.run")), "a run refused before it wrote anything leaves no run folder");
    }

    @Test
    void malformedDataLinesAreNamed() throws Exception {
        Path task = Fixtures.moodTask(tmp, 2);
        String m = gpt2().toString();
        String[][] files = {
            {"bom.jsonl", "\uFEFF{\"text\": \"a fine film\", \"y\": \"pos\"}\n{\"text\": \"dull\", \"y\": \"neg\"}\n", ""},
            {"number.jsonl", "{\"text\": \"fine\", \"y\": \"pos\"}\n{\"text\": 5, \"y\": \"neg\"}\n",
                "number.jsonl:2: 'text' must be a string (got a number)"},
            {"null.jsonl", "{\"text\": \"fine\", \"y\": null}\n", "null.jsonl:1: no 'y' field (it is null)"},
            {"list.jsonl", "{\"text\": \"fine\", \"y\": [1]}\n", "list.jsonl:1: 'y' must be a string or a whole number"},
            {"dup.tsv", "text\ty\ttext\na\tpos\tb\n", "dup.tsv:1: header names column 'text' twice"},
        };
        for (String[] f : files) {
            Path data = tmp.resolve(f[0]);
            Files.writeString(data, f[1], StandardCharsets.UTF_8);
            String[] args = {"train", "--model", m, "--task", task.toString(), "--train", data.toString(), "--steps", "1",
                "--batch-size", "2", "-o", tmp.resolve(f[0] + ".sp").toString()};
            if (f[2].isEmpty()) {
                Cli.Run r = Cli.run(args);
                assertEquals(0, r.code(), "a BOM is read like TSV's: " + r.err());
            } else {
                String e = fails(args);
                assertTrue(e.contains(f[2]), "expected '" + f[2] + "' in " + e);
            }
        }
    }

    @Test
    void pytorchsOutOfMemoryMessageIsAOneLineError() {
        RuntimeException engine = new RuntimeException("[enforce fail at alloc_cpu.cpp:118] data. DefaultCPUAllocator: "
                + "not enough memory: you tried to allocate 107374182400 bytes.");
        String what = Main.outOfMemory(new RuntimeException("wrapped", engine));
        assertTrue(what != null && what.contains("you tried to allocate 107374182400 bytes"), what);
        assertEquals(null, Main.outOfMemory(new IllegalStateException("a bug")));
    }

    @Test
    void promptFileRecordsPathsAbsolutelySoEvalWorksFromAnotherFolder() throws Exception {
        Path task = Fixtures.moodTask(tmp, 2);
        Path sp = tmp.resolve("abs.sp");
        assertEquals(0, Cli.run("train", "--task", task.toString(), "--model", gpt2().toString(), "--tokens", "2",
                "--steps", "2", "--batch-size", "2", "-o", sp.toString()).code());
        JsonNode cfg = Json.MAPPER.readTree(PromptFile.read(sp).meta(PromptFile.TRAIN_CONFIG));
        for (String key : List.of("task", "model", "train", "dev", "output")) {
            assertTrue(Path.of(cfg.get(key).asText()).isAbsolute(), key + " recorded absolute: " + cfg.get(key));
        }
    }
}
