package io.softprompt.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.safetensors.SafetensorsFile;
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
 * {@code model.safetensors.index.json} ({"weight_map": {tensor: shard file}}). Tensors are loaded one
 * at a time, checked against the shape the architecture expects, and converted to float32.
 */
public final class WeightStore {
    public static final String SINGLE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";

    private final Path folder;
    private final Map<String, SafetensorsFile> byTensor;

    private WeightStore(Path folder, Map<String, SafetensorsFile> byTensor) {
        this.folder = folder;
        this.byTensor = byTensor;
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
                throw new UserException(index + ": not valid JSON: " + e.getMessage().split("\n")[0]);
            }
            JsonNode map = root.get("weight_map");
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
        } else {
            throw new UserException(folder + ": no " + SINGLE + " or " + INDEX
                    + " (only safetensors weights are supported; no pytorch_model.bin)");
        }
        return new WeightStore(folder, byTensor);
    }

    public Set<String> names() {
        return byTensor.keySet();
    }

    public boolean has(String name) {
        return byTensor.containsKey(name);
    }

    /** Loads a tensor as float32 and checks its shape; the error names the tensor and both shapes. */
    public NDArray load(String name, NDManager manager, long... expectedShape) {
        SafetensorsFile f = byTensor.get(name);
        if (f == null) {
            throw new UserException(folder + ": missing tensor '" + name + "'");
        }
        long[] shape = f.info(name).shape();
        if (expectedShape.length > 0 && !Arrays.equals(shape, expectedShape)) {
            throw new UserException(f.path() + ": tensor '" + name + "' has shape " + Arrays.toString(shape)
                    + " but config.json implies " + Arrays.toString(expectedShape));
        }
        NDArray a = f.toNDArray(name, manager);
        a.setName(name);
        return a;
    }

    /** Loads the first of several candidate names that exists (checkpoints differ in prefixes). */
    public NDArray loadAny(NDManager manager, long[] expectedShape, String... candidates) {
        for (String c : candidates) {
            if (has(c)) {
                return load(c, manager, expectedShape);
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
