package io.softprompt;

import io.softprompt.api.SoftPrompt;
import io.softprompt.loader.LoadedModel;
import io.softprompt.train.TrainConfig;
import java.nio.file.Path;

/** Prompts for tests, written through the library as train would write them (no command line in core). */
public final class TestPrompts {
    private TestPrompts() {}

    /** The initialised input prompt (steps 0) of {@code tokens} tokens for the task file on the model folder, at out. */
    public static Path initial(Path model, Path task, int tokens, String init, Path out) {
        try (SoftPrompt sp = SoftPrompt.of(LoadedModel.load(model, model.toString()))) {
            sp.train(TrainConfig.builder().task(task.toString()).tokens(tokens).init(init).depth("input").steps(0).output(out.toString())
                    .build());
        }
        return out;
    }

    /** n values drawn N(0, scale²) from the seed: prompt values for tests. */
    public static float[] gaussian(int n, long seed, double scale) {
        java.util.Random r = new java.util.Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * scale);
        }
        return v;
    }
}
