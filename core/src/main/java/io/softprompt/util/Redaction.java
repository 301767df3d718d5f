package io.softprompt.util;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The one rule by which a secret never reaches a message. Every secret the process holds (an access
 * token from HF_TOKEN, a server's bearer token) is registered here where it is read; every text bound
 * for a person — a {@link UserException}'s message, a quoted value, the log, a {@code --verbose} stack
 * trace, an HTTP error body — passes {@link #apply}, which puts {@link #MASK} where a secret stood.
 *
 * <p>The other half of the rule is a habit, not a filter: a file's bytes are never put into a message.
 * Readers of files a user points at (JSON, safetensors, tokenizers) say what kind of fault they met and
 * where ({@link Json#describe}), never the library's message, which quotes what it read.
 */
public final class Redaction {
    /** What a message shows instead of a secret. */
    public static final String MASK = "[redacted]";
    /** Values shorter than this are not treated as secrets: masking "a" everywhere would garble messages. */
    static final int MIN_LENGTH = 4;
    private static final Set<String> SECRETS = ConcurrentHashMap.newKeySet();

    private Redaction() {}

    /**
     * Registers a value no message may show (null or shorter than {@link #MIN_LENGTH}: nothing). Its
     * stripped form is registered too, as headers carry it.
     *
     * @param value the secret
     * @return the value, for use in an assignment
     */
    public static String secret(String value) {
        if (value != null) {
            for (String v : new String[] {value, value.strip()}) {
                if (v.length() >= MIN_LENGTH) {
                    SECRETS.add(v);
                }
            }
        }
        return value;
    }

    /** The text with every registered secret replaced by {@link #MASK}. */
    public static String apply(String text) {
        if (text == null || SECRETS.isEmpty()) {
            return text;
        }
        String out = text;
        for (int round = 0; round < 8; round++) { // a mask beside a secret's tail can spell it anew
            boolean found = false;
            for (String s : SECRETS) {
                if (out.contains(s)) {
                    out = out.replace(s, MASK);
                    found = true;
                }
            }
            if (!found) {
                return out;
            }
        }
        return MASK;
    }

    /** Forgets a secret (tests: each try's secret must not mask the next test's text). */
    static void forget(String value) {
        SECRETS.remove(value);
        SECRETS.remove(value.strip());
    }

    /** A throwable's stack trace (messages, causes and all) as {@link #apply} leaves it. */
    public static String stackTrace(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        return apply(w.toString());
    }

    /** {@code t.toString()} as {@link #apply} leaves it. */
    public static String describe(Throwable t) {
        return apply(String.valueOf(t));
    }
}
