package io.softprompt.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Half-precision and float64 tensors are widened into native memory in row blocks (no heap array: a
 * bfloat16 Qwen3-0.6B embedding did not fit the launcher's heap), concatenated from blocks as a tensor
 * over 2 GB would be: the values equal the heap path's, block by block and whole.
 */
class NativeWideningTest {
    @Test
    void blocksOfRowsGiveTheSameValuesAsTheHeapPath(@TempDir Path tmp) throws Exception {
        Random rnd = new Random(5);
        Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        long[][] shapes = {{7, 5}, {3, 2, 4}, {11}, {}};
        String[] dtypes = {"BF16", "F16", "F64", "F32"};
        for (String dtype : dtypes) {
            for (long[] shape : shapes) {
                long n = 1;
                for (long d : shape) {
                    n *= d;
                }
                int width = dtype.equals("F64") ? 8 : dtype.equals("F32") ? 4 : 2;
                ByteBuffer b = ByteBuffer.allocate((int) n * width).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < n; i++) {
                    float f = (float) rnd.nextGaussian();
                    switch (dtype) {
                        case "BF16" -> b.putShort((short) (Float.floatToRawIntBits(f) >>> 16));
                        case "F16" -> b.putShort(Half.floatToFp16(f));
                        case "F64" -> b.putDouble(f);
                        default -> b.putFloat(f);
                    }
                }
                t.put(dtype + "-" + shape.length, new SafetensorsWriter.Tensor(dtype, shape, b.array()));
            }
        }
        Path f = tmp.resolve("w.safetensors");
        SafetensorsWriter.write(f, t, Map.of());
        SafetensorsFile file = SafetensorsFile.open(f);
        long dataStart = 8 + ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        try (NDManager m = NDManager.newBaseManager()) {
            for (String name : t.keySet()) {
                float[] heap = file.readFloats(name);
                for (long block : new long[] {8, 24, NativeWidening.BLOCK}) { // 8 bytes: one row (or two values) a block
                    NDArray a = NativeWidening.read(f, dataStart, file.info(name), m, block);
                    assertArrayEquals(file.info(name).shape(), a.getShape().getShape(), name);
                    assertArrayEquals(heap, a.toFloatArray(), name + " in blocks of " + block + " bytes");
                }
            }
        }
    }
}
