package io.softprompt.cli;

import java.io.IOException;
import java.io.Writer;

/**
 * Standard error on a terminal: each complete line longer than the terminal is wrapped at word
 * boundaries ({@link Terminal#wrap}); a line redrawn in place (ended by a carriage return, as the
 * progress bar draws itself, already fitted to the width) passes as it is.
 */
final class WrappingWriter extends Writer {
    private final Writer out;
    private final int width;
    private final StringBuilder line = new StringBuilder();
    private int column; // characters of the current line already written (a flush before its end)

    WrappingWriter(Writer out, int width) {
        this.out = out;
        this.width = width;
    }

    @Override
    public synchronized void write(char[] c, int off, int len) throws IOException {
        for (int i = off; i < off + len; i++) {
            char ch = c[i];
            if (ch == '\n') {
                out.write(column == 0 ? Terminal.wrap(line.toString(), width) : line.toString());
                out.write('\n');
                line.setLength(0);
                column = 0;
            } else if (ch == '\r') {
                out.write(line.toString());
                out.write('\r');
                line.setLength(0);
                column = 0;
            } else {
                line.append(ch);
            }
        }
    }

    @Override
    public synchronized void flush() throws IOException {
        if (line.length() > 0) { // a line still being drawn (a progress line, a prompt): as it is
            out.write(line.toString());
            column += line.length();
            line.setLength(0);
        }
        out.flush();
    }

    @Override
    public synchronized void close() throws IOException {
        flush();
        out.close();
    }
}
