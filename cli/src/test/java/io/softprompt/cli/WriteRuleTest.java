package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one rule for writes, across every command that writes (train, export to .npy and to a PEFT
 * folder, import, sweep, report; Spark's score has its own test in the spark module): pointed at a
 * read-only file system or a full one, each exits 2 with one line that names the path and gives the
 * OS's reason, and leaves nothing half-written: no output, no temp file. The destinations are real
 * file systems (a tmpfs mounted read-only, and one filled to its last block), which needs root, as the
 * tests run in CI and here.
 */
class WriteRuleTest {
    @TempDir
    static Path tmp;
    static Path task;
    static String model;
    static Path sp;
    static Path npy;
    static Path runs;
    static Path sweep;

    @BeforeAll
    static void inputs() throws Exception {
        task = Fixtures.moodTask(tmp, 3);
        model = Fixtures.of("gpt2").toString();
        sp = tmp.resolve("in.sp");
        assertEquals(0, Cli.run("train", "--task", task.toString(), "--model", model, "--tokens", "2", "--steps", "2",
                "--batch-size", "2", "--depth", "input", "-o", sp.toString()).code());
        npy = tmp.resolve("in.npy");
        assertEquals(0, Cli.run("export", "--prompt", sp.toString(), "--to", "npy", npy.toString()).code());
        runs = Files.createDirectories(tmp.resolve("runs"));
        Path run = Files.createDirectories(runs.resolve("r1"));
        assertEquals(0, Cli.run("train", "--task", task.toString(), "--model", model, "--tokens", "2", "--steps", "2",
                "--batch-size", "2", "-o", run.resolve("prompt.sp").toString(), "--run-dir", run.toString()).code());
        sweep = tmp.resolve("sweep.json");
        Files.writeString(sweep, "{\"name\": \"w\", \"base\": {\"task\": \"" + task + "\", \"model\": \"" + model
                + "\", \"steps\": 1, \"batch_size\": 2, \"tokens\": 2}, \"grid\": {\"seed\": [1]}}");
    }

    /** Every writing command, given where to write. */
    static List<String[]> commands(Path dest) {
        List<String[]> c = new ArrayList<>();
        c.add(new String[] {"train", "--task", task.toString(), "--model", model, "--tokens", "2", "--steps", "1",
            "--batch-size", "2", "-o", dest.resolve("trained.sp").toString()});
        c.add(new String[] {"export", "--prompt", sp.toString(), "--to", "npy", dest.resolve("out.npy").toString()});
        c.add(new String[] {"export", "--prompt", sp.toString(), "--to", "peft", dest.resolve("adapter").toString()});
        c.add(new String[] {"import", npy.toString(), "--model", model, "--task", task.toString(), "-o",
            dest.resolve("imported.sp").toString()});
        c.add(new String[] {"sweep", "--config", sweep.toString(), "--out", dest.resolve("sweep").toString()});
        c.add(new String[] {"report", runs.toString(), "--out", dest.resolve("report").toString()});
        return c;
    }

    static boolean mount(Path dir, String options) {
        return TrustworthyTest.mount(dir, options);
    }

    /** Each command against the destination mount(options) makes: exit 2, one line, the reason, nothing left. */
    void eachCommandRefuses(String options, String reason, Function<Path, Void> prepare) throws Exception {
        Path disk = Files.createDirectories(tmp.resolve(options.replaceAll("[^a-z0-9]", "")));
        boolean mounted = mount(disk, options);
        Assumptions.assumeTrue(mounted, "mounting a tmpfs needs root (CI and the development machine have it)");
        try {
            prepare.apply(disk);
            List<String> before = listing(disk);
            for (String[] cmd : commands(disk)) {
                Cli.Run r = Cli.run(cmd);
                String what = String.join(" ", cmd).substring(0, 12) + "…: " + r.err();
                assertEquals(2, r.code(), what);
                assertEquals(1, r.errLine().lines().count(), what);
                assertTrue(r.errLine().contains(reason), what);
                assertTrue(r.errLine().contains(disk.toString()), "names the path: " + what);
                assertFalse(r.err().contains("internal error"), what);
                assertEquals(before, listing(disk), "nothing written, nothing half-written, no temp file: " + what);
                System.out.printf(Locale.ROOT, "WRITE RULE %-8s %s%n", cmd[0] + (cmd[0].equals("export") ? " " + cmd[4] : ""),
                        r.errLine());
            }
        } finally {
            TrustworthyTest.umount(disk);
        }
    }

    static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.map(p -> dir.relativize(p).toString()).sorted().toList();
        }
    }

    @Test
    void aReadOnlyDestinationIsExitTwoWithTheReasonForEveryCommand() throws Exception {
        eachCommandRefuses("size=256k,ro", "Read-only file system", d -> null);
    }

    @Test
    void aFullDestinationIsExitTwoWithTheReasonAndNothingHalfWritten() throws Exception {
        eachCommandRefuses("size=64k", "No space left on device", d -> {
            try (var o = Files.newOutputStream(d.resolve("filler"))) {
                byte[] b = new byte[4096];
                while (true) {
                    o.write(b);
                }
            } catch (IOException full) {
                return null; // the disk is full
            }
        });
    }
}
