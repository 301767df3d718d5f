package io.softprompt.util;

import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An error caused by the user's input (a flag, a file, a line), or a run that had to stop. The CLI
 * prints its message on one line and exits with {@link #exitCode()} ({@link #EXIT_CODE} for bad
 * input); no stack trace unless {@code --verbose}.
 *
 * <p>A message is one line of sane length whatever went into it: line breaks become spaces and a
 * message past {@link #MAX_LENGTH} characters is cut. Values taken from a user's file go through
 * {@link #quote} so that a megabyte template or a binary file's bytes never reach the terminal, and
 * every message passes {@link Redaction}: a registered secret is never shown.
 */
public class UserException extends RuntimeException {
    /**
     * How a message names a setting: {@code {{max_length}}}, the key. The library shows it as the key
     * ({@link #getMessage()}: "max_length"); the command line as its flag ({@link #message}: "--max-length").
     */
    private static final Pattern KEY = Pattern.compile("\\{\\{([a-z][a-z0-9_]*)}}");
    public static final int EXIT_CODE = 2;
    /** Training stopped on a non-finite loss or gradient; the last good files were kept. */
    public static final int EXIT_DIVERGED = 3;
    /** The longest message printed; past it the message is cut with an ellipsis. */
    public static final int MAX_LENGTH = 600;
    /** The longest value {@link #quote} shows. */
    public static final int MAX_QUOTED = 60;
    private static final long serialVersionUID = 1L;
    private final int exitCode;

    public UserException(String message) {
        this(message, EXIT_CODE);
    }

    public UserException(String message, int exitCode) {
        super(oneLine(message));
        this.exitCode = exitCode;
    }

    public UserException(String message, Throwable cause) {
        super(oneLine(message), cause);
        this.exitCode = EXIT_CODE;
    }

    public int exitCode() {
        return exitCode;
    }

    /** The message with each setting named by its key (the library's words). */
    @Override
    public String getMessage() {
        return message(key -> key);
    }

    /** The message with each setting named as {@code name} says (the command line: its flag). */
    public String message(Function<String, String> name) {
        String raw = raw();
        return raw == null ? null : oneLine(render(raw, name));
    }

    /**
     * Any text of the library's that names settings with {@link #key} (a message, a key's help), each
     * named as {@code name} says.
     *
     * @param text the text with its markers
     * @param name how a key is shown (the key itself, or a flag)
     * @return the text as shown
     */
    public static String render(String text, Function<String, String> name) {
        return KEY.matcher(text).replaceAll(m -> Matcher.quoteReplacement(name.apply(m.group(1))));
    }

    /** The message as written, key markers and all: for wrapping it in another message. */
    public String raw() {
        return super.getMessage();
    }

    /** A setting as messages name it: {@code key("max_length")} is shown "max_length" or "--max-length". */
    public static String key(String key) {
        return "{{" + key + "}}";
    }

    /** Line breaks as spaces, other control characters escaped, cut at {@link #MAX_LENGTH}. */
    static String oneLine(String message) {
        if (message == null) {
            return null;
        }
        String s = printable(Redaction.apply(message).replace("\r\n", " ").replace('\n', ' ').replace('\r', ' '));
        return s.length() <= MAX_LENGTH ? s : s.substring(0, MAX_LENGTH - 1) + "…";
    }

    /**
     * A value from a user's file or flag as a message shows it: in single quotes, control and
     * unprintable characters escaped as \\uXXXX, cut after {@link #MAX_QUOTED} characters with the
     * total length said.
     */
    public static String quote(String value) {
        if (value == null) {
            return "null";
        }
        value = Redaction.apply(value);
        String cut = value.length() <= MAX_QUOTED ? value : value.substring(0, MAX_QUOTED);
        String shown = "'" + printable(cut) + "'";
        return value.length() <= MAX_QUOTED ? shown : shown + "… (" + value.length() + " characters)";
    }

    static String printable(String s) {
        StringBuilder sb = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean bad = Character.isISOControl(c) || c == '\uFFFD' || Character.isSurrogate(c)
                    && !(Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))
                    || Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(s.charAt(i - 1)));
            if (bad && sb == null) {
                sb = new StringBuilder(s.length() + 16).append(s, 0, i);
            }
            if (sb != null) {
                if (bad) {
                    sb.append(String.format("\\u%04x", (int) c));
                } else {
                    sb.append(c);
                }
            }
        }
        return sb == null ? s : sb.toString();
    }
}
