package io.softprompt.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A Hugging Face model folder: config.json, safetensors weights, tokenizer.json. */
public record ModelFolder(Path path, JsonNode config, String modelType) {
    public static ModelFolder open(Path path) {
        if (!Files.isDirectory(path)) {
            throw new UserException(path + ": model folder not found");
        }
        Path cfg = path.resolve("config.json");
        if (!Files.isRegularFile(cfg)) {
            throw new UserException(cfg + ": file not found (a Hugging Face model folder needs config.json)");
        }
        JsonNode node;
        try {
            node = Json.MAPPER.readTree(cfg.toFile());
        } catch (IOException e) {
            throw new UserException(cfg + ": not valid JSON: " + e.getMessage().split("\n")[0]);
        }
        if (!(node instanceof ObjectNode)) {
            throw new UserException(cfg + ": expected a JSON object");
        }
        JsonNode type = node.get("model_type");
        if (type == null || !type.isTextual()) {
            throw new UserException(cfg + ": no 'model_type' key");
        }
        return new ModelFolder(path, node, type.asText());
    }

    /** Binds config.json to an architecture's config record; a wrong type names the key. */
    public <T> T bind(Class<T> type) {
        try {
            return Json.MAPPER.treeToValue(config, type);
        } catch (MismatchedInputException e) {
            String key = e.getPath().isEmpty() ? "?" : e.getPath().get(0).getFieldName();
            throw new UserException(configFile() + ": key '" + key + "' has a wrong type: "
                    + e.getOriginalMessage().split("\n")[0]);
        } catch (IOException e) {
            throw new UserException(configFile() + ": " + e.getMessage().split("\n")[0]);
        }
    }

    public Path configFile() {
        return path.resolve("config.json");
    }

    public Path tokenizerFile() {
        return path.resolve("tokenizer.json");
    }

    public WeightStore weights() {
        return WeightStore.open(path);
    }
}
