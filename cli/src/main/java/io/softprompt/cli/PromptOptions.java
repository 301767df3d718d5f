package io.softprompt.cli;

import io.softprompt.data.DataSource;
import io.softprompt.data.Task;
import io.softprompt.hub.ModelLocator;
import io.softprompt.infer.Member;
import io.softprompt.loader.LoadedModel;
import io.softprompt.prompt.Prompt;
import io.softprompt.prompt.PromptFile;
import io.softprompt.util.UserException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Option;

/** --prompt (repeatable): the trained prompts eval, infer and inspect run on one model. */
public final class PromptOptions {
    @Option(names = "--prompt", required = true, paramLabel = "[NAME=]FILE.sp",
            description = "A trained prompt; repeat for an ensemble (--ensemble) or for several tasks "
                    + "(NAME=FILE, rows pick one by its task name).")
    List<String> prompts = new ArrayList<>();

    /** --any-model and --max-length: how prompts are fitted to the model (eval and infer). */
    public static final class Fit {
        @Option(names = "--any-model", description = "Use the prompt even if its model fingerprint differs "
                + "(the hidden size must still match).")
        boolean force;

        /** --force replaces files everywhere else: here it is refused, naming --any-model. */
        @Option(names = "--force", hidden = true)
        boolean oldForce;

        @Option(names = "--max-length", paramLabel = "T",
                description = "Longest input in tokens (default: the value the prompt was trained with, else 128).")
        Integer maxLength;
    }

    /** Loaded prompts, the one model they run on. */
    record Session(List<Member> members, LoadedModel model, boolean demo) implements AutoCloseable {
        Member first() {
            return members.get(0);
        }

        @Override
        public void close() {
            model.close();
        }
    }

    /** NAME=FILE or FILE; a NAME defaults to the prompt's task name. */
    static String[] split(String spec) {
        int eq = spec.indexOf('=');
        if (eq > 0 && !Files.exists(Path.of(spec))) {
            return new String[] {spec.substring(0, eq), spec.substring(eq + 1)};
        }
        return new String[] {null, spec};
    }

    /**
     * Reads the prompts, finds the model (--model, else the one named in the first prompt) and checks
     * every prompt fits it (fit: null means the defaults).
     */
    Session open(ModelOptions modelOptions, PrintWriter err, Fit fit) {
        if (fit != null && fit.oldForce) {
            throw new UserException("--force replaces files softprompt wrote; to use a prompt trained on another model "
                    + "(fingerprint), pass --any-model");
        }
        List<String[]> specs = new ArrayList<>();
        List<Prompt> read = new ArrayList<>();
        for (String p : prompts) {
            String[] nf = split(p);
            specs.add(nf);
            read.add(PromptFile.read(Path.of(nf[1])));
        }
        String named = read.get(0).meta(PromptFile.MODEL_NAME);
        if (named == null && modelOptions.model == null) {
            throw new UserException("--prompt " + specs.get(0)[1] + ": names no base model (model_name); pass --model");
        }
        ModelLocator.Located where = modelOptions.locate(named, err);
        LoadedModel model = modelOptions.load(where);
        try {
            List<Member> members = new ArrayList<>();
            Set<String> names = new HashSet<>();
            for (int i = 0; i < read.size(); i++) {
                String name = specs.get(i)[0];
                if (name != null && !names.add(name)) {
                    throw new UserException("--prompt " + prompts.get(i) + ": the name " + name + " is given twice");
                }
                members.add(Member.of(model, name, specs.get(i)[1], read.get(i), fit == null ? null : fit.maxLength,
                        fit != null && fit.force));
            }
            return new Session(List.copyOf(members), model, where.demo());
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** --data, else the dev file the prompt was trained with (when it still exists), else the task's dev sample. */
    static DataSource devData(Member m, Path data) {
        if (data != null) {
            return DataSource.file(data);
        }
        String dev = m.prompt().trainedValue("dev");
        if (dev != null && Files.isRegularFile(Path.of(dev))) {
            return DataSource.file(Path.of(dev));
        }
        DataSource builtIn = null;
        try {
            builtIn = Task.resolve(m.task().name()).defaultData(false);
        } catch (UserException e) {
            // not a built-in task: no default dev data
        }
        if (builtIn == null) {
            throw new UserException("--data: the prompt's task names no dev data; pass --data FILE");
        }
        return builtIn;
    }

    /** True when prompts were named (NAME=FILE): several tasks, not an ensemble. */
    boolean named() {
        return prompts.stream().anyMatch(p -> split(p)[0] != null);
    }
}
