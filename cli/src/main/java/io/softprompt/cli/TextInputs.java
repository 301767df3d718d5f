package io.softprompt.cli;

import io.softprompt.data.Lines;
import io.softprompt.util.UserException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/** The texts a command works on: its TEXT arguments, else the lines of standard input (each line bounded). */
final class TextInputs {
    private TextInputs() {}

    /**
     * The texts, in order; none at all is one line of error.
     *
     * @param texts the TEXT arguments
     * @param stdin standard input, read when there are none
     * @return the texts
     * @throws java.io.IOException when standard input cannot be read
     */
    static List<String> of(List<String> texts, InputStream stdin) throws java.io.IOException {
        List<String> inputs = new ArrayList<>(texts);
        if (inputs.isEmpty()) {
            Lines lines = Lines.of(stdin, "standard input"); // not closed: standard input is not ours
            for (String line; (line = lines.next()) != null; ) {
                inputs.add(line);
            }
        }
        if (inputs.isEmpty()) {
            throw new UserException("no input: give TEXT arguments or lines on standard input");
        }
        return inputs;
    }
}
