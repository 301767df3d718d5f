package io.softprompt.spark;

import io.softprompt.cli.Main;
import io.softprompt.cli.TrainCommand;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * The spark-submit entry point: {@code score} (batch scoring of a table) and {@code train} (the CLI's
 * train command, each step's gradient computed data-parallel on the executors). Only {@link #main}
 * calls System.exit.
 */
@Command(name = "softprompt-spark", mixinStandardHelpOptions = true,
        description = "softprompt on Apache Spark: score tables with many prompts; train one prompt data-parallel.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:success",
            "1:internal error (a bug: rerun with --verbose and report it)",
            "2:bad input: a flag, file or line (the message names it)",
            "3:training stopped on a non-finite loss or gradient (last good checkpoint and best prompt kept)"})
public final class SparkMain implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        return Main.usage(spec);
    }

    public static void main(String[] args) {
        System.exit(Main.onConsole(commandLine(), args));
    }

    /** Runs a command line with the given writers (tests call this in-process, with a Spark session already active). */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        return Main.execute(commandLine(), out, err, args);
    }

    /** score, and the CLI's train command with each step's gradient computed on the executors. */
    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new SparkMain());
        cl.addSubcommand("score", new ScoreCommand());
        // as a CommandLine of its own, so picocli runs the command's model transformer (the generated training flags)
        cl.addSubcommand("train", new CommandLine(new TrainCommand(m -> SparkTraining.distributor(m, "auto"))));
        return cl;
    }
}
