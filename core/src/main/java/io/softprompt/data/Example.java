package io.softprompt.data;

/**
 * One input: its text, class index (-1 when unlabelled or text-to-text), target text (text-to-text
 * tasks, else null) and 1-based source line.
 */
public record Example(String text, int label, int line, String target) {
    /**
     * A classification row (no target).
     *
     * @param text the input text
     * @param label its class index, -1 when unlabelled
     * @param line its 1-based source line
     */
    public Example(String text, int label, int line) {
        this(text, label, line, null);
    }
}
