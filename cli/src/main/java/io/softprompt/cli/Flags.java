package io.softprompt.cli;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The library names its settings by key (max_batch, batch_size); the command line by flag
 * (--max-batch, --batch-size). A message that starts with a key is shown with its flag.
 */
final class Flags {
    private static final Pattern LEADING_KEY = Pattern.compile("^([a-z][a-z0-9]*(?:_[a-z0-9]+)*)\\b(?=\\s)");
    /** Keys whose flag is not the key with dashes. */
    private static final Map<String, String> SPECIAL = Map.of("token", "--token-file");

    private Flags() {}

    /** The flag of a key: batch_size → --batch-size. */
    static String flag(String key) {
        return SPECIAL.getOrDefault(key, "--" + key.replace('_', '-'));
    }

    /** The message with its leading key, if any, shown as the flag. */
    static String of(String message) {
        Matcher m = LEADING_KEY.matcher(message);
        return m.find() ? flag(m.group(1)) + message.substring(m.end()) : message;
    }
}
