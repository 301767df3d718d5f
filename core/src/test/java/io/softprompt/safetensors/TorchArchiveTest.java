package io.softprompt.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.Hostile;
import io.softprompt.util.UserException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * PyTorch's checkpoint format (issue 35): what the writer writes the reader reads back exactly, with
 * storages 64-byte aligned as PyTorch writes them; a hostile pickle (a global that runs code, an
 * opcode that builds objects) is refused in one line and nothing it names is ever called; mutated
 * archives and pickles are read or refused in one line (jqwik).
 */
class TorchArchiveTest {
    static Map<String, TorchArchive.Floats> stateDict() {
        Map<String, TorchArchive.Floats> t = new LinkedHashMap<>();
        t.put("wte.weight", new TorchArchive.Floats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        t.put("ln.bias", new TorchArchive.Floats(new float[] {-0.5f, 1e-30f, Float.MAX_VALUE, 7}, 4));
        t.put("big", new TorchArchive.Floats(new float[300 * 2], 300, 2));
        return t;
    }

    static Path write(Path dir, String name, Map<String, TorchArchive.Floats> t) throws IOException {
        Path f = dir.resolve(name);
        try (var out = Files.newOutputStream(f)) {
            TorchArchive.write(out, t);
        }
        return f;
    }

    @Test
    void whatIsWrittenIsReadBackExactlyAndAligned(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Map<String, TorchArchive.Floats> t = stateDict();
        Path f = write(tmp, "pytorch_model.bin", t);
        SafetensorsFile back = TorchArchive.read(f);
        assertEquals(t.keySet(), back.names());
        for (var e : t.entrySet()) {
            assertArrayEquals(e.getValue().values(), back.readFloats(e.getKey()), e.getKey());
            assertArrayEquals(e.getValue().shape(), back.info(e.getKey()).shape(), e.getKey());
        }
        byte[] file = Files.readAllBytes(f);
        for (int k = 0; k < t.size(); k++) {
            assertEquals(0, dataOffset(file, "archive/data/" + k) % TorchArchive.ALIGN, "storage " + k + " aligned");
        }
        Path bare = tmp.resolve("bare.pt");
        Files.write(bare, TorchArchive.bytes(Map.of("", new TorchArchive.Floats(new float[] {9, 8, 7}, 3, 1))));
        assertArrayEquals(new float[] {9, 8, 7}, TorchArchive.read(bare).readFloats("tensor"));
        assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(write(tmp, "again.bin", t)), "the same tensors, the same bytes");
    }

    /** Where an entry's data starts: its local header's offset + 30 + name and extra lengths. */
    static int dataOffset(byte[] zip, String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i + 30 + n.length <= zip.length; i++) {
            if (zip[i] == 'P' && zip[i + 1] == 'K' && zip[i + 2] == 3 && zip[i + 3] == 4) {
                ByteBuffer h = ByteBuffer.wrap(zip, i, 30).order(ByteOrder.LITTLE_ENDIAN);
                int nameLen = h.getShort(i + 26) & 0xFFFF;
                int extraLen = h.getShort(i + 28) & 0xFFFF;
                if (nameLen == n.length && new String(zip, i + 30, nameLen, StandardCharsets.UTF_8).equals(name)) {
                    return i + 30 + nameLen + extraLen;
                }
            }
        }
        throw new AssertionError("no entry " + name);
    }

    /** An archive whose data.pkl is {@code pickle}, beside one storage. */
    static byte[] archive(byte[] pickle) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(b)) {
            for (var e : Map.of("archive/data.pkl", pickle, "archive/data/0", new byte[16], "archive/version", "3\n".getBytes())
                    .entrySet()) {
                ZipEntry entry = new ZipEntry(e.getKey());
                entry.setMethod(ZipEntry.STORED);
                entry.setSize(e.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                entry.setCrc(crc.getValue());
                z.putNextEntry(entry);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return b.toByteArray();
    }

    @Test
    void aPickleThatWouldRunCodeIsRefusedAndNothingRuns(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path marker = tmp.resolve("pwned");
        String cmd = "touch " + marker;
        String[][] cases = {
            {"\u0080\u0002cposix\nsystem\nX" + le(cmd.length()) + cmd + "\u0085R.", "posix.system"},
            {"\u0080\u0002cos\nsystem\nX" + le(cmd.length()) + cmd + "\u0085R.", "os.system"},
            {"\u0080\u0002cbuiltins\neval\nX\u0004\u0000\u0000\u00001+1\u0085R.", "builtins.eval"},
            {"\u0080\u0002ctorch\nload\n)R.", "torch.load"},
            {"(S'x'\nios\nsystem\n.", "opcode"},            // INST (protocol 0)
            {"\u0080\u0002(ccollections\nOrderedDict\no.", "opcode"},   // OBJ
            {"\u0080\u0002ccollections\nOrderedDict\n)\u0081.", "opcode"}, // NEWOBJ
            {"\u0080\u0002Pfoo\n.", "opcode"},                // PERSID as text
            {"\u0080\u0002\u0082\u0001.", "opcode"},          // EXT1
            {"\u0080\u0002))R.", "not an allowed global"},    // REDUCE on a tuple
        };
        for (String[] c : cases) {
            Path f = tmp.resolve("hostile.bin");
            Files.write(f, archive(c[0].getBytes(StandardCharsets.ISO_8859_1)));
            UserException e = assertThrows(UserException.class, () -> TorchArchive.read(f), c[1]);
            assertTrue(e.getMessage().contains("refused") && e.getMessage().contains(c[1]), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
            System.out.println("PICKLE " + e.getMessage());
        }
        assertFalse(Files.exists(marker), "nothing the pickle named was run");
        Files.write(tmp.resolve("legacy.bin"), new byte[] {(byte) 0x80, 2, (byte) 0x8a, 10});
        UserException legacy = assertThrows(UserException.class, () -> TorchArchive.read(tmp.resolve("legacy.bin")));
        assertTrue(legacy.getMessage().contains("before PyTorch 1.6"), legacy.getMessage());
    }

    private static String le(int n) {
        return new String(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(n).array(), StandardCharsets.ISO_8859_1);
    }

    @Provide
    Arbitrary<byte[]> archives() {
        return Hostile.bytes(TorchArchive.bytes(stateDict()));
    }

    @Provide
    Arbitrary<byte[]> pickles() throws IOException {
        TorchPickleWriter w = new TorchPickleWriter();
        w.orderedDict();
        w.string("a");
        w.tensor("0", 4, new long[] {2, 2});
        w.setItem();
        return Hostile.bytes(w.finish());
    }

    @Property(tries = 1000)
    void mutatedArchivesAreReadOrRefusedInOneLine(@ForAll("archives") byte[] bytes) throws IOException {
        Path f = Files.createTempFile("softprompt-torch-", ".bin");
        try {
            Files.write(f, bytes);
            Hostile.accepts("archive", bytes.length, () -> TorchArchive.read(f));
        } finally {
            Files.delete(f);
        }
    }

    @Property(tries = 2000)
    void mutatedPicklesAreReadOrRefusedInOneLine(@ForAll("pickles") byte[] bytes) throws IOException {
        Path f = Files.createTempFile("softprompt-pickle-", ".bin");
        try {
            Files.write(f, archive(bytes));
            Hostile.accepts("pickle", bytes.length, () -> TorchArchive.read(f));
        } finally {
            Files.delete(f);
        }
    }
}
