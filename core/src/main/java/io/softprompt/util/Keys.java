package io.softprompt.util;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.lang.reflect.RecordComponent;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What the {@link Key} declarations of a settings record give: its keys (each component's JSON name)
 * in order, and its defaults, each key's declared default parsed as its component's type and passed
 * through the canonical constructor (so the record's own checks run on them).
 */
public final class Keys {
    private Keys() {}

    /**
     * The declarations: every key's component (name, type, {@link Key}), in order.
     *
     * @param type the settings record
     * @return its components
     */
    public static List<RecordComponent> declarations(Class<? extends Record> type) {
        return List.of(type.getRecordComponents());
    }

    /**
     * A component's key: its JSON name.
     *
     * @param c a component
     * @return its key
     */
    public static String key(RecordComponent c) {
        return c.getAccessor().getAnnotation(JsonProperty.class).value();
    }

    /**
     * The keys of a settings record, in order.
     *
     * @param type the settings record
     * @return its keys
     */
    public static Set<String> keys(Class<? extends Record> type) {
        Set<String> keys = new LinkedHashSet<>();
        for (RecordComponent c : declarations(type)) {
            keys.add(key(c));
        }
        return keys;
    }

    /**
     * The record of {@code type} holding every key's declared default.
     *
     * @param type the settings record
     * @param <R> its type
     * @return the defaults
     */
    public static <R extends Record> R defaults(Class<R> type) {
        RecordComponent[] cs = type.getRecordComponents();
        Object[] args = new Object[cs.length];
        Class<?>[] types = new Class<?>[cs.length];
        for (int i = 0; i < cs.length; i++) {
            types[i] = cs[i].getType();
            args[i] = parse(cs[i].getAnnotation(Key.class).value(), cs[i].getType());
        }
        try {
            return type.getDeclaredConstructor(types).newInstance(args);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(type.getSimpleName() + "'s declarations: " + e, e);
        }
    }

    /** A declared default as its type: empty is null (0 or false for a primitive, an empty list for a list). */
    private static Object parse(String text, Class<?> type) {
        if (text.isEmpty() && type == List.class) {
            return List.of();
        }
        if (text.isEmpty()) {
            return type == int.class || type == long.class || type == double.class ? 0 : type == boolean.class ? false : null;
        }
        if (type == int.class || type == Integer.class) {
            return Integer.valueOf(text);
        }
        if (type == long.class || type == Long.class) {
            return Long.valueOf(text);
        }
        if (type == double.class || type == Double.class) {
            return Double.valueOf(text);
        }
        if (type == boolean.class || type == Boolean.class) {
            return Boolean.valueOf(text);
        }
        return text;
    }
}
