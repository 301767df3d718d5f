package io.softprompt.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Tensors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A float tensor of a file read as float32 straight into native memory, in blocks of whole rows of at
 * most {@link #BLOCK} bytes: no Java array holds it (a 600 M-value bfloat16 embedding would need 2.4 GB
 * of heap, past the launcher's 512 MB and past what one Java array holds), and a tensor over 2 GB is
 * filled block by block in place. F16 and BF16 are widened exactly, F64 rounded to float32.
 */
final class NativeWidening {
    static final long BLOCK = 1L << 28;
    private static final int CHUNK = 1 << 24;

    private NativeWidening() {}

    static NDArray read(Path path, long dataStart, SafetensorsFile.TensorInfo info, NDManager manager) throws IOException {
        return read(path, dataStart, info, manager, BLOCK);
    }

    /** As {@link #read(Path, long, SafetensorsFile.TensorInfo, NDManager)} in blocks of at most {@code block} bytes. */
    static NDArray read(Path path, long dataStart, SafetensorsFile.TensorInfo info, NDManager manager, long block)
            throws IOException {
        long[] shape = info.shape();
        long rows = shape.length == 0 ? 1 : shape[0];
        long n = info.numel();
        long rowLen = rows == 0 ? 0 : n / rows;
        int width = switch (info.dtype()) {
            case "F16", "BF16" -> 2;
            case "F32" -> 4;
            case "F64" -> 8;
            default -> throw new IllegalArgumentException(info.dtype());
        };
        long perBlock = Math.max(1, block / Math.max(1, rowLen * 4));
        // a tensor of several blocks is filled block by block in place: never twice its size in memory
        NDArray whole = Math.max(rows, 1) > perBlock ? manager.zeros(new Shape(shape), DataType.FLOAT32) : null;
        // the file's bytes pass through one small heap buffer: a direct one per block would linger in native
        // memory until a collection (the heap never asks for one), doubling the load's peak
        ByteBuffer chunk = width == 4 ? null
                : ByteBuffer.allocate((int) Math.min(CHUNK, Math.max(8, n * width))).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            for (long r = 0; r < Math.max(rows, 1); r += perBlock) {
                long k = Math.min(perBlock, rows - r);
                long values = shape.length == 0 ? 1 : k * rowLen;
                ByteBuffer out = ByteBuffer.allocateDirect(Math.toIntExact(values * 4)).order(ByteOrder.LITTLE_ENDIAN);
                long at = dataStart + info.begin() + r * rowLen * width;
                if (width == 4) { // float32: straight into its block
                    AtomicFiles.readFully(ch, out, at);
                }
                for (long left = width == 4 ? 0 : values * width; left > 0; ) {
                    chunk.clear().limit((int) Math.min(chunk.capacity() / width * width, left));
                    AtomicFiles.readFully(ch, chunk, at);
                    at += chunk.position();
                    left -= chunk.position();
                    chunk.flip();
                    widen(chunk, info.dtype(), out);
                }
                long[] blockShape = shape.clone();
                if (blockShape.length > 0) {
                    blockShape[0] = k;
                }
                NDArray part = Tensors.create(manager, out.flip(), new Shape(blockShape), DataType.FLOAT32);
                if (whole == null) {
                    return part;
                }
                try (part) {
                    whole.set(new NDIndex("{}:{}", r, r + k), part);
                }
            }
        }
        return whole;
    }

    /** Every value of {@code in} as float32 into {@code out}. */
    private static void widen(ByteBuffer in, String dtype, ByteBuffer out) {
        while (in.hasRemaining()) {
            float f = switch (dtype) {
                case "BF16" -> Float.intBitsToFloat((in.getShort() & 0xFFFF) << 16);
                case "F16" -> Half.fp16ToFloat(in.getShort());
                default -> (float) in.getDouble();
            };
            out.putFloat(f);
        }
    }
}
