package io.softprompt.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.softprompt.prompt.PromptInit;
import io.softprompt.util.Json;
import io.softprompt.util.Keys;
import io.softprompt.util.UserException;
import java.lang.reflect.RecordComponent;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Training keys set over a config from JSON (a --config file, a sweep's base or grid point, the
 * command line's flags): unknown keys and values of the wrong type are refused naming the key.
 */
final class ConfigOverlay {
    private ConfigOverlay() {}

    /** Hugging Face's and PEFT's names for training keys, from the keys' declared flag aliases. */
    static final Map<String, String> ALIASES = Keys.jsonAliases(TrainConfig.class);

    /**
     * Config values as the user writes them: no coercion between strings and numbers, no fractions
     * for whole numbers, no null for a number that must be there, no unknown key.
     */
    private static final ObjectMapper VALUES = JsonMapper.builder()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true)
            .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, true)
            .configure(DeserializationFeature.ACCEPT_FLOAT_AS_INT, false)
            .configure(MapperFeature.ALLOW_COERCION_OF_SCALARS, false)
            .build();

    static TrainConfig overlay(TrainConfig base, JsonNode json, String source) {
        if (json == null || !json.isObject()) {
            throw new UserException(source + ": must hold a JSON object of training keys and values");
        }
        ObjectNode merged = Json.MAPPER.valueToTree(base);
        Set<String> known = TrainConfig.keys();
        for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals(TrainConfig.DESCRIPTION)) {
                continue; // what the file is for, in words
            }
            String key = ALIASES.getOrDefault(e.getKey(), e.getKey()); // learning_rate, max_steps, ... as PEFT users write them
            if (!known.contains(key)) {
                Set<String> names = new TreeSet<>(known);
                names.addAll(ALIASES.keySet());
                String near = Keys.closest(e.getKey(), names);
                throw new UserException(source + ": unknown key " + UserException.quote(e.getKey()) + (near != null
                        ? "; did you mean '" + ALIASES.getOrDefault(near, near) + "'?" : " (known: " + String.join(", ", new TreeSet<>(known)) + ")"));
            }
            if (!key.equals(e.getKey()) && json.has(key)) {
                throw new UserException(source + ": both '" + key + "' and its alias '" + e.getKey() + "' are set");
            }
            merged.set(key, e.getValue());
            e = Map.entry(key, e.getValue());
            try {
                VALUES.treeToValue(merged, TrainConfig.class);
            } catch (JsonProcessingException | IllegalArgumentException ex) {
                throw new UserException(source + ": key '" + e.getKey() + "' must be " + expected(e.getKey())
                        + " (got " + shown(e.getValue()) + ")");
            }
        }
        // a layer that names a source prompt and no init means transfer: an earlier layer's init
        // (a recipe's "init": "random") gives way, as any key a later layer sets does
        JsonNode from = json.get("init_from");
        if (from != null && !from.isNull() && !json.has("init")) {
            merged.put("init", PromptInit.TRANSFER.id());
        }
        try {
            return VALUES.treeToValue(merged, TrainConfig.class);
        } catch (JsonProcessingException e) {
            throw new UserException(source + ": " + Json.describe(e));
        }
    }

    /** A JSON value in a message: as JSON, cut to a sane length. */
    private static String shown(JsonNode v) {
        String s = v.toString();
        return s.length() <= UserException.MAX_QUOTED ? s : s.substring(0, UserException.MAX_QUOTED) + "…";
    }

    /** What a key's value must be, in words, from its component's type. */
    static String expected(String key) {
        for (RecordComponent c : TrainConfig.declarations()) {
            if (TrainConfig.key(c).equals(key)) {
                Class<?> t = c.getType();
                return t == int.class || t == Integer.class || t == long.class || t == Long.class ? "a whole number"
                        : t == double.class || t == Double.class ? "a number" : t == boolean.class ? "true or false"
                        : "a string";
            }
        }
        return "a valid value";
    }
}
