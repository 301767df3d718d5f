package io.softprompt.cli;

import io.softprompt.loader.Placement;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Redaction;
import io.softprompt.util.Startup;
import io.softprompt.util.UserException;
import io.softprompt.util.Version;
import java.io.PrintWriter;
import java.nio.file.FileSystemException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;
import picocli.CommandLine;

/** Entry point. Only {@link #main} calls System.exit; everything else returns an exit code. */
@Command(name = "softprompt",
        mixinStandardHelpOptions = true,
        versionProvider = Main.ManifestVersion.class,
        description = "Soft-prompt tuning of frozen Hugging Face transformers (Lester et al. 2021) on the JVM.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:success",
            "1:internal error (a bug: rerun with --verbose and report it)",
            "2:bad input: a flag, file or line (the message names it)",
            "3:training stopped on a non-finite loss or gradient (last good checkpoint and best prompt kept)",
            "4:some items failed: sweep runs (the others finished; re-run to retry), or infer --input rows (each failed "
                + "row's line says why)"})
public final class Main implements Callable<Integer> {
    public static final int EXIT_INTERNAL = 1;

    @Spec
    CommandSpec spec;

    /** A bare {@code softprompt}: the usage on standard error, exit 2 (a command is missing). */
    @Override
    public Integer call() {
        return usage(spec);
    }

    /** The commands, in the order help lists them (each built only when the command line may need it). */
    private static final Map<String, Supplier<Object>> COMMANDS = commands();

    /** The commands that compute with the engine: main starts loading its native library at once. */
    private static final Set<String> COMPUTE = Set.of("train", "eval", "infer", "serve", "sweep", "embed", "encode");

    private static Map<String, Supplier<Object>> commands() {
        Map<String, Supplier<Object>> m = new LinkedHashMap<>();
        m.put("train", TrainCommand::new);
        m.put("eval", EvalCommand::new);
        m.put("infer", InferCommand::new);
        m.put("inspect", InspectCommand::new);
        m.put("export", ExportCommand::new);
        m.put("import", ImportCommand::new);
        m.put("embed", EmbedCommand::new);
        m.put("encode", EncodeCommand::new);
        m.put("serve", ServeCommand::new);
        m.put("sweep", SweepCommand::new);
        m.put("report", ReportCommand::new);
        m.put("completion", CompletionCommand::new);
        m.put("help", CommandLine.HelpCommand::new);
        return m;
    }

    /** A new instance of the named command (its picocli object), as the command line builds it. */
    static Object command(String name) {
        return COMMANDS.get(name).get();
    }

    public static void main(String[] args) {
        Startup.mark("main");
        if (args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"))) {
            // what picocli would print, without loading picocli (its classes predate class-data sharing)
            System.out.println(Version.software());
            System.exit(0);
        }
        if (args.length > 0 && COMPUTE.contains(args[0])) {
            preloadEngine();
        }
        CommandLine cl = commandLine(args);
        Startup.mark("commands");
        int code = onConsole(cl, args);
        Startup.mark("done");
        System.exit(code);
    }

    /**
     * The command tree for these arguments. Building a command reads all its annotations (train's are
     * many), so a command line that names one command builds only that one; help, completion, a bare
     * or unknown command get all of them (the list, suggestions and the completion script need every
     * command), {@code --version} none.
     *
     * @param args the command line
     * @return the tree to execute it with
     */
    public static CommandLine commandLine(String... args) {
        CommandLine cl = new CommandLine(new Main());
        boolean version = args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"));
        boolean one = args.length > 0 && COMMANDS.containsKey(args[0]) && !args[0].equals("help") && !args[0].equals("completion");
        if (one) {
            cl.addSubcommand(args[0], new CommandLine(COMMANDS.get(args[0]).get()));
        } else if (!version) {
            COMMANDS.forEach((name, make) -> cl.addSubcommand(name, new CommandLine(make.get())));
        }
        HelpWrap.install(cl);
        return cl;
    }

    /**
     * Starts loading the engine's native library on a background thread, while the main thread parses
     * the command line and reads the model's files: on two cores the two overlap. The engine's first
     * use waits for it (the loader's lock); a command that stops early exits without waiting (a daemon
     * thread).
     */
    private static void preloadEngine() {
        Thread t = new Thread(() -> {
            try {
                Placement.preloadNativeLibrary();
                Startup.mark("native");
            } catch (RuntimeException | LinkageError e) {
                // the command's own first use of the engine reports it, with the command's error handling
            }
        }, "engine-preload");
        t.setDaemon(true);
        t.start();
    }

    /**
     * Runs {@code cl} on standard output and error, DJL offline unless told otherwise; returns the exit
     * code for a {@code main} to exit with (this one, or another front end's).
     */
    public static int onConsole(CommandLine cl, String... args) {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        // on a terminal, long messages are wrapped at word boundaries to its width
        PrintWriter err = Terminal.isInteractive()
                ? new PrintWriter(new WrappingWriter(new java.io.OutputStreamWriter(System.err, java.nio.charset.Charset.defaultCharset()),
                        Terminal.width()), true)
                : new PrintWriter(System.err, true);
        return execute(cl, new PrintWriter(System.out, true), err, args);
    }

    /** Runs a command line with the given writers (tests call this in-process). */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        return execute(commandLine(args), out, err, args);
    }

    /** The usage of a bare command group on standard error, exit 2 (a subcommand is missing). */
    public static int usage(CommandSpec spec) {
        spec.commandLine().usage(spec.commandLine().getErr());
        return UserException.EXIT_CODE;
    }

    /**
     * Runs a command line on {@code cl} (another program's command tree built from these commands: the
     * Spark module's) with this CLI's handling: one-line errors, exit codes, --verbose stack traces.
     */
    public static int execute(CommandLine cl, PrintWriter out, PrintWriter err, String... args) {
        boolean verbose = Arrays.asList(args).contains("--verbose");
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine c = ex.getCommandLine();
            String hint = "";
            if (ex instanceof UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
                hint = "; did you mean " + String.join(" or ", u.getSuggestions().subList(0, Math.min(3,
                        u.getSuggestions().size()))) + "?";
            }
            err.println("softprompt: error: " + Redaction.apply(ex.getMessage()) + hint + " (see '" + c.getCommandSpec().qualifiedName()
                    + " --help')");
            err.flush();
            return UserException.EXIT_CODE;
        });
        cl.setExecutionExceptionHandler((ex, c, parseResult) -> {
            Throwable root = ex;
            while (!(root instanceof UserException) && root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            if (root instanceof UserException) {
                err.println("softprompt: error: " + ((UserException) root).message(Flags::flag));
                if (verbose) {
                    err.print(Redaction.stackTrace(ex));
                }
                err.flush();
                return ((UserException) root).exitCode();
            }
            FileSystemException fs = fileSystemFailure(ex);
            if (fs != null) { // the file system refused (read-only, full, permissions): the user's to fix, not a bug
                err.println("softprompt: error: " + UserException.quote(fs.getFile()) + ": " + AtomicFiles.reason(fs));
                if (verbose) {
                    err.print(Redaction.stackTrace(ex));
                }
                err.flush();
                return UserException.EXIT_CODE;
            }
            java.nio.file.InvalidPathException badPath = cause(ex, java.nio.file.InvalidPathException.class);
            if (badPath != null) { // a path from a flag or a file that no file system takes (a NUL in it)
                err.println("softprompt: error: " + UserException.quote(badPath.getInput()) + " is not a path: "
                        + badPath.getReason());
                if (verbose) {
                    err.print(Redaction.stackTrace(ex));
                }
                err.flush();
                return UserException.EXIT_CODE;
            }
            String memory = outOfMemory(ex);
            if (memory != null) {
                return memoryError(err, memory, ex, verbose);
            }
            err.println("softprompt: internal error: " + Redaction.describe(ex) + (verbose ? "" : " (rerun with --verbose for the stack trace)"));
            if (verbose) {
                err.print(Redaction.stackTrace(ex));
            }
            err.flush();
            return EXIT_INTERNAL;
        });
        int code;
        try {
            code = cl.execute(args);
        } catch (OutOfMemoryError e) { // an Error passes picocli's handler
            code = memoryError(err, "the Java heap is full (" + e.getMessage() + ")", e, verbose);
        }
        out.flush();
        err.flush();
        return code;
    }

    /** The first throwable of {@code type} in a failure's chain of causes, or null. */
    static <T extends Throwable> T cause(Throwable ex, Class<T> type) {
        for (Throwable t = ex; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    /** The file-system refusal behind a failure (it names the file and carries the OS's reason), or null. */
    static FileSystemException fileSystemFailure(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof FileSystemException f && f.getFile() != null) {
                return f;
            }
        }
        return null;
    }

    /**
     * What ran out, when a failure is the machine's memory rather than a bug: the Java heap, or
     * PyTorch's allocator refusing a tensor (a batch too large for this machine). Null otherwise.
     */
    static String outOfMemory(Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof OutOfMemoryError) {
                return "the Java heap is full (" + t.getMessage() + ")";
            }
            String m = t.getMessage();
            if (m != null && (m.contains("not enough memory") || m.contains("can't allocate memory")
                    || m.contains("DefaultCPUAllocator") || m.contains("CUDA out of memory"))) {
                String line = m.lines().filter(l -> l.contains("allocate")).findFirst().orElse(m.lines().findFirst().orElse(m));
                return "PyTorch could not allocate a tensor (" + line.replaceAll(".*(you tried to allocate)", "$1").strip() + ")";
            }
        }
        return null;
    }

    private static int memoryError(PrintWriter err, String what, Throwable ex, boolean verbose) {
        err.println("softprompt: error: not enough memory: " + what + "; lower --batch-size, --eval-batch-size or "
                + "--max-length (or raise SOFTPROMPT_HEAP for a large dataset)");
        if (verbose) {
            err.print(Redaction.stackTrace(ex));
        }
        err.flush();
        return UserException.EXIT_CODE;
    }

    /** Version from the jar manifest (Implementation-Version), "dev" when run from classes. */
    static final class ManifestVersion implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {Version.software()};
        }
    }
}
