package io.softprompt.prompt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.safetensors.SafetensorsWriter;
import io.softprompt.util.UserException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PromptFileTest {
    @TempDir
    Path tmp;

    static Prompt sample() {
        float[] v = new float[3 * 4];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) Math.sin(i) * 0.3f;
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(PromptFile.TASK, "sst2");
        meta.put(PromptFile.TEMPLATE, "{sentence} It was");
        meta.put(PromptFile.VERBALIZER, "{\"0\":\" negative\",\"1\":\" positive\"}");
        return new Prompt(v, 3, 4, meta);
    }

    @Test
    void djlReadsTheFileWithItsOwnSafetensorsDecoder() throws Exception {
        Path f = tmp.resolve("task.sp");
        Prompt p = sample();
        PromptFile.write(f, p);
        try (NDManager m = NDManager.newBaseManager(); InputStream in = Files.newInputStream(f)) {
            NDList list = NDList.decode(m, in);
            assertEquals(1, list.size());
            NDArray a = list.get(0);
            assertEquals(PromptFile.TENSOR, a.getName());
            assertEquals(new Shape(3, 4), a.getShape());
            assertEquals(DataType.FLOAT32, a.getDataType());
            assertArrayEquals(p.values(), a.toFloatArray());
        }
    }

    @Test
    void roundTripKeepsValuesAndMetadata() throws Exception {
        Path f = tmp.resolve("task.sp");
        PromptFile.write(f, sample());
        Prompt r = PromptFile.read(f);
        assertArrayEquals(sample().values(), r.values());
        assertEquals("softprompt", r.meta(PromptFile.FORMAT));
        assertEquals("1.0", r.meta(PromptFile.FORMAT_VERSION));
        assertEquals("3", r.meta(PromptFile.NUM_TOKENS));
        assertEquals("sst2", r.task(f.toString()).name());
        assertEquals(" positive", r.task(f.toString()).verbalizer().get("1"));
        try (var s = Files.list(tmp)) {
            assertEquals(1, s.count(), "no temp file left beside the output");
        }
    }

    @Test
    void newerMajorVersionIsRefused() throws Exception {
        Path f = tmp.resolve("future.sp");
        SafetensorsWriter.write(f, Map.of(PromptFile.TENSOR, SafetensorsWriter.Tensor.f32(new float[4], 1, 4)),
                Map.of("format", "softprompt", "format_version", "2.0"));
        UserException e = assertThrows(UserException.class, () -> PromptFile.read(f));
        assertTrue(e.getMessage().contains("newer"), e.getMessage());
    }

    @Test
    void corruptedFileIsRefusedWithItsName() throws Exception {
        Path f = tmp.resolve("bad.sp");
        PromptFile.write(f, sample());
        byte[] b = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(b, b.length - 7));
        UserException e = assertThrows(UserException.class, () -> PromptFile.read(f));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        Files.writeString(f, "this is not a prompt");
        e = assertThrows(UserException.class, () -> PromptFile.read(f));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        assertFalse(e.getMessage().contains("Exception"), e.getMessage());
    }
}
