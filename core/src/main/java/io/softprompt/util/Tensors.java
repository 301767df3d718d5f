package io.softprompt.util;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * NDArrays made from Java data, in memory PyTorch owns.
 *
 * <p>Why not {@code manager.create(...)} directly: on the PyTorch engine DJL wraps a Java direct
 * buffer with {@code torch::from_blob} and keeps the buffer alive only through the Java NDArray
 * object. Closing that NDArray (a sub-manager scope ending, for one) drops the buffer while views,
 * autograd's saved tensors or other handles may still point at its memory; the JVM then frees and
 * reuses it, and PyTorch reads or writes garbage. It showed as rare NaN gradients and runs that
 * differed depending on what ran before them in the same JVM. Every array made here is a clone into
 * PyTorch's own allocation; the Java-backed original is closed at once.
 */
public final class Tensors {
    private Tensors() {}

    public static NDArray create(NDManager m, float[] values, Shape shape) {
        ByteBuffer b = ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.nativeOrder());
        b.asFloatBuffer().put(values);
        return create(m, b, shape, DataType.FLOAT32);
    }

    public static NDArray create(NDManager m, long[] values, Shape shape) {
        ByteBuffer b = ByteBuffer.allocateDirect(values.length * 8).order(ByteOrder.nativeOrder());
        b.asLongBuffer().put(values);
        return create(m, b, shape, DataType.INT64);
    }

    public static NDArray create(NDManager m, float[] values) {
        return create(m, values, new Shape(values.length));
    }

    public static NDArray create(NDManager m, long[] values) {
        return create(m, values, new Shape(values.length));
    }

    /**
     * From a direct buffer the caller gives up: its memory is released as soon as it is copied, not
     * when a garbage collection happens to run (per-step inputs would otherwise pile up off-heap).
     */
    public static NDArray create(NDManager m, ByteBuffer direct, Shape shape, DataType type) {
        NDArray a = owned(m.create(direct, shape, type));
        if (direct.isDirect()) {
            release(direct);
        }
        return a;
    }

    private static NDArray owned(NDArray javaBacked) {
        try (javaBacked) {
            return javaBacked.duplicate(); // torch clone: PyTorch-allocated storage, same manager
        }
    }

    private static void release(ByteBuffer direct) {
        try {
            Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            ((sun.misc.Unsafe) f.get(null)).invokeCleaner(direct);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // left to the garbage collector
        }
    }
}
