package io.softprompt.model;

import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/** A Hugging Face model folder: config.json, safetensors weights, tokenizer.json. */
public record ModelFolder(Path path, JsonNode config, String modelType, DataType dtype) {
    public static ModelFolder open(Path path) {
        if (!Files.isDirectory(path)) {
            throw new UserException(path + ": model folder not found");
        }
        Path cfg = path.resolve("config.json");
        if (!Files.isRegularFile(cfg)) {
            throw new UserException(cfg + ": file not found (a Hugging Face model folder needs config.json)");
        }
        JsonNode node = Json.readTree(cfg);
        if (!(node instanceof ObjectNode)) {
            throw new UserException(cfg + ": expected a JSON object");
        }
        JsonNode type = node.get("model_type");
        if (type == null || !type.isTextual()) {
            throw new UserException(cfg + ": no 'model_type' key");
        }
        return new ModelFolder(path, node, type.asText(), DataType.FLOAT32);
    }

    /** Sizes that must be whole numbers of at least 1: a 0 would divide by zero or build empty layers. */
    private static final Set<String> POSITIVE = Set.of("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "n_inner",
            "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
            "max_position_embeddings", "d_model", "d_kv", "d_ff", "num_layers", "num_decoder_layers", "num_heads",
            "relative_attention_num_buckets", "relative_attention_max_distance", "type_vocab_size", "head_dim");
    /** Epsilons and bases that must be positive, finite numbers. */
    private static final Set<String> POSITIVE_REAL = Set.of("layer_norm_epsilon", "layer_norm_eps", "rms_norm_eps",
            "rope_theta");

    /**
     * Binds config.json to an architecture's config record; a wrong type names the key, and so does a
     * size below 1 or an epsilon that is not a positive number (one-line errors instead of a division
     * by zero deep in the model).
     */
    public <T> T bind(Class<T> type) {
        T bound = bindRaw(type);
        for (Field f : type.getDeclaredFields()) {
            JsonProperty p = f.getAnnotation(JsonProperty.class);
            if (p == null || (!POSITIVE.contains(p.value()) && !POSITIVE_REAL.contains(p.value()))) {
                continue;
            }
            Object v;
            try {
                f.setAccessible(true);
                v = f.get(bound);
            } catch (ReflectiveOperationException | RuntimeException e) {
                continue;
            }
            if (v instanceof Number n) {
                boolean ok = POSITIVE.contains(p.value()) ? n.longValue() >= 1 && n.doubleValue() == n.longValue()
                        : n.doubleValue() > 0 && Double.isFinite(n.doubleValue());
                if (!ok) {
                    throw new UserException(configFile() + ": '" + p.value() + "' must be a positive "
                            + (POSITIVE.contains(p.value()) ? "whole number" : "number") + " (got " + n + ")");
                }
            }
        }
        return bound;
    }

    private <T> T bindRaw(Class<T> type) {
        try {
            return Json.MAPPER.treeToValue(config, type);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) { // the fault and the key, never the file's bytes
            throw new UserException(configFile() + ": " + Json.describe(e));
        } catch (IOException e) {
            throw new UserException(configFile() + ": cannot read: " + io.softprompt.util.AtomicFiles.reason(e));
        }
    }

    public Path configFile() {
        return path.resolve("config.json");
    }

    public Path tokenizerFile() {
        return path.resolve("tokenizer.json");
    }

    /** The weights, loaded as {@link #dtype} (the frozen model's precision); embedding tables stay float32. */
    public WeightStore weights() {
        return WeightStore.open(path).as(dtype);
    }

    /** This folder with its weights loaded as dtype (FLOAT32, FLOAT16 or BFLOAT16). */
    public ModelFolder withDtype(DataType dtype) {
        return new ModelFolder(path, config, modelType, dtype);
    }
}
