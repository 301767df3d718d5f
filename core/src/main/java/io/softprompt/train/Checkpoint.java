package io.softprompt.train;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import io.softprompt.eval.Metrics;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.safetensors.SafetensorsWriter;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Everything needed to continue a run exactly where it stopped: the prompt [N, D], the best prompt so
 * far [N, D], the optimiser's state tensors, θ [Z] of a reparameterised prompt ({@link Reparam}; the
 * prompts are then its folded values), and {@link State} (step, data position, best metric,
 * patience). Stored as a safetensors file: tensors {@code prompt}, {@code best_prompt},
 * {@code optimizer.<name>}, {@code reparam} (only when reparameterised); metadata {@code state} and {@code config} (JSON), {@code model_fingerprint},
 * {@code task}.
 */
public record Checkpoint(float[] prompt, float[] bestPrompt, long[] promptShape, Map<String, float[]> optimizer,
        Map<String, long[]> optimizerShapes, State state, TrainConfig config, String fingerprint, float[] reparam) {

    /** A plain prompt's checkpoint (no reparameterisation). */
    public Checkpoint(float[] prompt, float[] bestPrompt, long[] promptShape, Map<String, float[]> optimizer,
            Map<String, long[]> optimizerShapes, State state, TrainConfig config, String fingerprint) {
        this(prompt, bestPrompt, promptShape, optimizer, optimizerShapes, state, config, fingerprint, null);
    }

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
        if (reparam != null) {
            t.put("reparam", SafetensorsWriter.Tensor.f32(reparam, new long[] {reparam.length}));
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
        } catch (JsonProcessingException e) {
            throw new UserException(file + ": checkpoint metadata is damaged: " + Json.describe(e));
        } catch (IOException | IllegalArgumentException e) {
            throw new UserException(file + ": checkpoint metadata is damaged");
        }
        if (state == null || config == null) {
            throw new UserException(file + ": checkpoint metadata is damaged (state or config is null)");
        }
        if (config.tokens() < 1 || config.optimizer() == null || config.steps() == null || config.steps() < 0) {
            throw new UserException(file + ": checkpoint metadata is damaged (its config has no valid tokens, steps or optimizer)");
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
        Checkpoint c = new Checkpoint(f.readFloats("prompt"), f.readFloats("best_prompt"), f.info("prompt").shape(), opt,
                shapes, state, config, meta.get("model_fingerprint"), f.contains("reparam") ? f.readFloats("reparam") : null);
        c.check(file, f.info("best_prompt").shape());
        return c;
    }

    /**
     * Refuses a checkpoint that cannot be where a run of its own config stands: a prompt or optimiser
     * state that is not finite (resuming would only fail later and blame the learning rate), shapes
     * that are not the config's [tokens, D], or a state (step, optimiser steps, data position, best
     * step) outside what the config allows. Each names the file and what is wrong; none restarts.
     */
    void check(Path file, long[] bestShape) {
        String bad = null;
        int steps = config.steps() == null ? Integer.MAX_VALUE : config.steps();
        if (promptShape.length != 2 || promptShape[0] != config.tokens() || promptShape[1] < 1) {
            bad = "its prompt has shape " + Arrays.toString(promptShape) + " but its config says " + config.tokens() + " tokens";
        } else if (!Arrays.equals(bestShape, promptShape)) {
            bad = "its best prompt has shape " + Arrays.toString(bestShape) + ", its prompt " + Arrays.toString(promptShape);
        } else if (!finite(prompt)) {
            bad = "its prompt holds non-finite values (NaN or Inf)";
        } else if (!finite(bestPrompt)) {
            bad = "its best prompt holds non-finite values (NaN or Inf)";
        } else if (state.step() < 0 || state.step() > steps) {
            bad = "its step " + state.step() + " is outside the run's 0.." + steps + " steps";
        } else if (!config.optimizer().equals(state.optimizer())) {
            bad = "its state names optimizer " + UserException.quote(state.optimizer()) + " but its config "
                    + UserException.quote(config.optimizer());
        } else if (state.optimizerSteps() < 0 || state.optimizerSteps() > state.step()) {
            bad = "its optimizer took " + state.optimizerSteps() + " steps in " + state.step() + " training steps";
        } else if (state.epoch() < 0 || state.cursor() < 0) {
            bad = "its data position (epoch " + state.epoch() + ", row " + state.cursor() + ") is negative";
        } else if (state.bestStep() < 0 || state.bestStep() > state.step()) {
            bad = "its best step " + state.bestStep() + " is not between 0 and its step " + state.step();
        } else if (state.evalsSinceBest() < 0) {
            bad = "its count of evaluations since the best is negative";
        } else if (state.bestMetric() != null && !(state.bestMetric() >= 0 && state.bestMetric() <= 1)) {
            bad = "its best metric " + state.bestMetric() + " is not between 0 and 1";
        } else if (!Double.isFinite(state.trainSeconds()) || state.trainSeconds() < 0 || state.trainExamples() < 0) {
            bad = "its timing figures are negative or not finite";
        } else if ((Reparam.kind(config) != null) != (reparam != null)) {
            bad = reparam == null ? "its config reparameterises the prompt but it holds no reparam tensor"
                    : "it holds a reparam tensor but its config trains a plain prompt";
        } else if (reparam != null && !finite(reparam)) {
            bad = "its reparameterisation holds non-finite values (NaN or Inf)";
        } else {
            for (var e : optimizer.entrySet()) {
                if (!finite(e.getValue())) {
                    bad = "its optimizer state " + UserException.quote(e.getKey()) + " holds non-finite values";
                    break;
                }
            }
        }
        if (bad != null) {
            throw new UserException(file + ": damaged checkpoint: " + bad + "; start the run afresh with {{force}}, or "
                    + "resume from " + RunDir.PREVIOUS + " if it is sound");
        }
    }

    private static boolean finite(float[] v) {
        for (float x : v) {
            if (!Float.isFinite(x)) {
                return false;
            }
        }
        return true;
    }
}
