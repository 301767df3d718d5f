package io.softprompt.serve;

import io.softprompt.util.UserException;

/**
 * How {@link PredictServer} serves: where it listens, how it batches, and the limits every client is
 * held to. One validated record: the defaults live in {@link #DEFAULTS} alone (the command line shows
 * and uses them), the compact constructor refuses values no server can use (a library caller cannot
 * build max_batch 0), and {@link Builder} changes some keys of another settings without copying
 * fifteen positional arguments. Messages name the keys ({@link UserException#key}: max_batch); the
 * command line shows its flags (--max-batch).
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
public record ServeSettings(int port, String host, int maxBatch, long windowMillis, int queueCapacity, int maxItems,
        int maxTextChars, int maxBodyBytes, int tokenBudget, boolean prefixCache, long timeoutMillis, int maxLength,
        long readTimeoutMillis, int maxConnections, String token, int maxNewTokens) {

    /** The defaults: what {@code softprompt serve} does with no flags. */
    public static final ServeSettings DEFAULTS = new ServeSettings(8080, "127.0.0.1", 32, 5, 1024, 64, 10_000, 1 << 20, 0,
            true, 30_000, 128, 10_000, 64, null, 64);

    public ServeSettings {
        check(port >= 0 && port <= 65535, "{{port}} must be 0..65535 (got " + port + ")");
        check(host != null && !host.isBlank(), "{{host}} must be an address or name");
        for (Object[] c : new Object[][] {{"max_batch", maxBatch}, {"queue", queueCapacity}, {"max_items", maxItems},
            {"max_text_chars", maxTextChars}, {"max_length", maxLength}, {"max_connections", maxConnections},
            {"max_body_bytes", maxBodyBytes}, {"max_new_tokens", maxNewTokens}}) {
            check((Integer) c[1] >= 1, UserException.key((String) c[0]) + " must be at least 1 (got " + c[1] + ")");
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

    public static Builder builder() {
        return new Builder(DEFAULTS);
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Changes some keys; {@link #build} validates the whole. */
    public static final class Builder {
        private int port;
        private String host;
        private int maxBatch;
        private long windowMillis;
        private int queueCapacity;
        private int maxItems;
        private int maxTextChars;
        private int maxBodyBytes;
        private int tokenBudget;
        private boolean prefixCache;
        private long timeoutMillis;
        private int maxLength;
        private long readTimeoutMillis;
        private int maxConnections;
        private String token;
        private int maxNewTokens;

        private Builder(ServeSettings s) {
            port = s.port;
            host = s.host;
            maxBatch = s.maxBatch;
            windowMillis = s.windowMillis;
            queueCapacity = s.queueCapacity;
            maxItems = s.maxItems;
            maxTextChars = s.maxTextChars;
            maxBodyBytes = s.maxBodyBytes;
            tokenBudget = s.tokenBudget;
            prefixCache = s.prefixCache;
            timeoutMillis = s.timeoutMillis;
            maxLength = s.maxLength;
            readTimeoutMillis = s.readTimeoutMillis;
            maxConnections = s.maxConnections;
            token = s.token;
            maxNewTokens = s.maxNewTokens;
        }

        public Builder port(int v) {
            port = v;
            return this;
        }

        public Builder host(String v) {
            host = v;
            return this;
        }

        public Builder maxBatch(int v) {
            maxBatch = v;
            return this;
        }

        public Builder windowMillis(long v) {
            windowMillis = v;
            return this;
        }

        public Builder queueCapacity(int v) {
            queueCapacity = v;
            return this;
        }

        public Builder maxItems(int v) {
            maxItems = v;
            return this;
        }

        public Builder maxTextChars(int v) {
            maxTextChars = v;
            return this;
        }

        public Builder maxBodyBytes(int v) {
            maxBodyBytes = v;
            return this;
        }

        public Builder tokenBudget(int v) {
            tokenBudget = v;
            return this;
        }

        public Builder prefixCache(boolean v) {
            prefixCache = v;
            return this;
        }

        public Builder timeoutMillis(long v) {
            timeoutMillis = v;
            return this;
        }

        public Builder maxLength(int v) {
            maxLength = v;
            return this;
        }

        public Builder readTimeoutMillis(long v) {
            readTimeoutMillis = v;
            return this;
        }

        public Builder maxConnections(int v) {
            maxConnections = v;
            return this;
        }

        public Builder token(String v) {
            token = v;
            return this;
        }

        public Builder maxNewTokens(int v) {
            maxNewTokens = v;
            return this;
        }

        public ServeSettings build() {
            return new ServeSettings(port, host, maxBatch, windowMillis, queueCapacity, maxItems, maxTextChars, maxBodyBytes,
                    tokenBudget, prefixCache, timeoutMillis, maxLength, readTimeoutMillis, maxConnections, token, maxNewTokens);
        }
    }
}
