package io.softprompt.spark;

import io.softprompt.cli.Main;
import io.softprompt.cli.TrainCommand;
import io.softprompt.util.UserException;
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
        spec.commandLine().usage(spec.commandLine().getErr());
        return UserException.EXIT_CODE;
    }

    public static void main(String[] args) {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        System.exit(execute(out, err, args));
    }

    /** Runs a command line with the given writers (tests call this in-process, with a Spark session already active). */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new SparkMain());
        cl.addSubcommand("score", new ScoreCommand());
        cl.addSubcommand("train", new TrainCommand(m -> SparkTraining.distributor(m, "auto")));
        return Main.execute(cl, out, err, args);
    }
}
