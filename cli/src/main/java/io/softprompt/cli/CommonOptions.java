package io.softprompt.cli;

import picocli.CommandLine.Option;

/** Options every command takes. */
public final class CommonOptions {
    @Option(names = "--verbose", description = "Print stack traces with errors.")
    boolean verbose;

    @Option(names = "--json", description = "Print the result as JSON on standard output.")
    boolean json;

    public boolean json() {
        return json;
    }
}
