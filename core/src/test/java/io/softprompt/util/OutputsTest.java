package io.softprompt.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The write rule itself: whole or nothing, --force only over what softprompt wrote, the OS's reason. */
class OutputsTest {
    @TempDir
    Path tmp;

    static Map<String, AtomicFiles.Writer> files(String... nameThenContent) {
        Map<String, AtomicFiles.Writer> m = new LinkedHashMap<>();
        for (int i = 0; i < nameThenContent.length; i += 2) {
            byte[] b = nameThenContent[i + 1].getBytes(StandardCharsets.UTF_8);
            m.put(nameThenContent[i], out -> out.write(b));
        }
        return m;
    }

    List<String> listing() throws IOException {
        try (Stream<Path> s = Files.walk(tmp)) {
            return s.map(p -> tmp.relativize(p).toString()).sorted().toList();
        }
    }

    @Test
    void aFolderIsSwappedInWholeAndReplacedOnlyWhenAllOfItIsOurs() throws Exception {
        Path out = tmp.resolve("report");
        Outputs.folder("--out", out, false, Outputs.Legacy.NONE, stage -> Files.writeString(stage.resolve("a.md"), "one"));
        assertEquals(List.of("a.md"), Files.readAllLines(out.resolve(Outputs.MANIFEST)));
        UserException exists = assertThrows(UserException.class,
                () -> Outputs.folder("--out", out, false, Outputs.Legacy.NONE, stage -> Files.writeString(stage.resolve("b.md"), "two")));
        assertTrue(exists.getMessage().contains("exists; pass force"), exists.getMessage());
        Outputs.folder("--out", out, true, Outputs.Legacy.NONE, stage -> Files.writeString(stage.resolve("b.md"), "two"));
        assertEquals(List.of("", "report", "report/" + Outputs.MANIFEST, "report/b.md"), listing(), "a.md went with the old");
        Files.writeString(out.resolve("mine.txt"), "the user's");
        UserException foreign = assertThrows(UserException.class,
                () -> Outputs.folder("--out", out, true, Outputs.Legacy.NONE, stage -> Files.writeString(stage.resolve("c.md"), "3")));
        assertTrue(foreign.getMessage().contains("holds 'mine.txt', which softprompt did not write"), foreign.getMessage());
        assertEquals("the user's", Files.readString(out.resolve("mine.txt")));
    }

    @Test
    void aWriteThatFailsHalfWayLeavesTheOldFolderAndNoTempFiles() throws Exception {
        Path out = tmp.resolve("adapter");
        Outputs.folder("OUT", out, false, new Outputs.Legacy(Set.of("x", "y"), Set.of("x")), files("x", "old x", "y", "old y"));
        assertTrue(!Files.exists(out.resolve(Outputs.MANIFEST)), "fixed names need no manifest");
        List<String> before = listing();
        UserException e = assertThrows(UserException.class, () -> Outputs.folder("OUT", out, true, new Outputs.Legacy(Set.of("x", "y"), Set.of("x")),
                stage -> {
                    Files.writeString(stage.resolve("x"), "new x");
                    throw new IOException("No space left on device");
                }));
        assertEquals("OUT " + out + ": cannot write: No space left on device", e.getMessage());
        assertEquals(before, listing(), "the old folder as it was, no staging or retired folder beside it");
        assertEquals("old x", Files.readString(out.resolve("x")));
    }

    /**
     * Issue 34: --force replaced an adapter PEFT itself wrote (its config and weights, no manifest), as if
     * the file names alone made it ours. Without a manifest only a folder holding our marks is ours.
     */
    @Test
    void aFolderWithoutOurMarksIsNotOursEvenIfItsNamesAre() throws Exception {
        Path out = tmp.resolve("peft-wrote-this");
        Files.createDirectories(out);
        Files.writeString(out.resolve("x"), "PEFT's config");
        Outputs.Legacy legacy = new Outputs.Legacy(Set.of("x", "y", "ours.json"), Set.of("ours.json"));
        UserException e = assertThrows(UserException.class, () -> Outputs.folder("OUT", out, true, legacy, files("x", "new")));
        assertTrue(e.getMessage().contains("holds 'x', which softprompt did not write"), e.getMessage());
        assertEquals("PEFT's config", Files.readString(out.resolve("x")));
        Files.writeString(out.resolve("ours.json"), "{}"); // an older export of ours: the mark is there
        Outputs.folder("OUT", out, true, legacy, files("x", "new", "ours.json", "{}"));
        assertEquals("new", Files.readString(out.resolve("x")));
    }

    /**
     * Issue 34: an empty folder that is a mount point (a container volume) cannot be renamed, so the swap
     * failed with "Device or resource busy"; such a folder is filled in place, each file atomically, the
     * manifest first naming old and new files (a cut leaves a folder --force still knows as ours).
     */
    @Test
    void aFolderThatCannotBeSwappedIsFilledInPlace() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("volume"));
        Files.writeString(dir.resolve("old.md"), "old");
        Path stage = Files.createDirectories(tmp.resolve("stage"));
        Files.writeString(stage.resolve("new.md"), "new");
        Outputs.inPlace(dir, stage, Set.of("old.md", Outputs.MANIFEST), Outputs.MANIFEST);
        assertEquals(List.of("", "stage", "stage/new.md", "volume", "volume/" + Outputs.MANIFEST, "volume/new.md"), listing());
        assertEquals(List.of("new.md"), Files.readAllLines(dir.resolve(Outputs.MANIFEST)));
    }

    /** The same through a real bind mount, where this machine lets the test make one (it needs root). */
    @Test
    void aMountPointTakesAFolderOutput() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("mounted"));
        Path backing = Files.createDirectories(tmp.resolve("backing"));
        boolean mounted = new ProcessBuilder("mount", "--bind", backing.toString(), dir.toString()).redirectErrorStream(true)
                .start().waitFor() == 0;
        org.junit.jupiter.api.Assumptions.assumeTrue(mounted, "mount --bind is not allowed here (it needs root)");
        try {
            Outputs.folder("OUT", dir, false, Outputs.Legacy.NONE, files("a.md", "one"));
            assertEquals("one", Files.readString(dir.resolve("a.md")));
            Outputs.folder("OUT", dir, true, Outputs.Legacy.NONE, files("b.md", "two"));
            assertEquals(List.of("b.md"), Files.readAllLines(dir.resolve(Outputs.MANIFEST)));
            assertTrue(!Files.exists(dir.resolve("a.md")) && Files.exists(backing.resolve("b.md")), "written into the volume");
        } finally {
            new ProcessBuilder("umount", dir.toString()).start().waitFor();
        }
    }

    @Test
    void aFileIsReplacedOnlyWithForceAndNeverHalfWritten() throws Exception {
        Path f = tmp.resolve("p.npy");
        Outputs.file("OUT", f, false, out -> out.write(1));
        assertThrows(UserException.class, () -> Outputs.file("OUT", f, false, out -> out.write(2)));
        UserException e = assertThrows(UserException.class, () -> Outputs.file("OUT", f, true, out -> {
            out.write(new byte[100]);
            throw new IOException("No space left on device");
        }));
        assertTrue(e.getMessage().endsWith(": cannot write: No space left on device"), e.getMessage());
        assertEquals(1, Files.readAllBytes(f).length, "the old content");
        assertEquals(List.of("", "p.npy"), listing(), "no temp file");
        UserException folder = assertThrows(UserException.class, () -> Outputs.file("OUT", tmp, true, out -> out.write(3)));
        assertTrue(folder.getMessage().contains("is a folder"), folder.getMessage());
    }
}
