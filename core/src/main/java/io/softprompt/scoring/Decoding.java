package io.softprompt.scoring;

import io.softprompt.util.UserException;
import java.util.List;

/**
 * How text is generated, as transformers' {@code generate} takes it: greedy by default; with
 * {@code sample}, the next token is drawn from the softmax of logits / temperature, after top-k (keep the
 * k most likely; 0: all) and then top-p (keep the most likely tokens whose probabilities add up to at
 * least p; 1: all), from a random stream seeded by {@code seed} (the same seed, prompt and input give
 * the same text). Temperature 0 means greedy. Generation stops at end-of-sequence, after
 * {@code maxNewTokens} tokens, or when the text contains one of {@code stop} (the text is cut before it).
 *
 * @param maxNewTokens the most tokens generated (≥ 0)
 * @param sample whether to sample rather than take the most likely token
 * @param temperature the softmax temperature when sampling (≥ 0; 0: greedy)
 * @param topK keep the k most likely tokens when sampling (0: all)
 * @param topP keep the smallest most-likely set whose probability reaches p when sampling (0 &lt; p ≤ 1)
 * @param seed the random stream's seed when sampling
 * @param stop strings that end the text (not included in it); may be empty
 */
public record Decoding(int maxNewTokens, boolean sample, double temperature, int topK, double topP, long seed,
        List<String> stop) {
    /** transformers' defaults for the sampling settings (top-k 50, temperature and top-p 1). */
    public static final double DEFAULT_TEMPERATURE = 1.0;
    public static final int DEFAULT_TOP_K = 50;
    public static final double DEFAULT_TOP_P = 1.0;
    /** The most stop strings, and their longest length. */
    public static final int MAX_STOPS = 16;
    public static final int MAX_STOP_CHARS = 200;

    public Decoding {
        if (maxNewTokens < 0) {
            throw new UserException("{{max_new_tokens}} must not be negative (got " + maxNewTokens + ")");
        }
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new UserException("{{temperature}} must be a finite number ≥ 0 (got " + temperature + ")");
        }
        if (topK < 0) {
            throw new UserException("{{top_k}} must not be negative (got " + topK + "; 0 keeps every token)");
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new UserException("{{top_p}} must be in (0, 1] (got " + topP + ")");
        }
        stop = stop == null ? List.of() : List.copyOf(stop);
        if (stop.size() > MAX_STOPS) {
            throw new UserException("at most " + MAX_STOPS + " {{stop}} strings (got " + stop.size() + ")");
        }
        for (String s : stop) {
            if (s.isEmpty() || s.length() > MAX_STOP_CHARS) {
                throw new UserException("a {{stop}} string must have 1 to " + MAX_STOP_CHARS + " characters");
            }
        }
    }

    /** Greedy decoding of at most maxNewTokens tokens, no stop strings: what generation does by default. */
    public static Decoding greedy(int maxNewTokens) {
        return new Decoding(maxNewTokens, false, DEFAULT_TEMPERATURE, 0, DEFAULT_TOP_P, 0, List.of());
    }

    /** Whether the most likely token is taken (not sampling, or temperature 0). */
    public boolean greedy() {
        return !sample || temperature == 0;
    }
}
