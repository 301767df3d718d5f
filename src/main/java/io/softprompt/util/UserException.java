package io.softprompt.util;

/**
 * An error caused by the user's input (a flag, a file, a line). The CLI prints its message on one
 * line and exits with {@link #EXIT_CODE}; no stack trace unless {@code --verbose}.
 */
public class UserException extends RuntimeException {
    public static final int EXIT_CODE = 2;
    private static final long serialVersionUID = 1L;

    public UserException(String message) {
        super(message);
    }

    public UserException(String message, Throwable cause) {
        super(message, cause);
    }
}
