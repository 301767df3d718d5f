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

    /**
     * The other names a record's keys answer to in JSON: each flag alias of the form {@code --x-y} as
     * {@code x_y} (Hugging Face's and PEFT's spellings: {@code learning_rate} for {@code lr}).
     *
     * @param record a settings record
     * @return alias → key
     */
    public static java.util.Map<String, String> jsonAliases(Class<? extends Record> record) {
        java.util.Map<String, String> out = new java.util.TreeMap<>();
        for (java.lang.reflect.RecordComponent c : declarations(record)) {
            for (String a : c.getAnnotation(Key.class).aliases()) {
                if (a.startsWith("--")) {
                    out.put(a.substring(2).replace('-', '_'), key(c));
                }
            }
        }
        return out;
    }

    /**
     * The known name closest to {@code name}, when one is close enough to be a typo or another tool's
     * spelling (at most a third of its letters edited, or one contains the other), else null.
     *
     * @param name the unknown name
     * @param known the names it could have meant
     * @return the suggestion, or null
     */
    public static String closest(String name, java.util.Collection<String> known) {
        String best = null;
        int bestD = Integer.MAX_VALUE;
        String n = name.toLowerCase(java.util.Locale.ROOT).replace('-', '_');
        for (String k : known) {
            int d = n.contains(k) || k.contains(n) ? Math.abs(n.length() - k.length()) / 2 : distance(n, k);
            if (d < bestD) {
                bestD = d;
                best = k;
            }
        }
        return best != null && bestD <= Math.max(1, n.length() / 3) ? best : null;
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(Math.min(cur[j - 1], prev[j]) + 1, prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
