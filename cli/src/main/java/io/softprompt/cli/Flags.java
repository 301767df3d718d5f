package io.softprompt.cli;

import io.softprompt.util.UserException;
import java.util.Map;

/**
 * The library names its settings by key (max_batch, batch_size; {@code UserException.key}); the
 * command line by flag (--max-batch, --batch-size): {@link #flag} is the one mapping, applied to every
 * error message the command line prints ({@code UserException.message(Flags::flag)}).
 */
final class Flags {
    /** Keys whose flag is not the key with dashes. */
    private static final Map<String, String> SPECIAL = Map.of("token", "--token-file");

    private Flags() {}

    /** A text of the library's (a key's help) with every {{key}} shown as its flag. */
    static String render(String text) {
        return UserException.render(text, Flags::flag);
    }

    /** The flag of a key: batch_size → --batch-size. */
    static String flag(String key) {
        return SPECIAL.getOrDefault(key, "--" + key.replace('_', '-'));
    }
}
