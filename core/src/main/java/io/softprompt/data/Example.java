package io.softprompt.data;

/**
 * One input: its text, class index (-1 when unlabelled or text-to-text), target text (text-to-text
 * tasks, else null) and 1-based source line.
 */
public record Example(String text, int label, int line, String target) {
    public Example(String text, int label, int line) {
        this(text, label, line, null);
    }
}
