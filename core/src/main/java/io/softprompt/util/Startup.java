package io.softprompt.util;

import java.util.Locale;

/**
 * Where a command's start-up time goes: with {@code -Dsoftprompt.trace.startup=true} each {@link #mark}
 * prints "startup NAME MS" to standard error, MS the wall clock in milliseconds since the epoch;
 * scripts/bench-start.sh subtracts the time it launched the command. Without the property a mark
 * costs one boolean test.
 */
public final class Startup {
    private static final boolean ON = Boolean.getBoolean("softprompt.trace.startup");

    private Startup() {}

    /**
     * Marks that a phase of start-up has ended.
     *
     * @param phase what just finished (one word)
     */
    public static void mark(String phase) {
        if (ON) {
            System.err.printf(Locale.ROOT, "startup %s %d%n", phase, System.currentTimeMillis());
        }
    }
}
