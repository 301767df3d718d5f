package io.softprompt.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
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
 * concatenated from its blocks. F16 and BF16 are widened exactly, F64 rounded to float32.
 */
final class NativeWidening {
    static final long BLOCK = 1L << 28;

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
        NDList parts = new NDList();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            for (long r = 0; r < Math.max(rows, 1); r += perBlock) {
                long k = Math.min(perBlock, rows - r);
                long values = shape.length == 0 ? 1 : k * rowLen;
                ByteBuffer in = ByteBuffer.allocateDirect(Math.toIntExact(values * width)).order(ByteOrder.LITTLE_ENDIAN);
                long at = dataStart + info.begin() + r * rowLen * width;
                while (in.hasRemaining()) {
                    if (ch.read(in, at + in.position()) < 0) {
                        throw new IOException("unexpected end of file");
                    }
                }
                in.flip();
                ByteBuffer out = width == 4 ? in : widen(in, info.dtype(), values);
                long[] blockShape = shape.clone();
                if (blockShape.length > 0) {
                    blockShape[0] = k;
                }
                parts.add(Tensors.create(manager, out, new Shape(blockShape), DataType.FLOAT32));
                if (shape.length == 0) {
                    break;
                }
            }
        }
        if (parts.size() == 1) {
            return parts.get(0);
        }
        NDArray whole = NDArrays.concat(parts, 0);
        whole.attach(manager);
        parts.close();
        return whole;
    }

    private static ByteBuffer widen(ByteBuffer in, String dtype, long values) {
        ByteBuffer out = ByteBuffer.allocateDirect(Math.toIntExact(values * 4)).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < values; i++) {
            float f = switch (dtype) {
                case "BF16" -> Float.intBitsToFloat((in.getShort() & 0xFFFF) << 16);
                case "F16" -> Half.fp16ToFloat(in.getShort());
                default -> (float) in.getDouble();
            };
            out.putFloat(f);
        }
        return out.flip();
    }
}
