package io.softprompt.util;

/**
 * An error caused by the user's input (a flag, a file, a line), or a run that had to stop. The CLI
 * prints its message on one line and exits with {@link #exitCode()} ({@link #EXIT_CODE} for bad
 * input); no stack trace unless {@code --verbose}.
 */
public class UserException extends RuntimeException {
    public static final int EXIT_CODE = 2;
    /** Training stopped on a non-finite loss or gradient; the last good files were kept. */
    public static final int EXIT_DIVERGED = 3;
    private static final long serialVersionUID = 1L;
    private final int exitCode;

    public UserException(String message) {
        this(message, EXIT_CODE);
    }

    public UserException(String message, int exitCode) {
        super(message);
        this.exitCode = exitCode;
    }

    public UserException(String message, Throwable cause) {
        super(message, cause);
        this.exitCode = EXIT_CODE;
    }

    public int exitCode() {
        return exitCode;
    }
}
