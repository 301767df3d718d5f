package io.softprompt.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Tensors;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Reads a safetensors file (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then the
 * raw tensor bytes. The header is validated against the file size before any tensor is touched, so a
 * truncated file or one whose header lies about offsets is reported by name, not as a crash later.
 *
 * <p>Float32 tensors are read straight into direct buffers that PyTorch uses without a further copy.
 * Half-precision tensors (F16, BF16) are converted to float32 here, in Java, before they become
 * NDArrays: DJL's own {@code toType(BFLOAT16)} aborts the JVM on the CPU engine.
 */
public final class SafetensorsFile {
    private static final long MAX_HEADER = 100L << 20;
    /** A key twice in the header is an error, not "the last one wins". */
    private static final ObjectMapper HEADER = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS);

    /** One tensor's entry in the header. Offsets are relative to the start of the data section. */
    public record TensorInfo(String name, String dtype, long[] shape, long begin, long end) {
        public long numel() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        public Shape djlShape() {
            return new Shape(shape);
        }
    }

    /**
     * Files up to this size (prompts, checkpoints) have their data read when opened, through the channel
     * that read the header: a file replaced while it is read is read as one version or the other, never
     * one's header with the other's bytes. Larger ones (model weights) are read tensor by tensor.
     */
    static final long SNAPSHOT_MAX = 64L << 20;

    private final Path path;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;
    private final ByteBuffer snapshot; // the data region of a small file, or null

    private SafetensorsFile(Path path, long dataStart, Map<String, TensorInfo> tensors, Map<String, String> metadata,
            ByteBuffer snapshot) {
        this.path = path;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
        this.snapshot = snapshot;
    }

    /** Tensors whose bytes are already in memory (another format's, read by {@link TorchArchive}). */
    static SafetensorsFile inMemory(Path path, Map<String, TensorInfo> tensors, ByteBuffer data) {
        return new SafetensorsFile(path, 0, tensors, Map.of(), data.order(ByteOrder.LITTLE_ENDIAN));
    }

    /** Parses and validates the header; a small file's data is read with it, a large one's lazily. */
    public static SafetensorsFile open(Path path) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw bad(path, "file has " + size + " bytes, too short for a header");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            AtomicFiles.readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
                throw bad(path, "header length " + headerLen + " does not fit the file's " + size + " bytes (truncated?)");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            AtomicFiles.readFully(ch, hb, 8);
            Map<String, Object> header;
            try {
                header = HEADER.readValue(hb.array(), new TypeReference<LinkedHashMap<String, Object>>() {});
            } catch (JsonParseException e) {
                if (e.getMessage() != null && e.getMessage().startsWith("Duplicate field")) {
                    throw bad(path, "a key appears twice in the header");
                }
                throw bad(path, "header is not valid JSON");
            } catch (IOException e) {
                throw bad(path, "header is not a JSON object");
            }
            if (header == null) {
                throw bad(path, "header is the JSON null, not a JSON object");
            }
            long dataStart = 8 + headerLen;
            long dataSize = size - dataStart;
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (var e : header.entrySet()) {
                if (e.getKey().equals("__metadata__")) {
                    if (!(e.getValue() instanceof Map<?, ?> m)) {
                        throw bad(path, "__metadata__ is not a JSON object");
                    }
                    for (var kv : m.entrySet()) {
                        if (!(kv.getValue() instanceof String v)) {
                            throw bad(path, "metadata value of " + UserException.quote(String.valueOf(kv.getKey())) + " is not a string (safetensors "
                                    + "metadata maps strings to strings)");
                        }
                        metadata.put(String.valueOf(kv.getKey()), v);
                    }
                    continue;
                }
                tensors.put(e.getKey(), SafetensorsLayout.parseEntry(path, e.getKey(), e.getValue(), dataSize));
            }
            SafetensorsLayout.checkLayout(path, tensors.values(), dataSize);
            ByteBuffer snapshot = null;
            if (size <= SNAPSHOT_MAX) {
                snapshot = ByteBuffer.allocate((int) dataSize).order(ByteOrder.LITTLE_ENDIAN);
                AtomicFiles.readFully(ch, snapshot, dataStart);
            }
            return new SafetensorsFile(path, dataStart, Collections.unmodifiableMap(tensors),
                    Collections.unmodifiableMap(metadata), snapshot);
        } catch (NoSuchFileException e) {
            throw new UserException(path + ": file not found");
        } catch (IOException e) {
            throw new UserException(path + ": cannot read: " + AtomicFiles.reason(e));
        }
    }

    static UserException bad(Path path, String what) {
        return new UserException(path + ": invalid safetensors file: " + what);
    }

    /** Element size of a safetensors dtype name, or -1 when unsupported. */
    public static int bytesPer(String dtype) {
        return switch (dtype) {
            case "F64", "I64", "U64" -> 8;
            case "F32", "I32", "U32" -> 4;
            case "F16", "BF16", "I16", "U16" -> 2;
            case "I8", "U8", "BOOL" -> 1;
            default -> -1;
        };
    }

    public Path path() {
        return path;
    }

    public Set<String> names() {
        return tensors.keySet();
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new UserException(path + ": missing tensor '" + name + "'");
        }
        return info;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /** The tensor's raw little-endian bytes: a view of a small file's data, else memory-mapped read-only (no copy). */
    public ByteBuffer rawBytes(String name) {
        TensorInfo info = info(name);
        if (snapshot != null) {
            return snapshot.duplicate().limit((int) info.end()).position((int) info.begin()).slice().order(ByteOrder.LITTLE_ENDIAN);
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long len = info.end() - info.begin();
            if (len == 0) {
                return ByteBuffer.allocateDirect(0).order(ByteOrder.LITTLE_ENDIAN);
            }
            return ch.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin(), len).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UserException(path + ": cannot read tensor '" + name + "': " + e.getMessage());
        }
    }

    /** Any floating-point tensor as float32 values (F16/BF16/F64 converted in Java). */
    public float[] readFloats(String name) {
        TensorInfo info = info(name);
        ByteBuffer raw = rawBytes(name);
        int n = Math.toIntExact(info.numel());
        float[] out = new float[n];
        switch (info.dtype()) {
            case "F32" -> raw.asFloatBuffer().get(out);
            case "F64" -> {
                var db = raw.asDoubleBuffer();
                for (int i = 0; i < n; i++) {
                    out[i] = (float) db.get(i);
                }
            }
            case "F16" -> {
                var sb = raw.asShortBuffer();
                for (int i = 0; i < n; i++) {
                    out[i] = Half.fp16ToFloat(sb.get(i));
                }
            }
            case "BF16" -> {
                var sb = raw.asShortBuffer();
                for (int i = 0; i < n; i++) {
                    out[i] = Half.bf16ToFloat(sb.get(i));
                }
            }
            default -> throw new UserException(path + ": tensor '" + name + "' is " + info.dtype()
                    + ", expected a floating-point type");
        }
        return out;
    }

    /** An integer tensor (I64/I32) as longs. */
    public long[] readLongs(String name) {
        TensorInfo info = info(name);
        ByteBuffer raw = rawBytes(name);
        int n = Math.toIntExact(info.numel());
        long[] out = new long[n];
        switch (info.dtype()) {
            case "I64" -> raw.asLongBuffer().get(out);
            case "I32" -> {
                var ib = raw.asIntBuffer();
                for (int i = 0; i < n; i++) {
                    out[i] = ib.get(i);
                }
            }
            default -> throw new UserException(path + ": tensor '" + name + "' is " + info.dtype()
                    + ", expected an integer type");
        }
        return out;
    }

    /**
     * The tensor as {@code type}: FLOAT32 (every float dtype widened exactly), or FLOAT16 / BFLOAT16 —
     * straight from the file's bytes when stored so (half a float32 copy's memory, no rounding), else
     * converted by PyTorch. (DJL 0.36 on CPU aborts the JVM making BFLOAT16 arrays either way: callers
     * refuse it there.)
     */
    public NDArray toNDArray(String name, NDManager manager, DataType type) {
        if (type == DataType.FLOAT32) {
            return toNDArray(name, manager);
        }
        TensorInfo info = info(name);
        String stored = type == DataType.FLOAT16 ? "F16" : type == DataType.BFLOAT16 ? "BF16" : null;
        if (stored == null) {
            throw new IllegalArgumentException("weights as " + type + ": only float32, float16 and bfloat16");
        }
        if (stored.equals(info.dtype()) && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
            return Tensors.create(manager, direct(name, info), info.djlShape(), type);
        }
        if (!info.dtype().startsWith("F") && !info.dtype().equals("BF16")) {
            return toNDArray(name, manager);   // integer tensors keep their type
        }
        try (NDArray wide = toNDArray(name, manager)) {
            NDArray half = wide.toType(type, false);
            half.attach(manager);
            return half;
        }
    }

    /** The tensor's bytes copied into a fresh direct buffer (little-endian), from the snapshot or the file. */
    private ByteBuffer direct(String name, TensorInfo info) {
        ByteBuffer buf = ByteBuffer.allocateDirect((int) (info.end() - info.begin())).order(ByteOrder.LITTLE_ENDIAN);
        if (snapshot != null) {
            buf.put(rawBytes(name));
        } else {
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                AtomicFiles.readFully(ch, buf, dataStart + info.begin());
            } catch (IOException e) {
                throw new UserException(path + ": cannot read tensor '" + name + "': " + e.getMessage());
            }
        }
        return buf.rewind();
    }

    /** The tensor as an NDArray in {@code manager}: float types become FLOAT32, integer types INT64. */
    public NDArray toNDArray(String name, NDManager manager) {
        TensorInfo info = info(name);
        Shape shape = info.djlShape();
        boolean floating = info.dtype().equals("F32") || info.dtype().equals("F16") || info.dtype().equals("BF16")
                || info.dtype().equals("F64");
        if (floating && snapshot == null && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN
                && (!info.dtype().equals("F32") || info.end() - info.begin() > NativeWidening.BLOCK)) {
            try { // straight into native memory, in blocks: no heap array, no 2 GB limit
                return NativeWidening.read(path, dataStart, info, manager);
            } catch (IOException e) {
                throw new UserException(path + ": cannot read tensor '" + name + "': " + e.getMessage());
            }
        }
        switch (info.dtype()) {
            case "F32" -> {
                if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
                    return Tensors.create(manager, readFloats(name), shape);
                }
                // Read into a direct buffer PyTorch uses as is (DJL keeps it alive with the NDArray).
                // Not a memory map: tensors over mapped file regions gave intermittent garbage
                // gradients in the test suite (about one run in four); plain reads never did.
                return Tensors.create(manager, direct(name, info), shape, DataType.FLOAT32);
            }
            case "F16", "BF16", "F64" -> {
                return Tensors.create(manager, readFloats(name), shape);
            }
            case "I64", "I32" -> {
                return Tensors.create(manager, readLongs(name), shape);
            }
            default -> throw new UserException(path + ": tensor '" + name + "' has unsupported dtype " + info.dtype());
        }
    }
}
