package io.softprompt.cli;

import io.softprompt.hub.ModelLocator;
import io.softprompt.loader.LoadedModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** --model and --models-dir, shared by the commands that load a model. */
public final class ModelOptions {
    @Option(names = "--model", paramLabel = "DIR|HUB_ID",
            description = "Hugging Face model folder, or a hub id (e.g. gpt2) kept in <models-dir>/<id> and "
                    + "downloaded there when missing.")
    String model;

    @Option(names = "--models-dir", paramLabel = "DIR",
            description = "Where hub models live (default: ./models, or $SOFTPROMPT_MODELS).")
    Path modelsDir;

    ModelLocator.Located locate(String fallback, PrintWriter err) {
        Path dir = modelsDir != null ? modelsDir : ModelLocator.defaultModelsDir();
        return new ModelLocator(dir, err, Terminal.isInteractive()).locate(model != null ? model : fallback);
    }

    static LoadedModel load(ModelLocator.Located where) {
        return LoadedModel.load(where.folder(), where.name());
    }
}
