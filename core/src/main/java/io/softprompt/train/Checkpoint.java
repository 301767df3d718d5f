package io.softprompt.train;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.softprompt.eval.Metrics;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.safetensors.SafetensorsWriter;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Everything needed to continue a run exactly where it stopped: the prompt [N, D], the best prompt so
 * far [N, D], the optimiser's state tensors, and {@link State} (step, data position, best metric,
 * patience). Stored as a safetensors file: tensors {@code prompt}, {@code best_prompt},
 * {@code optimizer.<name>}; metadata {@code state} and {@code config} (JSON), {@code model_fingerprint},
 * {@code task}.
 */
public record Checkpoint(float[] prompt, float[] bestPrompt, long[] promptShape, Map<String, float[]> optimizer,
        Map<String, long[]> optimizerShapes, State state, TrainConfig config, String fingerprint) {

    public static final String KIND = "softprompt-checkpoint";

    /**
     * Where the run stands after {@code step}. The data order is a fixed function of (seed, epoch): each
     * epoch's permutation is drawn from a generator seeded with both, so the generator's whole state
     * is (seed, epoch), and (epoch, cursor) is the position in the data order.
     */
    public record State(
            @JsonProperty("step") int step,
            @JsonProperty("optimizer") String optimizer,
            @JsonProperty("optimizer_steps") int optimizerSteps,
            @JsonProperty("rng_seed") long rngSeed,
            @JsonProperty("epoch") int epoch,
            @JsonProperty("cursor") int cursor,
            @JsonProperty("best_metric") Double bestMetric,
            @JsonProperty("best_dev") Metrics bestDev,
            @JsonProperty("best_step") int bestStep,
            @JsonProperty("evals_since_best") int evalsSinceBest,
            @JsonProperty("last_loss") double lastLoss,
            @JsonProperty("train_seconds") double trainSeconds,
            @JsonProperty("train_examples") long trainExamples,
            @JsonProperty("initial_dev") Metrics initialDev) {}

    public void write(Path file) throws IOException {
        Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        t.put("prompt", SafetensorsWriter.Tensor.f32(prompt, promptShape));
        t.put("best_prompt", SafetensorsWriter.Tensor.f32(bestPrompt, promptShape));
        for (var e : optimizer.entrySet()) {
            t.put("optimizer." + e.getKey(), SafetensorsWriter.Tensor.f32(e.getValue(), optimizerShapes.get(e.getKey())));
        }
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", KIND);
        meta.put("format_version", "1.0");
        meta.put("state", Json.write(state));
        meta.put("config", Json.write(config));
        meta.put("model_fingerprint", fingerprint);
        meta.put("task", config.task());
        SafetensorsWriter.write(file, t, meta);
    }

    public static Checkpoint read(Path file) {
        SafetensorsFile f = SafetensorsFile.open(file);
        Map<String, String> meta = f.metadata();
        if (!KIND.equals(meta.get("format")) || !f.contains("prompt") || !f.contains("best_prompt")) {
            throw new UserException(file + ": not a softprompt checkpoint");
        }
        State state;
        TrainConfig config;
        try {
            state = Json.STRICT.readValue(meta.get("state"), State.class);
            config = Json.STRICT.readValue(meta.get("config"), TrainConfig.class);
        } catch (IOException | IllegalArgumentException e) {
            throw new UserException(file + ": checkpoint metadata is damaged: " + e.getMessage().split("\n")[0]);
        }
        Map<String, float[]> opt = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (String name : f.names()) {
            if (name.startsWith("optimizer.")) {
                String k = name.substring("optimizer.".length());
                opt.put(k, f.readFloats(name));
                shapes.put(k, f.info(name).shape());
            }
        }
        return new Checkpoint(f.readFloats("prompt"), f.readFloats("best_prompt"), f.info("prompt").shape(), opt, shapes,
                state, config, meta.get("model_fingerprint"));
    }
}
