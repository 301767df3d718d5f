package io.softprompt.util;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
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
        try {
            return mapper.readValue(file.toFile(), type);
        } catch (UnrecognizedPropertyException e) {
            throw new UserException(file + ": unknown key '" + e.getPropertyName() + "'"
                    + location(e) + " (known: " + e.getKnownPropertyIds() + ")");
        } catch (InvalidFormatException e) {
            throw new UserException(file + ": key '" + path(e) + "' has a wrong type or value"
                    + location(e) + ": " + e.getOriginalMessage().split("\n")[0]);
        } catch (MismatchedInputException e) {
            throw new UserException(file + ": key '" + path(e) + "' has a wrong type or is missing"
                    + location(e) + ": " + e.getOriginalMessage().split("\n")[0]);
        } catch (JsonProcessingException e) {
            throw new UserException(file + ": not valid JSON" + location(e) + ": "
                    + e.getOriginalMessage().split("\n")[0]);
        } catch (FileNotFoundException | NoSuchFileException e) {
            throw new UserException(file + ": file not found");
        } catch (IOException e) {
            throw new UserException(file + ": cannot read: " + e.getMessage());
        }
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
        return "?";
    }

    private static String location(JsonProcessingException e) {
        var loc = e.getLocation();
        return loc == null ? "" : " (line " + loc.getLineNr() + ")";
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
