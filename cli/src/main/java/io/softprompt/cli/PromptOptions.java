package io.softprompt.cli;

import io.softprompt.data.Encoder;
import io.softprompt.data.Task;
import io.softprompt.hub.ModelLocator;
import io.softprompt.model.LoadedModel;
import io.softprompt.prompt.PromptFile;
import io.softprompt.prompt.SoftPrompt;
import java.io.PrintWriter;
import io.softprompt.util.UserException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * --prompt (repeatable), --force and --max-length: what eval, infer and inspect need to run trained
 * prompts on one model.
 */
public final class PromptOptions {
    @Option(names = "--prompt", required = true, paramLabel = "[NAME=]FILE.sp",
            description = "A trained prompt; repeat for an ensemble (--ensemble) or for several tasks "
                    + "(NAME=FILE, rows pick one by its task name).")
    List<String> prompts = new ArrayList<>();

    @Option(names = "--force", description = "Use the prompt even if its model fingerprint differs "
            + "(the hidden size must still match).")
    boolean force;

    @Option(names = "--max-length", paramLabel = "T",
            description = "Longest input in tokens (default: the value the prompt was trained with, else 128).")
    Integer maxLength;

    /** One loaded prompt: the name rows use for it, its file, values, task and encoder. */
    record Member(String name, Path file, SoftPrompt prompt, Task task, Encoder encoder) {}

    /** Loaded prompts, their tasks, the one model they run on. */
    record Session(List<Member> members, LoadedModel model, boolean demo) implements AutoCloseable {
        SoftPrompt prompt() {
            return members.get(0).prompt();
        }

        Task task() {
            return members.get(0).task();
        }

        Encoder encoder() {
            return members.get(0).encoder();
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
     * every prompt fits it.
     */
    Session open(ModelOptions modelOptions, PrintWriter err) {
        List<String[]> specs = new ArrayList<>();
        List<SoftPrompt> read = new ArrayList<>();
        for (String p : prompts) {
            String[] nf = split(p);
            specs.add(nf);
            read.add(PromptFile.read(Path.of(nf[1])));
        }
        ModelLocator.Located where = modelOptions.locate(read.get(0).meta(PromptFile.MODEL_NAME), err);
        LoadedModel model = ModelOptions.load(where);
        try {
            List<Member> members = new ArrayList<>();
            java.util.Set<String> names = new java.util.HashSet<>();
            for (int i = 0; i < read.size(); i++) {
                SoftPrompt sp = read.get(i);
                String file = specs.get(i)[1];
                Task task = sp.task(file);
                sp.checkFits(model, file, force);
                int len = maxLength != null ? maxLength : trainedMaxLength(sp);
                if (len < 2) {
                    throw new UserException("--max-length must be at least 2 (got " + len + ")");
                }
                len = Math.min(len, model.lm().maxPositions() - sp.tokens());
                String name = specs.get(i)[0] != null ? specs.get(i)[0] : task.name();
                if (specs.get(i)[0] != null && !names.add(name)) {
                    throw new UserException("--prompt " + prompts.get(i) + ": the name " + name + " is given twice");
                }
                members.add(new Member(name, Path.of(file), sp, task, new Encoder(model.tokenizer(), task, len, model.lm())));
            }
            return new Session(List.copyOf(members), model, where.demo());
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** True when prompts were named (NAME=FILE): several tasks, not an ensemble. */
    boolean named() {
        return prompts.stream().anyMatch(p -> split(p)[0] != null);
    }

    private static int trainedMaxLength(SoftPrompt sp) {
        String cfg = sp.meta(PromptFile.TRAIN_CONFIG);
        if (cfg != null) {
            try {
                var node = io.softprompt.util.Json.MAPPER.readTree(cfg).get("max_length");
                if (node != null && node.canConvertToInt()) {
                    return node.asInt();
                }
            } catch (java.io.IOException ignored) {
                // fall through to the default
            }
        }
        return 128;
    }
}
