package io.softprompt.safetensors;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Writes the pickle torch.save writes for float32 tensors (protocol 2): each tensor a call of
 * {@code torch._utils._rebuild_tensor_v2} on a persistent storage id; a state dict an OrderedDict.
 * Only globals {@code torch.load(weights_only=True)} allows.
 */
final class TorchPickleWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    TorchPickleWriter() {
        out.write(0x80);
        out.write(2);
    }

    /** An empty OrderedDict on the stack, to be filled with {@link #setItem}. */
    void orderedDict() {
        global("collections", "OrderedDict");
        out.write(')');
        out.write('R');
    }

    void string(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.write('X');
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
        out.writeBytes(b);
    }

    /** A float32 tensor of {@code shape}, row-major, over storage {@code key} of {@code numel} elements. */
    void tensor(String key, long numel, long[] shape) {
        global("torch._utils", "_rebuild_tensor_v2");
        out.write('(');
        out.write('(');
        string("storage");
        global("torch", "FloatStorage");
        string(key);
        string("cpu");
        integer(numel);
        out.write('t');
        out.write('Q');
        integer(0);
        long[] stride = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            stride[i] = s;
            s *= shape[i];
        }
        tuple(shape);
        tuple(stride);
        out.write(0x89);
        global("collections", "OrderedDict");
        out.write(')');
        out.write('R');
        out.write('t');
        out.write('R');
    }

    /** Puts the key and value on the stack into the dict below them. */
    void setItem() {
        out.write('s');
    }

    byte[] finish() {
        out.write('.');
        return out.toByteArray();
    }

    private void global(String module, String name) {
        out.write('c');
        out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    private void tuple(long[] v) {
        out.write('(');
        for (long x : v) {
            integer(x);
        }
        out.write('t');
    }

    private void integer(long v) {
        if (v >= 0 && v < 256) {
            out.write('K');
            out.write((int) v);
        } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
            out.write('J');
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
        } else {
            out.write(0x8a);
            out.write(8);
            out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
        }
    }
}
