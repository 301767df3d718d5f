package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.model.FixtureCopies;
import io.softprompt.prompt.PeftAdapter;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.safetensors.SafetensorsWriter;
import io.softprompt.train.Checkpoint;
import io.softprompt.train.RunDir;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each case a hostile trial of softprompt broke (data loss, crashes on hostile files, checkpoints
 * trusted blindly, a best prompt that was not the best, unfinished runs overwritten, relative paths,
 * weak checks), reproduced through the command line: every one of these failed before its fix.
 */
class SafeEdgesTest {
    @TempDir
    static Path tmp;
    static Path task;
    static String model;
    static Path sp;

    @BeforeAll
    static void trained() throws Exception {
        task = Fixtures.moodTask(tmp, 3);
        model = Fixtures.of("gpt2").toString();
        sp = tmp.resolve("base.sp");
        Cli.Run r = Cli.run("train", "--task", task.toString(), "--model", model, "--tokens", "3", "--steps", "2",
                "--batch-size", "2", "-o", sp.toString());
        assertEquals(0, r.code(), r.err());
    }

    /** A run that failed: exit 2, one line, no stack trace; the line. */
    static String refused(String... args) {
        Cli.Run r = Cli.run(args);
        assertEquals(2, r.code(), String.join(" ", args) + " -> " + r.err());
        assertEquals(1, r.errLine().lines().count(), "one line: " + r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        assertTrue(r.errLine().length() < 800, "a sane length: " + r.errLine().length());
        return r.errLine();
    }

    // ---- data loss ----

    @Test
    void forceNeverDeletesAFolderOfTheUsers() throws Exception {
        Path victim = Files.createDirectories(tmp.resolve("victim"));
        Files.writeString(victim.resolve("notes.txt"), "notes");
        Files.copy(sp, victim.resolve("base.sp"));
        String e = refused("export", "--prompt", victim.resolve("base.sp").toString(), "--to", "peft", victim.toString(),
                "--force");
        assertTrue(e.contains("holds 'base.sp', which softprompt did not write"), e);
        assertEquals("notes", Files.readString(victim.resolve("notes.txt")));
        assertArrayEquals(Files.readAllBytes(sp), Files.readAllBytes(victim.resolve("base.sp")));
        try (var s = Files.list(victim)) {
            assertEquals(2, s.count(), "nothing added either");
        }
        // the working folder itself: refused, not rm -rf .
        String dot = refused("export", "--prompt", sp.toString(), "--to", "peft", tmp.toString(), "--force");
        assertTrue(dot.contains("which softprompt did not write"), dot);
        assertTrue(Files.isRegularFile(sp));

        // an adapter folder of ours is replaced with --force, and only then
        Path adapter = tmp.resolve("adapter");
        assertEquals(0, Cli.run("export", "--prompt", sp.toString(), "--to", "peft", adapter.toString()).code());
        String again = refused("export", "--prompt", sp.toString(), "--to", "peft", adapter.toString());
        assertTrue(again.contains("exists; pass --force"), again);
        assertEquals(0, Cli.run("export", "--prompt", sp.toString(), "--to", "peft", adapter.toString(), "--force").code());
        assertEquals(3, PeftAdapter.read(adapter).tokens());
        // one stray file of the user's in it, and --force refuses again, naming it
        Files.writeString(adapter.resolve("notes.md"), "my notes");
        String stray = refused("export", "--prompt", sp.toString(), "--to", "peft", adapter.toString(), "--force");
        assertTrue(stray.contains("holds 'notes.md'"), stray);
        assertEquals("my notes", Files.readString(adapter.resolve("notes.md")));
    }

    @Test
    void aReportReplacesOnlyAnEarlierReport() throws Exception {
        Path runs = Files.createDirectories(tmp.resolve("report-runs"));
        Files.copy(sp, runs.resolve("x.sp"));
        Path out = Files.createDirectories(tmp.resolve("mine"));
        Files.writeString(out.resolve("thesis.tex"), "years of work");
        String e = refused("report", runs.toString(), "--out", out.toString(), "--force");
        assertTrue(e.contains("holds 'thesis.tex'"), e);
        assertEquals("years of work", Files.readString(out.resolve("thesis.tex")));
    }

    @Test
    void aSweepNeverWritesIntoAFolderThatIsNotASweeps() throws Exception {
        Path out = Files.createDirectories(tmp.resolve("not-a-sweep"));
        Files.writeString(out.resolve("data.csv"), "a,b");
        Path cfg = tmp.resolve("tiny-sweep.json");
        Files.writeString(cfg, "{\"name\": \"s\", \"base\": {\"task\": \"" + task + "\", \"model\": \"" + model
                + "\", \"steps\": 1}, \"grid\": {\"seed\": [1]}}");
        String e = refused("sweep", "--config", cfg.toString(), "--out", out.toString());
        assertTrue(e.contains("holds 'data.csv' but no sweep.json"), e);
    }

    // ---- crashes on hostile files ----

    @Test
    void aSafetensorsHeaderThatIsNullIsABadFile() throws Exception {
        Path f = tmp.resolve("null.sp");
        byte[] h = "null    ".getBytes(StandardCharsets.US_ASCII);
        Files.write(f, ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h).array());
        String e = refused("export", "--prompt", f.toString(), "--to", "npy", tmp.resolve("null.npy").toString());
        assertTrue(e.contains("header is the JSON null, not a JSON object"), e);
        assertFalse(Files.exists(tmp.resolve("null.npy")));
    }

    @Test
    void npyHeadersAreParsedAsThePythonLiteralsTheyAre() throws Exception {
        // a version-2 header length near 2^31: the bounds check overflowed
        Path big = tmp.resolve("v2.npy");
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0}).putInt(0x7FFFFFF8);
        Files.write(big, b.array());
        String e = refused("import", big.toString(), "--model", model, "--task", task.toString(), "-o",
                tmp.resolve("v2.sp").toString());
        assertTrue(e.contains("header length 2147483640 is beyond reason"), e);
        // a string value that looks like a key: a regular expression took '<f4' from inside it
        Path tricky = npy(tmp.resolve("tricky.npy"), "{'x': \"'descr': '<f4'\", 'descr': '<f8', 'fortran_order': False, "
                + "'shape': (2, 3), }", 2 * 3 * 8);
        String t = refused("import", tricky.toString(), "--model", model, "--task", task.toString(), "-o",
                tmp.resolve("tricky.sp").toString());
        assertTrue(t.contains("keys must be exactly descr, fortran_order, shape"), t);
        Path f8 = npy(tmp.resolve("f8.npy"), "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 48);
        assertTrue(refused("import", f8.toString(), "--model", model, "--task", task.toString(), "-o",
                tmp.resolve("f8.sp").toString()).contains("dtype <f8 is not float32"));
        // a 3 GB array: refused by its size, before a byte of it is read
        Path huge = npy(tmp.resolve("huge.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 768), }", 0);
        try (RandomAccessFile raf = new RandomAccessFile(huge.toFile(), "rw")) {
            raf.setLength(raf.length() + 1_000_000L * 768 * 4); // sparse: no disk is used
        }
        long t0 = System.nanoTime();
        String h = refused("import", huge.toString(), "--model", model, "--task", task.toString(), "-o",
                tmp.resolve("huge.sp").toString());
        assertTrue(h.contains("far larger than any prompt"), h);
        assertTrue((System.nanoTime() - t0) / 1e9 < 5, "refused without reading it");
        Files.delete(huge);
    }

    /** A .npy file with this header dict and dataBytes zero bytes after it (version 1.0). */
    static Path npy(Path f, String dict, int dataBytes) throws Exception {
        int unpadded = 10 + dict.length() + 1;
        String header = dict + " ".repeat((64 - unpadded % 64) % 64) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length());
        b.put(header.getBytes(StandardCharsets.US_ASCII));
        Files.write(f, b.array());
        return f;
    }

    @Test
    void peftNumbersAreWholeOrRefused() throws Exception {
        Path adapter = tmp.resolve("fractional");
        assertEquals(0, Cli.run("export", "--prompt", sp.toString(), "--to", "peft", adapter.toString()).code());
        Path cfg = adapter.resolve(PeftAdapter.CONFIG);
        Files.writeString(cfg, Files.readString(cfg).replaceAll("\"num_virtual_tokens\" : 3", "\"num_virtual_tokens\" : 5.7"));
        String e = refused("import", adapter.toString(), "--model", model, "--task", task.toString(), "-o",
                tmp.resolve("frac.sp").toString());
        assertTrue(e.contains("num_virtual_tokens must be a whole number of at least 1 (got 5.7)"), e);
    }

    // ---- messages: sane length, no bytes of a file that failed to parse ----

    @Test
    void messagesQuoteNeitherMegabytesNorForeignBytes() throws Exception {
        Path long_ = tmp.resolve("long.json");
        Files.writeString(long_, "{\"name\": \"long\", \"template\": \"" + "x".repeat(1 << 20) + "\", \"verbalizer\": "
                + "{\"a\": \" yes\", \"b\": \" no\"}}");
        String e = refused("train", "--task", long_.toString(), "--model", model);
        assertTrue(e.contains("has no '{sentence}' placeholder") && e.contains("(1048576 characters)"), e);

        Path passwd = tmp.resolve("passwd");
        Files.writeString(passwd, "root:x:0:0:root:/root:/bin/bash\nsecret:x:1000:1000::/home/secret:/bin/sh\n");
        String p = refused("train", "--task", passwd.toString(), "--model", model);
        assertTrue(p.contains("not valid JSON"), p);
        assertFalse(p.contains("root") && !passwd.toString().contains("root"), "no byte of the file: " + p);

        Path binary = tmp.resolve("binary.json");
        Files.write(binary, new byte[] {'{', '"', 'n', '"', ':', 0x1b, '[', '3', '1', 'm', (byte) 0xff, 0x00, 0x07});
        String b = refused("train", "--task", binary.toString(), "--model", model);
        assertFalse(b.chars().anyMatch(c -> c < 0x20 || c == 0xFFFD), "no control bytes: " + b);

        Path latin1 = tmp.resolve("latin1.tsv");
        Files.write(latin1, "text\ty\nfine\tpos\ncaf\u00e9 cr\u00e8me\tneg\n".getBytes(StandardCharsets.ISO_8859_1));
        String l = refused("train", "--task", task.toString(), "--model", model, "--train", latin1.toString(),
                "--dev", latin1.toString(), "-o", tmp.resolve("latin1.sp").toString());
        assertTrue(l.contains("latin1.tsv:3: not valid UTF-8 text (at byte 4 of the line); save the file as UTF-8"), l);
    }

    // ---- checkpoints are checked before a run resumes ----

    /** A run folder stopped at its checkpoint of step 4 (of 8), for the checkpoint tests to damage. */
    static Path stoppedRun(String name) throws Exception {
        Path out = tmp.resolve(name + ".sp");
        Cli.Run r = Cli.run("train", "--task", task.toString(), "--model", model, "--tokens", "3", "--steps", "8",
                "--batch-size", "2", "--checkpoint-every", "4", "--debug-nan-at", "6", "-o", out.toString());
        assertEquals(3, r.code(), r.err());
        return tmp.resolve(name + ".run");
    }

    @Test
    void aCheckpointHoldingNaNIsRefusedNamingTheFile() throws Exception {
        Path run = stoppedRun("nan-ckpt");
        Checkpoint c = Checkpoint.read(run.resolve(RunDir.CHECKPOINT));
        float[] bad = c.prompt().clone();
        bad[1] = Float.NaN;
        rewrite(run, new Checkpoint(bad, c.bestPrompt(), c.promptShape(), c.optimizer(), c.optimizerShapes(), c.state(),
                c.config(), c.fingerprint()));
        String e = refused("train", "--resume", run.toString());
        assertTrue(e.contains(run.resolve(RunDir.CHECKPOINT) + ": damaged checkpoint: its prompt holds non-finite values"), e);
        assertFalse(e.contains("--lr"), "not blamed on the learning rate: " + e);
    }

    @Test
    void aCheckpointWhoseStepContradictsItsConfigIsRefused() throws Exception {
        Path run = stoppedRun("step-ckpt");
        Checkpoint c = Checkpoint.read(run.resolve(RunDir.CHECKPOINT));
        Checkpoint.State s = c.state();
        Checkpoint.State far = new Checkpoint.State(1_000_000, s.optimizer(), s.optimizerSteps(), s.rngSeed(), s.epoch(),
                s.cursor(), s.bestMetric(), s.bestDev(), s.bestStep(), s.evalsSinceBest(), s.lastLoss(), s.trainSeconds(),
                s.trainExamples(), s.initialDev());
        rewrite(run, new Checkpoint(c.prompt(), c.bestPrompt(), c.promptShape(), c.optimizer(), c.optimizerShapes(), far,
                c.config(), c.fingerprint()));
        String e = refused("train", "--resume", run.toString());
        assertTrue(e.contains("its step 1000000 is outside the run's 0..8 steps"), e);
        assertFalse(Files.exists(run.resolve(RunDir.FINAL)));
        // and a checkpoint from another run (its config not this folder's config.json)
        Checkpoint.State ok = c.state();
        rewrite(run, new Checkpoint(c.prompt(), c.bestPrompt(), c.promptShape(), c.optimizer(), c.optimizerShapes(), ok,
                c.config().toBuilder().seed(99).build(), c.fingerprint()));
        String other = refused("train", "--resume", run.toString());
        assertTrue(other.contains("its config contradicts the run's"), other);
    }

    static void rewrite(Path run, Checkpoint c) throws Exception {
        Files.delete(run.resolve(RunDir.CHECKPOINT));
        c.write(run.resolve(RunDir.CHECKPOINT));
    }

    // ---- unfinished runs are never started over without --force ----

    @Test
    void aRunThatStoppedBeforeItsFirstCheckpointIsNotOverwritten() throws Exception {
        Path out = tmp.resolve("early.sp");
        String[] cmd = {"train", "--task", task.toString(), "--model", model, "--tokens", "3", "--steps", "20", "--batch-size",
            "2", "--checkpoint-every", "10", "--log-every", "1", "--debug-nan-at", "3", "-o", out.toString()};
        assertEquals(3, Cli.run(cmd).code());
        Path run = tmp.resolve("early.run");
        byte[] metrics = Files.readAllBytes(run.resolve(RunDir.METRICS));
        assertTrue(metrics.length > 0);
        String again = refused(cmd);
        assertTrue(again.contains("holds an unfinished run that stopped before its first checkpoint"), again);
        assertArrayEquals(metrics, Files.readAllBytes(run.resolve(RunDir.METRICS)), "metrics.jsonl kept");
        String resume = refused("train", "--resume", run.toString());
        assertTrue(resume.contains("stopped before its first checkpoint, so there is nothing to resume")
                && resume.contains("--force"), resume);
        String[] forced = java.util.Arrays.copyOf(cmd, cmd.length + 1);
        forced[cmd.length] = "--force";
        forced[java.util.Arrays.asList(forced).indexOf("--debug-nan-at") + 1] = "0";
        assertEquals(0, Cli.run(forced).code());
    }

    // ---- paths ----

    @Test
    void aRelativeModelIsRecordedAbsolute() throws Exception {
        Path cwd = Path.of("").toAbsolutePath();
        String relative = cwd.relativize(Path.of(model).toAbsolutePath()).toString();
        assertFalse(Path.of(relative).isAbsolute());
        Path out = tmp.resolve("rel.sp");
        Cli.Run r = Cli.run("train", "--task", task.toString(), "--model", relative, "--tokens", "2", "--steps", "1",
                "--batch-size", "2", "-o", out.toString());
        assertEquals(0, r.code(), r.err());
        Prompt p = PromptFile.read(out);
        assertEquals(Path.of(model).toAbsolutePath().normalize().toString(), p.meta(PromptFile.MODEL_NAME));
        JsonNode cfg = Json.MAPPER.readTree(p.meta(PromptFile.TRAIN_CONFIG));
        assertTrue(Path.of(cfg.get("model").asText()).isAbsolute(), cfg.toString());
    }

    // ---- the model's own weights ----

    @Test
    void damagedWeightsAreBlamedOnTheModelNotThePrompt() throws Exception {
        Path copy = FixtureCopies.copy(Path.of(model), tmp.resolve("nan-model"), "F32", 1);
        SafetensorsFile f = SafetensorsFile.open(copy.resolve("model.safetensors"));
        Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        String damaged = null;
        for (String n : f.names()) {
            float[] v = f.readFloats(n);
            if (damaged == null && v.length > 4) {
                java.util.Arrays.fill(v, Float.NaN);
                damaged = n;
            }
            t.put(n, SafetensorsWriter.Tensor.f32(v, f.info(n).shape()));
        }
        Files.delete(copy.resolve("model.safetensors"));
        SafetensorsWriter.write(copy.resolve("model.safetensors"), t, Map.of("format", "pt"));
        String e = refused("train", "--task", task.toString(), "--model", copy.toString(), "--steps", "2", "-o",
                tmp.resolve("damaged.sp").toString());
        assertTrue(e.contains("tensor " + UserException.quote(damaged) + " holds non-finite values")
                && e.contains("the model's weights are damaged"), e);
        assertFalse(Files.exists(tmp.resolve("damaged.run")), "the refused run leaves no run folder");
        String infer = refused("infer", "--prompt", sp.toString(), "--model", copy.toString(), "a fine film");
        assertTrue(infer.contains("the model's weights are damaged"), infer);
    }
}
