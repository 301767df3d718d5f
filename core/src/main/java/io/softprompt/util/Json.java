package io.softprompt.util;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** One shared Jackson mapper, and JSON file reading with one-line errors naming the file. */
public final class Json {
    /** Lenient about unknown keys: config.json files carry many keys we do not use. */
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .configure(SerializationFeature.INDENT_OUTPUT, false);
    /** Strict: for files the user writes for us (tasks), where a typo must not pass silently. */
    public static final ObjectMapper STRICT = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);

    private Json() {}

    public static <T> T read(Path file, Class<T> type) {
        return read(MAPPER, file, type);
    }

    public static <T> T read(ObjectMapper mapper, Path file, Class<T> type) {
        T value = parsed(file, () -> mapper.readValue(file.toFile(), type));
        if (value == null) {
            throw new UserException(file + ": holds the JSON null, not a JSON object");
        }
        return value;
    }

    /** A JSON file as a tree, with the same one-line errors as {@link #read} (quoting none of its bytes). */
    public static JsonNode readTree(Path file) {
        JsonNode node = parsed(file, () -> MAPPER.readTree(file.toFile()));
        if (node == null || node.isMissingNode()) {
            throw new UserException(file + ": empty, not a JSON document");
        }
        return node;
    }

    /** What a file read by Jackson yields, or the one-line error naming the file (its fault, never its bytes). */
    private interface Parse<T> {
        T run() throws IOException;
    }

    private static <T> T parsed(Path file, Parse<T> parse) {
        try {
            return parse.run();
        } catch (UnrecognizedPropertyException e) {
            throw new UserException(file + ": unknown key " + UserException.quote(e.getPropertyName())
                    + location(e) + " (known: " + e.getKnownPropertyIds() + ")");
        } catch (JsonProcessingException e) {
            throw new UserException(file + ": " + describe(e));
        } catch (FileNotFoundException | NoSuchFileException e) {
            throw new UserException(file + ": file not found");
        } catch (IOException e) {
            throw new UserException(file + ": cannot read: " + AtomicFiles.reason(e));
        }
    }

    /**
     * What is wrong with a JSON document, in a line that quotes none of its bytes (a binary file or
     * another program's file passed by mistake must not be echoed): the kind of fault, the key's path
     * where there is one, and the line.
     */
    public static String describe(JsonProcessingException e) {
        if (e instanceof UnrecognizedPropertyException u) {
            return "unknown key " + UserException.quote(u.getPropertyName()) + location(e);
        }
        if (e instanceof InvalidFormatException f) {
            return "key " + UserException.quote(path(e)) + " has a wrong value" + location(e) + " (expected " + typeName(f.getTargetType()) + ")";
        }
        if (e instanceof MismatchedInputException m) {
            String p = path(e);
            if (p.isEmpty()) {
                return "not the expected JSON" + location(e) + (m.getTargetType() == null ? ""
                        : " (expected " + typeName(m.getTargetType()) + ")");
            }
            return "key " + UserException.quote(p) + " has a wrong type or is missing" + location(e)
                    + (m.getTargetType() == null ? "" : " (expected " + typeName(m.getTargetType()) + ")");
        }
        if (e instanceof StreamConstraintsException) {
            return "JSON nested or sized beyond reason" + location(e);
        }
        return "not valid JSON" + location(e);
    }

    private static String typeName(Class<?> c) {
        if (c == null) {
            return "a value";
        }
        if (c == String.class) {
            return "a string";
        }
        if (c == Integer.class || c == int.class || c == Long.class || c == long.class) {
            return "a whole number";
        }
        if (c == Double.class || c == double.class || c == Float.class || c == float.class) {
            return "a number";
        }
        if (c == Boolean.class || c == boolean.class) {
            return "true or false";
        }
        if (java.util.Map.class.isAssignableFrom(c) || c.isRecord()) {
            return "a JSON object";
        }
        if (java.util.Collection.class.isAssignableFrom(c) || c.isArray()) {
            return "a JSON list";
        }
        return "a " + c.getSimpleName();
    }

    private static String path(JsonProcessingException e) {
        if (e instanceof MismatchedInputException m) {
            StringBuilder sb = new StringBuilder();
            for (var ref : m.getPath()) {
                if (ref.getFieldName() != null) {
                    if (sb.length() > 0) {
                        sb.append('.');
                    }
                    sb.append(ref.getFieldName());
                } else if (ref.getIndex() >= 0) {
                    sb.append('[').append(ref.getIndex()).append(']');
                }
            }
            return sb.toString();
        }
        return "";
    }

    private static String location(JsonProcessingException e) {
        var loc = e.getLocation();
        return loc == null || loc.getLineNr() < 1 ? "" : " (line " + loc.getLineNr() + ")";
    }

    public static String pretty(Object value) {
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
