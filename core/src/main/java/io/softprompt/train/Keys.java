package io.softprompt.train;

import java.lang.reflect.RecordComponent;

/**
 * What the {@link Key} declarations of a record give: its defaults, each key's declared default parsed
 * as its component's type and passed through the canonical constructor (so the record's own checks
 * run on them).
 */
final class Keys {
    private Keys() {}

    /** The record of {@code type} holding every key's declared default. */
    static <R extends Record> R defaults(Class<R> type) {
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

    /** A declared default as its type: empty is null (0 or false for a primitive). */
    private static Object parse(String text, Class<?> type) {
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
