package io.softprompt.hub;

import io.softprompt.util.UserException;
import java.time.Duration;

/**
 * How long the hub client waits, as huggingface_hub names and defaults it: {@code HF_HUB_ETAG_TIMEOUT}
 * (seconds, default 10) for a file's metadata, the one request a fully cached model makes, and
 * {@code HF_HUB_DOWNLOAD_TIMEOUT} (seconds, default 10) to connect and between two reads of a download.
 * A hub that never answers, or a storage host that stalls mid-file, so fails after that long instead of
 * hanging; an interrupted download keeps its part for the next run to resume.
 *
 * @param etag the longest wait for a metadata answer
 * @param download the longest wait to connect, for response headers, and between two reads of a body
 */
public record HubTimeouts(Duration etag, Duration download) {
    /** huggingface_hub's default for both, in seconds. */
    public static final double DEFAULT_SECONDS = 10;

    /**
     * From the environment (HF_HUB_ETAG_TIMEOUT, HF_HUB_DOWNLOAD_TIMEOUT), else the defaults.
     *
     * @return the timeouts
     */
    public static HubTimeouts fromEnvironment() {
        return new HubTimeouts(seconds("HF_HUB_ETAG_TIMEOUT", System.getenv("HF_HUB_ETAG_TIMEOUT")),
                seconds("HF_HUB_DOWNLOAD_TIMEOUT", System.getenv("HF_HUB_DOWNLOAD_TIMEOUT")));
    }

    /** A variable's seconds (a positive number, fractions allowed), or the default when it is unset or empty. */
    static Duration seconds(String name, String value) {
        if (value == null || value.isBlank()) {
            return Duration.ofMillis((long) (DEFAULT_SECONDS * 1000));
        }
        double s;
        try {
            s = Double.parseDouble(value.strip());
        } catch (NumberFormatException e) {
            throw new UserException(name + " must be a number of seconds (got " + UserException.quote(value) + ")");
        }
        if (!(s > 0) || s > 86_400) {
            throw new UserException(name + " must be more than 0 and at most 86400 seconds (got " + UserException.quote(value) + ")");
        }
        return Duration.ofMillis(Math.max(1, (long) (s * 1000)));
    }
}
