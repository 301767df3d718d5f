package io.softprompt.data;

/** One input: its text and class index (-1 when unlabelled); line is the 1-based source line. */
public record Example(String text, int label, int line) {}
