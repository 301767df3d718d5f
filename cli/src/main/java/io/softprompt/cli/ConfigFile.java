package io.softprompt.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * {@code --config FILE.json}: a JSON object whose keys are a command's long flags without the dashes,
 * '-' written as '_' ({@code "batch_size": 8} is {@code --batch-size 8}). Flags given on the command
 * line win. Values are checked against each option's type here, with the key named in the error, so a
 * config file fails as precisely as a command line.
 */
final class ConfigFile {
    private ConfigFile() {}

    /** Sets every option named in the file that the command line did not set. */
    static void apply(CommandSpec spec, ParseResult parsed, Path file, Set<String> excluded) {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(Files.readString(file));
        } catch (JsonProcessingException e) {
            throw new UserException(file + ": not valid JSON (line " + e.getLocation().getLineNr() + "): "
                    + e.getOriginalMessage().split("\n")[0]);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new UserException("--config " + file + ": file not found");
        } catch (IOException e) {
            throw new UserException("--config " + file + ": cannot read: " + e.getMessage());
        }
        apply(spec, parsed, file.toString(), root, excluded);
    }

    /** As {@link #apply(CommandSpec, ParseResult, Path, Set)} for JSON already read; errors name {@code source}. */
    static void apply(CommandSpec spec, ParseResult parsed, String source, JsonNode root, Set<String> excluded) {
        if (root == null || !root.isObject()) {
            throw new UserException(source + ": must hold a JSON object of flag names and values");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            OptionSpec o = option(spec, key, excluded);
            if (o == null) {
                throw new UserException(source + ": unknown key '" + key + "' (known: " + known(spec, excluded) + ")");
            }
            if (parsed.hasMatchedOption(o)) {
                continue; // the command line wins
            }
            o.setValue(convert(source, key, e.getValue(), o));
        }
    }

    /** The option a key names, or null. */
    static OptionSpec option(CommandSpec spec, String key, Set<String> excluded) {
        if (excluded.contains(key) || key.startsWith("debug")) {
            return null;
        }
        return spec.findOption("--" + key.replace('_', '-'));
    }

    static String known(CommandSpec spec, Set<String> excluded) {
        Set<String> keys = new TreeSet<>();
        for (OptionSpec o : spec.options()) {
            String k = o.longestName().replaceFirst("^--?", "").replace('-', '_');
            if (option(spec, k, excluded) == o) {
                keys.add(k);
            }
        }
        return String.join(", ", keys);
    }

    private static Object convert(String file, String key, JsonNode v, OptionSpec o) {
        Class<?> type = o.type();
        if (v.isNull()) {
            if (type.isPrimitive()) {
                throw new UserException(file + ": key '" + key + "' cannot be null");
            }
            return null;
        }
        if (type == int.class || type == Integer.class) {
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw wrong(file, key, "a whole number", v);
            }
            return v.intValue();
        }
        if (type == long.class || type == Long.class) {
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw wrong(file, key, "a whole number", v);
            }
            return v.longValue();
        }
        if (type == double.class || type == Double.class) {
            if (!v.isNumber()) {
                throw wrong(file, key, "a number", v);
            }
            return v.doubleValue();
        }
        if (type == boolean.class || type == Boolean.class) {
            if (!v.isBoolean()) {
                throw wrong(file, key, "true or false", v);
            }
            return v.booleanValue();
        }
        if (type == String.class) {
            if (!v.isTextual()) {
                throw wrong(file, key, "a string", v);
            }
            return v.textValue();
        }
        if (type == Path.class) {
            if (!v.isTextual()) {
                throw wrong(file, key, "a path (string)", v);
            }
            return Path.of(v.textValue());
        }
        if (List.class.isAssignableFrom(type)) {
            if (!v.isArray()) {
                throw wrong(file, key, "a list of strings", v);
            }
            List<String> out = new ArrayList<>();
            for (JsonNode x : v) {
                if (!x.isTextual()) {
                    throw wrong(file, key, "a list of strings", v);
                }
                out.add(x.textValue());
            }
            return out;
        }
        throw new UserException(file + ": key '" + key + "' cannot be set from a config file");
    }

    private static UserException wrong(String file, String key, String expected, JsonNode got) {
        return new UserException(file + ": key '" + key + "' must be " + expected + " (got " + got + ")");
    }
}
