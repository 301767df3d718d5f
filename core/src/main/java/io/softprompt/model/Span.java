package io.softprompt.model;

/**
 * Which of a model's layers one call of its forward runs: layers [from, to) of L. The first layer's call
 * (from = 0) applies what the architecture does before its first layer (learned positions, an embedding
 * norm); the call that reaches the top (to ≥ L) applies the final norm and advances the key/value cache.
 * A prompt that enters above the bottom (a partial-depth deep prompt, a late prompt) runs the frozen
 * layers below it as one call and the layers from its entry as another, so the hidden states in between
 * can be kept ({@link LanguageModel#entry}) and no gradient work reaches below the entry.
 *
 * @param from the first layer run
 * @param to one past the last layer run (Integer.MAX_VALUE: through the top)
 */
public record Span(int from, int to) {
    /** Every layer: the plain forward. */
    public static final Span ALL = new Span(0, Integer.MAX_VALUE);

    public Span {
        if (from < 0 || to < from) {
            throw new IllegalArgumentException("layers [" + from + ", " + to + ")");
        }
    }

    /** The frozen layers below {@code layer}: [0, layer). */
    public static Span below(int layer) {
        return new Span(0, layer);
    }

    /** Layer {@code layer} through the top. */
    public static Span from(int layer) {
        return new Span(layer, Integer.MAX_VALUE);
    }

    /** Whether this call starts at the bottom (what precedes the first layer runs). */
    public boolean bottom() {
        return from == 0;
    }

    /** Whether this call reaches the top of a model of {@code layers} layers (final norm, cache advance). */
    public boolean top(int layers) {
        return to >= layers;
    }

    /** One past the last layer run, of {@code layers}. */
    public int end(int layers) {
        return Math.min(to, layers);
    }
}
