package io.softprompt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.safetensors.TorchArchive;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The tensors of a Hugging Face model folder: {@code model.safetensors}, or the shards listed in
 * {@code model.safetensors.index.json} ({"weight_map": {tensor: shard file}}); without safetensors,
 * {@code pytorch_model.bin} or its sharded index, read by {@link TorchArchive} (never unpickled as code). Tensors are loaded one
 * at a time, checked against the shape the architecture expects, and converted to the store's dtype
 * (float32 by default; see {@link #as}): {@link #load} gives that dtype, {@link #loadFloat32} float32
 * whatever it is (embedding tables: the prompt lives among them, and the model's fingerprint and a
 * prompt's initialisation read them).
 */
public final class WeightStore {
    public static final String SINGLE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";
    /** PyTorch's checkpoint, read when a folder has no safetensors (held in memory while the model loads). */
    public static final String TORCH = "pytorch_model.bin";
    public static final String TORCH_INDEX = "pytorch_model.bin.index.json";

    private final Path folder;
    private final Map<String, SafetensorsFile> byTensor;
    private final DataType dtype;

    private WeightStore(Path folder, Map<String, SafetensorsFile> byTensor, DataType dtype) {
        this.folder = folder;
        this.byTensor = byTensor;
        this.dtype = dtype;
    }

    /** This store loading its tensors as dtype. */
    public WeightStore as(DataType type) {
        return new WeightStore(folder, byTensor, type);
    }

    public DataType dtype() {
        return dtype;
    }

    /**
     * The floating-point dtype most of the checkpoint's parameters are stored in (by element count):
     * FLOAT16 for an F16 checkpoint, BFLOAT16 for BF16, else FLOAT32.
     */
    public DataType storedDtype() {
        Map<String, Long> count = new HashMap<>();
        for (var e : byTensor.entrySet()) {
            SafetensorsFile.TensorInfo info = e.getValue().info(e.getKey());
            count.merge(info.dtype(), Arrays.stream(info.shape()).reduce(1, (a, b) -> a * b), Long::sum);
        }
        String top = count.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse("F32");
        return switch (top) {
            case "F16" -> DataType.FLOAT16;
            case "BF16" -> DataType.BFLOAT16;
            default -> DataType.FLOAT32;
        };
    }

    public static WeightStore open(Path folder) {
        Path index = folder.resolve(INDEX);
        Path single = folder.resolve(SINGLE);
        Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        if (Files.isRegularFile(index)) {
            JsonNode root;
            try {
                root = Json.MAPPER.readTree(index.toFile());
            } catch (IOException e) {
                throw new UserException(index + ": " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j
                        ? Json.describe(j) : "cannot read: " + io.softprompt.util.AtomicFiles.reason(e)));
            }
            JsonNode map = root == null ? null : root.get("weight_map");
            if (map == null || !map.isObject()) {
                throw new UserException(index + ": no 'weight_map' object");
            }
            Map<String, SafetensorsFile> shards = new HashMap<>();
            var it = map.fields();
            while (it.hasNext()) {
                var e = it.next();
                String shard = e.getValue().asText();
                if (shard.contains("/") || shard.contains("\\")) {
                    throw new UserException(index + ": shard name '" + shard + "' must be a plain file name");
                }
                SafetensorsFile f = shards.computeIfAbsent(shard, s -> SafetensorsFile.open(folder.resolve(s)));
                if (!f.contains(e.getKey())) {
                    throw new UserException(index + ": tensor '" + e.getKey() + "' is listed in " + shard
                            + " but that file does not hold it");
                }
                byTensor.put(e.getKey(), f);
            }
        } else if (Files.isRegularFile(single)) {
            SafetensorsFile f = SafetensorsFile.open(single);
            for (String name : f.names()) {
                byTensor.put(name, f);
            }
        } else if (Files.isRegularFile(folder.resolve(TORCH_INDEX))) {
            torchShards(folder, byTensor);
        } else if (Files.isRegularFile(folder.resolve(TORCH))) {
            SafetensorsFile f = TorchArchive.read(folder.resolve(TORCH)); // read as data, never unpickled as code
            for (String name : f.names()) {
                byTensor.put(name, f);
            }
        } else {
            throw new UserException(folder + ": no weights (" + SINGLE + ", " + INDEX + ", " + TORCH + " or " + TORCH_INDEX + ")");
        }
        return new WeightStore(folder, byTensor, DataType.FLOAT32);
    }

    /** The shards of a sharded PyTorch checkpoint, each read whole as it is needed by the index. */
    private static void torchShards(Path folder, Map<String, SafetensorsFile> byTensor) {
        Path index = folder.resolve(TORCH_INDEX);
        JsonNode map = Json.readTree(index).get("weight_map");
        if (map == null || !map.isObject()) {
            throw new UserException(index + ": no 'weight_map' object");
        }
        Map<String, SafetensorsFile> shards = new HashMap<>();
        for (var it = map.fields(); it.hasNext(); ) {
            var e = it.next();
            String shard = e.getValue().asText();
            if (shard.contains("/") || shard.contains("\\") || shard.startsWith(".")) {
                throw new UserException(index + ": shard name " + UserException.quote(shard) + " must be a plain file name");
            }
            SafetensorsFile f = shards.computeIfAbsent(shard, x -> TorchArchive.read(folder.resolve(x)));
            if (!f.contains(e.getKey())) {
                throw new UserException(index + ": tensor " + UserException.quote(e.getKey()) + " is listed in " + shard
                        + " but that file does not hold it");
            }
            byTensor.put(e.getKey(), f);
        }
    }

    public Set<String> names() {
        return byTensor.keySet();
    }

    public boolean has(String name) {
        return byTensor.containsKey(name);
    }

    /** Loads a tensor as the store's dtype and checks its shape; the error names the tensor and both shapes. */
    public NDArray load(String name, NDManager manager, long... expectedShape) {
        return load(name, manager, dtype, expectedShape);
    }

    /** Loads a tensor as float32 whatever the store's dtype (embedding tables). */
    public NDArray loadFloat32(String name, NDManager manager, long... expectedShape) {
        return load(name, manager, DataType.FLOAT32, expectedShape);
    }

    private NDArray load(String name, NDManager manager, DataType type, long... expectedShape) {
        SafetensorsFile f = byTensor.get(name);
        if (f == null) {
            throw new UserException(folder + ": missing tensor '" + name + "'");
        }
        long[] shape = f.info(name).shape();
        if (expectedShape.length > 0 && !Arrays.equals(shape, expectedShape)) {
            throw new UserException(f.path() + ": tensor '" + name + "' has shape " + Arrays.toString(shape)
                    + " but config.json implies " + Arrays.toString(expectedShape));
        }
        NDArray a = f.toNDArray(name, manager, type);
        a.setName(name);
        if (!finite(a)) {
            a.close();
            throw new UserException(f.path() + ": tensor " + UserException.quote(name) + " holds non-finite values (NaN or "
                    + "Inf): the model's weights are damaged, whatever prompt is used");
        }
        return a;
    }

    /** Whether every value is finite (checked once at load, so a damaged checkpoint is never blamed on a prompt). */
    private static boolean finite(NDArray a) {
        if (a.size() == 0 || !a.getDataType().isFloating()) {
            return true;
        }
        try (NDArray nan = a.isNaN(); NDArray inf = a.isInfinite(); NDArray bad = nan.logicalOr(inf);
             NDArray any = bad.any()) {
            return !any.getBoolean();
        }
    }

    /** Loads the first of several candidate names that exists (checkpoints differ in prefixes). */
    public NDArray loadAny(NDManager manager, long[] expectedShape, String... candidates) {
        return loadAny(manager, dtype, expectedShape, candidates);
    }

    /** As {@link #loadAny(NDManager, long[], String...)}, as float32 (embedding tables). */
    public NDArray loadAnyFloat32(NDManager manager, long[] expectedShape, String... candidates) {
        return loadAny(manager, DataType.FLOAT32, expectedShape, candidates);
    }

    private NDArray loadAny(NDManager manager, DataType type, long[] expectedShape, String... candidates) {
        for (String c : candidates) {
            if (has(c)) {
                return load(c, manager, type, expectedShape);
            }
        }
        throw new UserException(folder + ": missing tensor '" + candidates[0] + "'");
    }

    public boolean hasAny(String... candidates) {
        for (String c : candidates) {
            if (has(c)) {
                return true;
            }
        }
        return false;
    }
}
