package io.softprompt.serve;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.soabase.recordbuilder.core.RecordBuilder;
import io.softprompt.scoring.Decoding;
import io.softprompt.util.Key;
import io.softprompt.util.Keys;
import io.softprompt.util.UserException;

/**
 * How {@link PredictServer} serves: where it listens, how it batches, and the limits every client is
 * held to. One validated record whose keys are declared once, each on its component ({@link Key}: the
 * default, the flag's label and help); the defaults ({@link #DEFAULTS}), the builder (generated,
 * {@code ServeSettingsBuilder}), the {@code serve} flags ({@code --max-batch}) and the keys table of
 * docs/CONFIG.md all come from the declarations. The compact constructor refuses values no server can
 * use (a library caller cannot build max_batch 0). Messages name the keys ({@link UserException#key}:
 * max_batch); the command line shows its flags (--max-batch).
 *
 * @param port TCP port (0: a free one)
 * @param host address to bind
 * @param maxBatch rows per forward pass
 * @param windowMillis how long the first waiting item waits for others
 * @param queueCapacity items waiting at most (beyond: 503)
 * @param maxItems items per request
 * @param maxTextChars characters per text
 * @param maxBodyBytes largest request body (a larger Content-Length is refused unread)
 * @param tokenBudget at most this many rows × positions per forward pass (0: no limit)
 * @param prefixCache cache each prompt's keys and values (decoder-only models)
 * @param timeoutMillis how long a request waits for its scores
 * @param maxLength longest input in tokens
 * @param readTimeoutMillis a request's headers and body must arrive within this time
 * @param maxConnections requests served at once (beyond: 503)
 * @param token the bearer token every route but /health needs (null: none)
 * @param maxNewTokens the most tokens a text-to-text item may ask to generate (its max_new_tokens)
 */
@RecordBuilder
public record ServeSettings(
        @JsonProperty("port") @Key(value = "8080", label = "P", help = "Default: ${DEFAULT-VALUE}; 0 picks a free port.")
        int port,
        @JsonProperty("host") @Key(value = "127.0.0.1", label = "ADDR",
                help = "Address to bind (default: ${DEFAULT-VALUE}; 0.0.0.0 for all interfaces: use --token-file then).")
        String host,
        @JsonProperty("max_batch") @Key(value = "32", label = "B", help = "Rows per forward pass (default: ${DEFAULT-VALUE}).")
        int maxBatch,
        @JsonProperty("batch_window_ms") @Key(value = "5", label = "MS",
                help = "How long the first waiting item waits for others (default: ${DEFAULT-VALUE}).")
        long windowMillis,
        @JsonProperty("queue") @Key(value = "1024", label = "ITEMS",
                help = "Items waiting at most; beyond, requests get 503 with Retry-After (default: ${DEFAULT-VALUE}).")
        int queueCapacity,
        @JsonProperty("max_items") @Key(value = "64", label = "N", help = "Items per request (default: ${DEFAULT-VALUE}).")
        int maxItems,
        @JsonProperty("max_text_chars") @Key(value = "10000", label = "N", help = "Default: ${DEFAULT-VALUE}.")
        int maxTextChars,
        @JsonProperty("max_body_bytes") @Key(value = "1048576", label = "N",
                help = "Largest request body; a larger Content-Length is refused unread (default: ${DEFAULT-VALUE}).")
        int maxBodyBytes,
        @JsonProperty("token_budget") @Key(value = "0", label = "TOKENS",
                help = "At most this many batch x length tokens per forward pass (default: no limit).")
        int tokenBudget,
        @JsonProperty("prefix_cache") @Key(value = "true", flag = false,
                help = "Cache each prompt's keys and values (decoder-only models); --no-prefix-cache turns it off.")
        boolean prefixCache,
        @JsonProperty("timeout_ms") @Key(value = "30000", label = "MS",
                help = "How long a request waits for its scores (default: ${DEFAULT-VALUE}).")
        long timeoutMillis,
        @JsonProperty("max_length") @Key(value = "128", label = "T", help = "Longest input in tokens (default: ${DEFAULT-VALUE}).")
        int maxLength,
        @JsonProperty("read_timeout_ms") @Key(value = "10000", label = "MS",
                help = "A request's headers and body must arrive within this time, its answer be read within it "
                        + "(default: ${DEFAULT-VALUE}).")
        long readTimeoutMillis,
        @JsonProperty("max_connections") @Key(value = "64", label = "N",
                help = "Requests served at once; beyond, 503 (default: ${DEFAULT-VALUE}).")
        int maxConnections,
        @JsonProperty("token") @Key(flag = false,
                help = "The bearer token every route but /health needs (the command line reads it from --token-file).")
        String token,
        @JsonProperty("max_new_tokens") @Key(value = Decoding.MAX_NEW_TOKENS, label = "K",
                help = "The most tokens a text-to-text item may generate; its max_new_tokens defaults to this "
                        + "(default: ${DEFAULT-VALUE}).")
        int maxNewTokens) {

    /** The defaults: what {@code softprompt serve} does with no flags (the declarations' values). */
    public static final ServeSettings DEFAULTS = Keys.defaults(ServeSettings.class);

    public ServeSettings {
        check(port >= 0 && port <= 65535, "{{port}} must be 0..65535 (got " + port + ")");
        check(host != null && !host.isBlank(), "{{host}} must be an address or name");
        // each count at least 1 and at most what a server can hold: a body of 2^31 bytes overflowed and was found
        // only at the first request (every predict answered 500); a queue of 2^31 is memory no machine has
        Object[][] counts = {{"max_batch", maxBatch, 1 << 16}, {"queue", queueCapacity, 1 << 24}, {"max_items", maxItems, 1 << 20},
            {"max_text_chars", maxTextChars, 1 << 28}, {"max_length", maxLength, 1 << 24}, {"max_connections", maxConnections, 1 << 16},
            {"max_body_bytes", maxBodyBytes, 1 << 30}, {"max_new_tokens", maxNewTokens, 1 << 24}};
        for (Object[] c : counts) {
            int v = (Integer) c[1];
            check(v >= 1, UserException.key((String) c[0]) + " must be at least 1 (got " + v + ")");
            check(v <= (Integer) c[2], UserException.key((String) c[0]) + " must be at most " + c[2] + " (got " + v + ")");
        }
        check(windowMillis >= 0, "{{batch_window_ms}} must not be negative (got " + windowMillis + ")");
        check(tokenBudget >= 0, "{{token_budget}} must not be negative (got " + tokenBudget + ")");
        check(timeoutMillis >= 1, "{{timeout_ms}} must be positive (got " + timeoutMillis + ")");
        check(readTimeoutMillis >= 1, "{{read_timeout_ms}} must be positive (got " + readTimeoutMillis + ")");
        check(token == null || !token.isBlank(), "{{token}} must not be empty");
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new UserException(message);
        }
    }

    /**
     * A builder from the defaults (generated: a method per key).
     *
     * @return the builder
     */
    public static ServeSettingsBuilder builder() {
        return ServeSettingsBuilder.builder(DEFAULTS);
    }

    /**
     * A builder holding these settings.
     *
     * @return the builder
     */
    public ServeSettingsBuilder toBuilder() {
        return ServeSettingsBuilder.builder(this);
    }
}
