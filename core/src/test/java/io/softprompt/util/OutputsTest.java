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
        Outputs.folder("--out", out, false, Set.of(), stage -> Files.writeString(stage.resolve("a.md"), "one"));
        assertEquals(List.of("a.md"), Files.readAllLines(out.resolve(Outputs.MANIFEST)));
        UserException exists = assertThrows(UserException.class,
                () -> Outputs.folder("--out", out, false, Set.of(), stage -> Files.writeString(stage.resolve("b.md"), "two")));
        assertTrue(exists.getMessage().contains("exists; pass force"), exists.getMessage());
        Outputs.folder("--out", out, true, Set.of(), stage -> Files.writeString(stage.resolve("b.md"), "two"));
        assertEquals(List.of("", "report", "report/" + Outputs.MANIFEST, "report/b.md"), listing(), "a.md went with the old");
        Files.writeString(out.resolve("mine.txt"), "the user's");
        UserException foreign = assertThrows(UserException.class,
                () -> Outputs.folder("--out", out, true, Set.of(), stage -> Files.writeString(stage.resolve("c.md"), "3")));
        assertTrue(foreign.getMessage().contains("holds 'mine.txt', which softprompt did not write"), foreign.getMessage());
        assertEquals("the user's", Files.readString(out.resolve("mine.txt")));
    }

    @Test
    void aWriteThatFailsHalfWayLeavesTheOldFolderAndNoTempFiles() throws Exception {
        Path out = tmp.resolve("adapter");
        Outputs.folder("OUT", out, false, Set.of("x", "y"), files("x", "old x", "y", "old y"));
        assertTrue(!Files.exists(out.resolve(Outputs.MANIFEST)), "fixed names need no manifest");
        List<String> before = listing();
        UserException e = assertThrows(UserException.class, () -> Outputs.folder("OUT", out, true, Set.of("x", "y"),
                stage -> {
                    Files.writeString(stage.resolve("x"), "new x");
                    throw new IOException("No space left on device");
                }));
        assertEquals("OUT " + out + ": cannot write: No space left on device", e.getMessage());
        assertEquals(before, listing(), "the old folder as it was, no staging or retired folder beside it");
        assertEquals("old x", Files.readString(out.resolve("x")));
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
