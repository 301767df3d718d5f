package io.softprompt.cli;

import io.softprompt.data.Encoder;
import io.softprompt.data.Task;
import io.softprompt.hub.ModelLocator;
import io.softprompt.model.LoadedModel;
import io.softprompt.prompt.PromptFile;
import io.softprompt.prompt.SoftPrompt;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** --prompt, --force and --max-length: what eval and infer need to run a trained prompt. */
public final class PromptOptions {
    @Option(names = "--prompt", required = true, paramLabel = "FILE.sp", description = "The trained prompt.")
    Path prompt;

    @Option(names = "--force", description = "Use the prompt even if its model fingerprint differs "
            + "(the hidden size must still match).")
    boolean force;

    @Option(names = "--max-length", paramLabel = "T",
            description = "Longest input in tokens (default: the value the prompt was trained with, else 128).")
    Integer maxLength;

    /** A loaded prompt, its task, the model it runs on and the encoder for its template. */
    record Session(SoftPrompt prompt, Task task, LoadedModel model, Encoder encoder, boolean demo) implements AutoCloseable {
        @Override
        public void close() {
            model.close();
        }
    }

    /** Reads the prompt, finds the model (--model, else the one named in the prompt) and checks they fit. */
    Session open(ModelOptions modelOptions, PrintWriter err) {
        SoftPrompt sp = PromptFile.read(prompt);
        Task task = sp.task(prompt.toString());
        ModelLocator.Located where = modelOptions.locate(sp.meta(PromptFile.MODEL_NAME), err);
        LoadedModel model = ModelOptions.load(where);
        try {
            sp.checkFits(model, prompt.toString(), force);
            int len = maxLength != null ? maxLength : trainedMaxLength(sp);
            if (len < 2) {
                throw new io.softprompt.util.UserException("--max-length must be at least 2 (got " + len + ")");
            }
            len = Math.min(len, model.lm().maxPositions() - sp.tokens());
            return new Session(sp, task, model, new Encoder(model.tokenizer(), task, len, model.lm()), where.demo());
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
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
