package io.softprompt.cli;

/** Whether progress may redraw one line (a terminal) or must print plain lines (CI, pipes). */
final class Terminal {
    private Terminal() {}

    static boolean isInteractive() {
        if ("true".equals(System.getenv("CI")) || System.getProperty("softprompt.plain") != null) {
            return false;
        }
        return System.console() != null;
    }

    static String duration(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) {
            return "?";
        }
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format("%d:%02d", s / 60, s % 60);
    }
}
