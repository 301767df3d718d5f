package io.softprompt.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.util.UserException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path tmp;

    /**
     * A small file replaced (renamed over) after it was opened is read as the version that was opened:
     * header and tensors from one open, never one version's header with the next one's bytes. Before,
     * each tensor reopened the path: the checkpoint a training child replaces every few steps was once
     * read with a header one byte shorter than its file's (TrainingRunTest).
     */
    @Test
    void aFileReplacedAfterItWasOpenedIsReadAsItWas() throws Exception {
        Path f = tmp.resolve("ckpt.safetensors");
        SafetensorsWriter.write(f, Map.of("p", SafetensorsWriter.Tensor.f32(new float[] {1, 2, 3}, 3)), Map.of("step", "9"));
        SafetensorsFile opened = SafetensorsFile.open(f);
        Path next = tmp.resolve("next.safetensors");
        SafetensorsWriter.write(next, Map.of("p", SafetensorsWriter.Tensor.f32(new float[] {7, 8, 9}, 3)),
                Map.of("step", "10", "more", "metadata that moves the data"));
        Files.move(next, f, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        assertArrayEquals(new float[] {1, 2, 3}, opened.readFloats("p"));
        try (NDManager m = NDManager.newBaseManager()) {
            assertArrayEquals(new float[] {1, 2, 3}, opened.toNDArray("p", m).toFloatArray());
        }
        assertArrayEquals(new float[] {7, 8, 9}, SafetensorsFile.open(f).readFloats("p"), "a new open reads the new version");
    }

    @Test
    void roundTripKeepsValuesShapesAndMetadata() throws Exception {
        Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        t.put("a", SafetensorsWriter.Tensor.f32(new float[] {1, -2.5f, 3, 4, 5, 6}, 2, 3));
        t.put("ids", SafetensorsWriter.Tensor.i64(new long[] {7, 8}, 2));
        Path f = tmp.resolve("x.safetensors");
        SafetensorsWriter.write(f, t, Map.of("k", "v"));
        SafetensorsFile r = SafetensorsFile.open(f);
        assertArrayEquals(new float[] {1, -2.5f, 3, 4, 5, 6}, r.readFloats("a"));
        assertArrayEquals(new long[] {2, 3}, r.info("a").shape());
        assertArrayEquals(new long[] {7, 8}, r.readLongs("ids"));
        assertEquals("v", r.metadata().get("k"));
        long headerLen = ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLen % 8, "header padded to 8 bytes");
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = r.toNDArray("a", m);
            assertArrayEquals(new float[] {1, -2.5f, 3, 4, 5, 6}, a.toFloatArray());
            assertEquals(new Shape(2, 3), a.getShape());
        }
    }

    @Test
    void halfPrecisionConvertsToFloat32() throws Exception {
        float[] values = {0f, 1f, -2f, 0.5f, 65504f, 1e-7f, -0.333f, 3.14159f};
        byte[] f16 = new byte[values.length * 2];
        byte[] bf16 = new byte[values.length * 2];
        ByteBuffer a = ByteBuffer.wrap(f16).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer b = ByteBuffer.wrap(bf16).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            a.putShort(Half.floatToFp16(v));
            b.putShort(Half.floatToBf16(v));
        }
        Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        t.put("h", new SafetensorsWriter.Tensor("F16", new long[] {values.length}, f16));
        t.put("b", new SafetensorsWriter.Tensor("BF16", new long[] {values.length}, bf16));
        Path f = tmp.resolve("half.safetensors");
        SafetensorsWriter.write(f, t, Map.of());
        SafetensorsFile r = SafetensorsFile.open(f);
        float[] h = r.readFloats("h");
        float[] bb = r.readFloats("b");
        for (int i = 0; i < values.length; i++) {
            float v = values[i];
            assertEquals(v, h[i], Math.max(Math.abs(v) * 1e-3, 6e-8), "f16 " + v);
            assertEquals(v, bb[i], Math.abs(v) * 8e-3, "bf16 " + v);
        }
        assertEquals(1f, Half.fp16ToFloat((short) 0x3c00));
        assertEquals(-2f, Half.fp16ToFloat((short) 0xc000));
        assertEquals(5.9604645e-8f, Half.fp16ToFloat((short) 0x0001)); // smallest subnormal
        assertEquals(Float.POSITIVE_INFINITY, Half.fp16ToFloat((short) 0x7c00));
        assertTrue(Float.isNaN(Half.fp16ToFloat((short) 0x7e00)));
        assertEquals(1f, Half.bf16ToFloat((short) 0x3f80));
        try (NDManager m = NDManager.newBaseManager()) {
            assertEquals(DataType.FLOAT32, r.toNDArray("b", m).getDataType());
        }
    }

    @Test
    void truncatedFileIsNamed() throws Exception {
        Path f = tmp.resolve("t.safetensors");
        SafetensorsWriter.write(f, Map.of("w", SafetensorsWriter.Tensor.f32(new float[100], 10, 10)), Map.of());
        byte[] all = Files.readAllBytes(f);
        Path cut = tmp.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(all, all.length - 40));
        UserException e = assertThrows(UserException.class, () -> SafetensorsFile.open(cut));
        assertTrue(e.getMessage().startsWith(cut.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void headerThatLiesAboutOffsetsIsRefused() throws Exception {
        String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}";
        Path f = tmp.resolve("lie.safetensors");
        writeRaw(f, header, new byte[16]);
        UserException e = assertThrows(UserException.class, () -> SafetensorsFile.open(f));
        assertTrue(e.getMessage().contains("lies about offsets"), e.getMessage());
        Path g = tmp.resolve("beyond.safetensors");
        writeRaw(g, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", new byte[16]);
        e = assertThrows(UserException.class, () -> SafetensorsFile.open(g));
        assertTrue(e.getMessage().contains("ends at data byte 24"), e.getMessage());
        Path h = tmp.resolve("hugeheader.safetensors");
        Files.write(h, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1_000_000).array());
        e = assertThrows(UserException.class, () -> SafetensorsFile.open(h));
        assertTrue(e.getMessage().contains("header length"), e.getMessage());
    }

    @Test
    void missingTensorIsNamed() throws Exception {
        Path f = tmp.resolve("m.safetensors");
        SafetensorsWriter.write(f, Map.of("w", SafetensorsWriter.Tensor.f32(new float[1], 1)), Map.of());
        UserException e = assertThrows(UserException.class, () -> SafetensorsFile.open(f).info("nope"));
        assertTrue(e.getMessage().contains("missing tensor 'nope'"), e.getMessage());
    }

    static void writeRaw(Path f, String header, byte[] data) throws Exception {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Files.write(f, b.array());
    }
}
