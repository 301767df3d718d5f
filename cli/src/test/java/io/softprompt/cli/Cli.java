package io.softprompt.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the CLI in-process with captured writers. */
public final class Cli {
    /** Exit code and what was printed. */
    public record Run(int code, String out, String err) {
        public String errLine() {
            return err.strip();
        }
    }

    private Cli() {}

    public static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(code, out.toString(), err.toString());
    }
}
