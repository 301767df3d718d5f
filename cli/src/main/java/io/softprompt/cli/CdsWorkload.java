package io.softprompt.cli;

import io.softprompt.util.AtomicFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The commands whose classes the distribution's class-data-sharing archive ({@code lib/softprompt.jsa})
 * holds: the build runs this once through {@code bin/softprompt} with {@code SOFTPROMPT_CDS_DUMP} set, so
 * the JVM writes every class these commands loaded to the archive as it exits, and later commands map
 * them instead of reading, parsing and verifying them again (scripts/bench-start.sh measures what that
 * saves). In-process, on the embedded model, everything under the one folder it is given (deleted at the
 * end): help, a two-step training with one evaluation, infer of one sentence, inspect.
 */
public final class CdsWorkload {
    private CdsWorkload() {}

    /**
     * Runs the commands.
     *
     * @param args one folder for the model and the prompt (made, then deleted)
     * @throws IOException when the folder cannot be made or deleted
     */
    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: CdsWorkload DIR");
            System.exit(2);
        }
        Path dir = Path.of(args[0]).toAbsolutePath();
        AtomicFiles.deleteTree(dir);
        Files.createDirectories(dir);
        String models = dir.resolve("models").toString();
        String prompt = dir.resolve("p.sp").toString();
        int failed = 0;
        for (List<String> cmd : List.of(
                List.of("--version"), List.of("--help"), List.of("train", "--help"), List.of("infer", "--help"),
                List.of("train", "--task", "sst2", "--tokens", "4", "--steps", "2", "--eval-every", "2", "--depth", "input",
                        "--models-dir", models, "-o", prompt),
                List.of("infer", "--models-dir", models, "--prompt", prompt, "a gorgeous, witty film"),
                List.of("inspect", "--models-dir", models, "--prompt", prompt))) {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = Main.execute(new PrintWriter(out), new PrintWriter(err), cmd.toArray(String[]::new));
            if (code != 0) {
                System.err.println("CdsWorkload: softprompt " + String.join(" ", cmd) + " exited " + code + ": " + err);
                failed++;
            }
        }
        AtomicFiles.deleteTree(dir);
        System.exit(failed == 0 ? 0 : 1);
    }
}
