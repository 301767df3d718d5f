package io.softprompt.cli;

import java.io.IOException;
import org.jline.terminal.spi.SystemStream;
import org.jline.terminal.spi.TerminalProvider;

/**
 * Whether standard error is a terminal (progress may redraw one line) and how wide it is; otherwise
 * (CI, a pipe, a file) progress prints plain lines. Asked of JLine's terminal provider, which knows
 * each stream separately (the JDK's System.console() only says whether stdin and stdout both are).
 */
final class Terminal {
    /** Width assumed when the terminal does not say. */
    static final int DEFAULT_WIDTH = 80;
    private static volatile Boolean interactive;
    private static volatile TerminalProvider provider;

    private Terminal() {}

    static boolean isInteractive() {
        if ("true".equals(System.getenv("CI")) || System.getProperty("softprompt.plain") != null) {
            return false;
        }
        if (interactive == null) {
            TerminalProvider p = provider();
            interactive = p != null && p.isSystemStream(SystemStream.Error);
        }
        return interactive;
    }

    /** Columns of the terminal on standard error; $COLUMNS or 80 when it cannot be told. */
    static int width() {
        TerminalProvider p = isInteractive() ? provider() : null;
        int w = 0;
        if (p != null) {
            try {
                w = p.systemStreamWidth(SystemStream.Error);
            } catch (RuntimeException e) {
                w = 0;
            }
        }
        if (w <= 0) {
            try {
                w = Integer.parseInt(System.getenv().getOrDefault("COLUMNS", "0").trim());
            } catch (NumberFormatException e) {
                w = 0;
            }
        }
        return w > 0 ? w : DEFAULT_WIDTH;
    }

    private static TerminalProvider provider() {
        if (provider == null) {
            try {
                provider = TerminalProvider.load("exec");
            } catch (IOException | RuntimeException | LinkageError e) {
                return null;
            }
        }
        return provider;
    }

    /**
     * text wrapped at word boundaries so that no line reaches {@code width} columns (the last column
     * would wrap on some terminals); continuation lines are indented by two spaces; a word longer than
     * a line is cut. Lines joined by '\n'; text that fits is returned as it is.
     */
    static String wrap(String text, int width) {
        int room = Math.max(10, width - 1);
        if (text.length() <= room) {
            return text;
        }
        StringBuilder out = new StringBuilder();
        StringBuilder line = new StringBuilder();
        for (String word : text.split(" ", -1)) {
            // the room on the line being filled: the first line has it all, the others lose the indent
            if (line.length() > 0 && line.length() + 1 + word.length() > (out.length() == 0 ? room : room - 2)) {
                out.append(out.length() == 0 ? "" : "\n  ").append(line);
                line.setLength(0);
            }
            while (line.length() == 0 && word.length() > (out.length() == 0 ? room : room - 2)) { // longer than a line: cut
                int limit = out.length() == 0 ? room : room - 2;
                out.append(out.length() == 0 ? "" : "\n  ").append(word, 0, limit);
                word = word.substring(limit);
            }
            if (line.length() > 0) {
                line.append(' ');
            }
            line.append(word);
        }
        if (line.length() > 0) {
            out.append(out.length() == 0 ? "" : "\n  ").append(line);
        }
        return out.toString();
    }

}
