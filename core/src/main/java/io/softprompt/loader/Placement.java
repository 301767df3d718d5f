package io.softprompt.loader;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import io.softprompt.model.WeightStore;
import io.softprompt.util.UserException;
import java.util.Locale;

/**
 * Where a model lives and in which precision, from the --device and --dtype flags. The device is a
 * DJL {@link Device}; every array of a forward and backward pass is made on the model's device
 * ({@code LanguageModel.device()}), the trainable prompt and its optimizer state in float32 there.
 * The dtype is the frozen weights' (and so the forward pass's); embedding tables, the prompt, logits
 * and losses stay float32, attention scores are computed in float32, RMSNorm statistics too.
 *
 * <p>What was measured on this project's machines (CPU only, DJL 0.36, PyTorch 2.7.1): float16
 * arrays made straight from a checkpoint's bytes work, and so do float16 matmul, softmax, layer norm
 * and GELU on CPU; any BFLOAT16 array aborts the JVM on CPU (made from bytes or by conversion). So
 * {@code auto} keeps float32 on CPU, and bfloat16 is refused there. No GPU was reachable: the GPU
 * path is built and unit-tested on CPU only.
 */
public final class Placement {
    public static final String AUTO = "auto";

    private Placement() {}

    /**
     * A device as the user writes it: {@code cpu}, or {@code gpu:N} (DJL's own toString is "cpu()").
     *
     * @param device the device
     * @return its name
     */
    public static String name(Device device) {
        return device.isGpu() ? "gpu:" + device.getDeviceId() : device.getDeviceType();
    }

    /**
     * Loads PyTorch's native library (hundreds of megabytes to map and relocate) and nothing else, so a
     * background thread can do it while the command line is parsed and the model's files are read; the
     * engine itself is made later on the thread that computes (making it sets thread-local state, such
     * as grad mode, on the thread that makes it). Loading twice is harmless: the second call waits for
     * the first and the JVM loads a library once. The PyTorch engine is a runtime dependency (this code
     * compiles against DJL's API only), so its loader is found by name; without it, nothing happens.
     */
    public static void preloadNativeLibrary() {
        try {
            Class.forName("ai.djl.pytorch.jni.LibUtils").getMethod("loadLibrary").invoke(null);
        } catch (ReflectiveOperationException e) {
            // another engine, or none: its first use loads what it needs
        }
    }

    /** cpu, gpu (the first), gpu:N, or auto (the first GPU if PyTorch sees one, else the CPU). */
    public static Device device(String spec) {
        String s = spec == null ? AUTO : spec.strip().toLowerCase(Locale.ROOT);
        Engine engine = Engine.getInstance();
        if (s.equals(AUTO)) {
            return engine.defaultDevice();
        }
        if (s.equals("cpu")) {
            return Device.cpu();
        }
        int index;
        if (s.equals("gpu") || s.equals("cuda")) {
            index = 0;
        } else if (s.matches("(gpu|cuda):\\d{1,3}")) {
            index = Integer.parseInt(s.substring(s.indexOf(':') + 1));
        } else {
            throw new UserException("{{device}} " + spec + ": expected cpu, gpu, gpu:N or auto");
        }
        int gpus = engine.getGpuCount();
        if (gpus == 0) {
            throw new UserException("{{device}} " + spec + ": PyTorch sees no GPU (the build's natives are CPU-only "
                    + "unless built with -Pcuda: see docs/devices.md)");
        }
        if (index >= gpus) {
            throw new UserException("{{device}} " + spec + ": PyTorch sees " + gpus + " GPU(s), numbered 0 to " + (gpus - 1));
        }
        return Device.gpu(index);
    }

    /**
     * float32, float16, bfloat16, or auto: float32 on CPU, else the checkpoint's own precision (a
     * float16 checkpoint stays float16, a bfloat16 one bfloat16, a float32 one float32).
     */
    public static DataType dtype(String spec, Device device, WeightStore weights) {
        String s = spec == null ? AUTO : spec.strip().toLowerCase(Locale.ROOT);
        boolean cpu = Device.Type.CPU.equals(device.getDeviceType());
        DataType t = switch (s) {
            case AUTO -> cpu ? DataType.FLOAT32 : weights.storedDtype();
            case "float32", "fp32" -> DataType.FLOAT32;
            case "float16", "fp16", "half" -> DataType.FLOAT16;
            case "bfloat16", "bf16" -> DataType.BFLOAT16;
            default -> throw new UserException("{{dtype}} " + spec + ": expected auto, float32, float16 or bfloat16");
        };
        if (t == DataType.BFLOAT16 && cpu) {
            throw new UserException("{{dtype}} " + spec + ": bfloat16 arrays abort DJL 0.36's PyTorch engine on CPU (measured); "
                    + "use float32 or float16 on CPU");
        }
        return t;
    }
}
