package io.softprompt.cli;

/** The exit codes as every command's help lists them (one wording, declared once). */
final class ExitCodes {
    private ExitCodes() {}

    static final String HEADING = "%nExit codes:%n";
    static final String OK = "0:success";
    static final String BUG = "1:internal error (a bug: rerun with --verbose and report it)";
    static final String BAD_INPUT = "2:bad input: a flag, file or line (the message names it)";
    static final String SOME_ROWS = "4:some rows could not be answered (--input rows, or blank lines with --json): their "
            + "lines carry \"error\"";
}
