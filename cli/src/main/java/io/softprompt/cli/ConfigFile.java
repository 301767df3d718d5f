package io.softprompt.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * {@code --config FILE.json}: a JSON object whose keys are a command's long flags without the dashes,
 * '-' written as '_' ({@code "batch_size": 8} is {@code --batch-size 8}); the command checks the keys
 * and their types ({@link io.softprompt.train.TrainConfig#overlay}), naming the key in every error.
 */
final class ConfigFile {
    private ConfigFile() {}

    /** The file's JSON object; a missing file, unreadable or invalid JSON is a one-line error naming it. */
    static JsonNode read(Path file) {
        try {
            JsonNode root = Json.MAPPER.readTree(Files.readString(file));
            if (root == null || !root.isObject()) {
                throw new UserException(file + ": must hold a JSON object of flag names and values");
            }
            return root;
        } catch (JsonProcessingException e) {
            throw new UserException(file + ": " + Json.describe(e));
        } catch (NoSuchFileException e) {
            throw new UserException("--config " + file + ": file not found");
        } catch (IOException e) {
            throw new UserException("--config " + file + ": cannot read: " + AtomicFiles.reason(e));
        }
    }
}
