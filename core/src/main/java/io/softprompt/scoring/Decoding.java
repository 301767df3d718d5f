package io.softprompt.scoring;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.softprompt.util.Key;
import io.softprompt.util.Keys;
import io.softprompt.util.UserException;
import java.util.List;

/**
 * How text is generated, as transformers' {@code generate} takes it: greedy by default; with
 * {@code sample}, the next token is drawn from the softmax of logits / temperature, after top-k (keep the
 * k most likely; 0: all) and then top-p (keep the most likely tokens whose probabilities add up to at
 * least p; 1: all), from a random stream seeded by {@code seed} (the same seed, prompt and input give
 * the same text). Temperature 0 means greedy. Generation stops at end-of-sequence, after
 * {@code maxNewTokens} tokens, or when the text contains one of {@code stop} (the text is cut before it).
 * Each setting is a key declared once, on its component ({@link Key}: default, label, help): infer's
 * flags, a serve item's fields, Spark's and the library's defaults all come from the declarations.
 *
 * @param maxNewTokens the most tokens generated (≥ 0)
 * @param sample whether to sample rather than take the most likely token
 * @param temperature the softmax temperature when sampling (≥ 0; 0: greedy)
 * @param topK keep the k most likely tokens when sampling (0: all)
 * @param topP keep the smallest most-likely set whose probability reaches p when sampling (0 &lt; p ≤ 1)
 * @param seed the random stream's seed when sampling
 * @param stop strings that end the text (not included in it); may be empty
 */
public record Decoding(
        @JsonProperty("max_new_tokens") @Key(value = Decoding.MAX_NEW_TOKENS, label = "K",
                help = "When generating: stop after K tokens or at end-of-sequence (default: ${DEFAULT-VALUE}).")
        int maxNewTokens,
        @JsonProperty("do_sample") @Key(help = "Sample the next token (softmax of logits / temperature, after top-k and "
                + "top-p) instead of taking the most likely one.")
        boolean sample,
        @JsonProperty("temperature") @Key(value = "1.0", label = "T", help = "With {{do_sample}}: divides the logits; lower is "
                + "more conservative, 0 is greedy (default: ${DEFAULT-VALUE}).")
        double temperature,
        @JsonProperty("top_k") @Key(value = "50", label = "K", help = "With {{do_sample}}: draw from the K most likely tokens "
                + "only; 0 keeps all (default: ${DEFAULT-VALUE}, as transformers).")
        int topK,
        @JsonProperty("top_p") @Key(value = "1.0", label = "P", help = "With {{do_sample}}: draw from the smallest set of most "
                + "likely tokens whose probability reaches P (default: ${DEFAULT-VALUE}: all).")
        double topP,
        @JsonProperty("seed") @Key(label = "N", help = "With {{do_sample}}: the random seed; the same seed, prompt and input "
                + "give the same text (default: a fresh one, printed with --json).")
        long seed,
        @JsonProperty("stop") @Key(label = "STRING", help = "End the text where STRING appears (not included); repeatable.")
        List<String> stop) {
    /** The one default of max_new_tokens: infer's, Spark's, and serve's cap on what an item may ask. */
    public static final String MAX_NEW_TOKENS = "32";
    /** The declared defaults: greedy, {@value #MAX_NEW_TOKENS} tokens, transformers' sampling settings. */
    public static final Decoding DEFAULTS = Keys.defaults(Decoding.class);
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
        return new Decoding(maxNewTokens, false, DEFAULTS.temperature, 0, DEFAULTS.topP, 0, List.of());
    }

    /** Whether the most likely token is taken (not sampling, or temperature 0). */
    public boolean greedy() {
        return !sample || temperature == 0;
    }
}
