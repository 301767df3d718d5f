package io.softprompt.cli;

import picocli.CommandLine.Option;

/** --verbose alone, for commands that print no result to put in JSON (serve). */
public final class VerboseOption {
    @Option(names = "--verbose", description = "Print stack traces with errors.")
    boolean verbose;
}
