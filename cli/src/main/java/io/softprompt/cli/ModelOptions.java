package io.softprompt.cli;

import io.softprompt.hub.ModelLocator;
import io.softprompt.loader.LoadedModel;
import io.softprompt.loader.Placement;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** --model, --models-dir, --device and --dtype, shared by the commands that load a model. */
public final class ModelOptions {
    @Option(names = "--model", paramLabel = "DIR|HUB_ID",
            description = "Hugging Face model folder, or a hub id (e.g. gpt2) kept in <models-dir>/<id> and "
                    + "downloaded there when missing.")
    String model;

    @Option(names = "--models-dir", paramLabel = "DIR",
            description = "Where hub models live (default: ./models, or $SOFTPROMPT_MODELS).")
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
        Path dir = modelsDir != null ? modelsDir : ModelLocator.modelsDir(Path.of("models"));
        return new ModelLocator(dir, err, Terminal.isInteractive()).locate(model != null ? model : fallback);
    }

    /** --device as given (cpu, gpu, gpu:N, auto). */
    public String device() {
        return device;
    }

    public LoadedModel load(ModelLocator.Located where) {
        return LoadedModel.load(where.folder(), where.name(), device, dtype);
    }
}
