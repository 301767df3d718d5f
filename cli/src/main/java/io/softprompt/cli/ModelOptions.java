package io.softprompt.cli;

import io.softprompt.hub.ModelLocator;
import io.softprompt.loader.LoadedModel;
import io.softprompt.loader.Placement;
import io.softprompt.util.UserException;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** --model, --revision, --models-dir, --device and --dtype, shared by the commands that load a model. */
public final class ModelOptions {
    @Option(names = "--model", paramLabel = "DIR|HUB_ID",
            description = "Hugging Face model folder, or a hub id (e.g. gpt2): <models-dir>/<id> when that folder "
                    + "exists, else the Hugging Face cache ($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub, "
                    + "shared with Python tools), downloaded into it when missing.")
    String model;

    @Option(names = "--revision", paramLabel = "REV",
            description = "The hub id's branch, tag or commit (default: main); a prompt trained at another revision "
                    + "records the commit.")
    String revision;

    @Option(names = "--models-dir", paramLabel = "DIR",
            description = "Where the built-in models live, and hub models placed by hand as <dir>/<id> "
                    + "(default: ./models, or $SOFTPROMPT_MODELS).")
    Path modelsDir;

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = Placement.AUTO,
            description = "cpu, gpu (the first), gpu:N, or auto: a GPU if PyTorch sees one, else the CPU "
                    + "(default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = Placement.AUTO,
            description = "The frozen weights' precision: float32, float16, bfloat16, or auto: float32 on CPU, the "
                    + "checkpoint's own on a GPU (default: ${DEFAULT-VALUE}). The prompt, logits and losses are float32.")
    String dtype;

    /** The model named by --model (else {@code fallback}): a local folder, the embedded model, or a hub download. */
    public ModelLocator.Located locate(String fallback, PrintWriter err) {
        return locate(fallback, err, false);
    }

    /**
     * As above; {@code explain}: say in full why the embedded model was chosen (train, where it
     * matters). The built-in models unpack into the models folder when one was named (--models-dir,
     * SOFTPROMPT_MODELS), else into the user's cache: running the command anywhere leaves no models/ there.
     */
    public ModelLocator.Located locate(String fallback, PrintWriter err, boolean explain) {
        String spec = model != null ? model : fallback;
        if (revision != null) {
            if (spec == null || spec.contains("@") || java.nio.file.Files.isDirectory(Path.of(spec))) {
                throw new UserException("{{revision}} applies to a hub id given with {{model}}"
                        + (spec == null ? "" : " ('" + spec + "' is " + (spec.contains("@") ? "pinned already)" : "a folder)")));
            }
            spec = spec + "@" + revision;
        }
        ModelLocator locator = locator(err);
        return (explain ? locator.explaining() : locator).locate(spec);
    }

    /** The locator these options make: the models folder searched, the built-in models' place, the hub cache. */
    public ModelLocator locator(PrintWriter err) {
        Path named = modelsDir != null ? modelsDir : ModelLocator.modelsDir(null);
        Path dir = named != null ? named : Path.of("models");
        return new ModelLocator(dir, err, Terminal.isInteractive())
                .unpackingInto(named != null ? named : ModelLocator.userCacheDir());
    }

    /** --device as given (cpu, gpu, gpu:N, auto). */
    public String device() {
        return device;
    }

    public LoadedModel load(ModelLocator.Located where) {
        return LoadedModel.load(where.folder(), where.name(), device, dtype);
    }
}
