package io.softprompt.util;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Resident memory of this process from /proc (Linux); -1 elsewhere. */
public final class Rss {
    private Rss() {}

    /** Peak resident set size in MB (VmHWM). */
    public static double peakMb() {
        return field("VmHWM:");
    }

    /** Current resident set size in MB (VmRSS). */
    public static double currentMb() {
        return field("VmRSS:");
    }

    private static double field(String name) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(name)) {
                    String[] parts = line.substring(name.length()).trim().split("\\s+");
                    return Long.parseLong(parts[0]) / 1024.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
