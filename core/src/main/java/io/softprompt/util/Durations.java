package io.softprompt.util;

import java.util.Locale;

/** Durations as people read them on a console: m:ss, or h:mm:ss from an hour on. */
public final class Durations {
    private Durations() {}

    /**
     * seconds as m:ss or h:mm:ss; "?" when unknown (not finite, negative).
     *
     * @param seconds the duration
     * @return its clock form
     */
    public static String clock(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) {
            return "?";
        }
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
