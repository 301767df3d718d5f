package io.softprompt.train;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The effective training configuration, stored whole in the run folder (config.json), in every
 * checkpoint and in the .sp metadata. Every key is also a {@code train} flag (key {@code batch_size}
 * is {@code --batch-size}), so a stored config is a valid {@code --config} file. Null means "not
 * given": {@link #resolved} fills in what depends on the model and data.
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
public record TrainConfig(
        @JsonProperty("task") String task,
        @JsonProperty("model") String model,
        @JsonProperty("train") String train,
        @JsonProperty("dev") String dev,
        @JsonProperty("output") String output,
        @JsonProperty("tokens") int tokens,
        @JsonProperty("init") String init,
        @JsonProperty("init_text") String initText,
        @JsonProperty("objective") String objective,
        @JsonProperty("steps") Integer steps,
        @JsonProperty("epochs") Integer epochs,
        @JsonProperty("batch_size") int batchSize,
        @JsonProperty("optimizer") String optimizer,
        @JsonProperty("lr") double lr,
        @JsonProperty("schedule") String schedule,
        @JsonProperty("warmup") Integer warmup,
        @JsonProperty("weight_decay") double weightDecay,
        @JsonProperty("clip_norm") Double clipNorm,
        @JsonProperty("seed") long seed,
        @JsonProperty("max_length") Integer maxLength,
        @JsonProperty("eval_every") int evalEvery,
        @JsonProperty("eval_batch_size") int evalBatchSize,
        @JsonProperty("patience") Integer patience,
        @JsonProperty("checkpoint_every") int checkpointEvery,
        @JsonProperty("log_every") int logEvery,
        @JsonProperty("anchor_text") String anchorText,
        @JsonProperty("anchor_weight") double anchorWeight,
        @JsonProperty("pad_to") int padTo) {

    /** Steps from epochs, warmup (10% of steps) and max length (128, or what positions allow). */
    public TrainConfig resolved(int trainSize, int maxPositions) {
        int s = steps != null ? steps : epochs != null ? (int) Math.ceil((double) epochs * trainSize / batchSize) : 200;
        int w = warmup != null ? warmup : s / 10;
        int len = maxLength != null ? maxLength : Math.min(128, maxPositions - tokens);
        return new TrainConfig(task, model, train, dev, output, tokens, init, initText, objective, s, epochs, batchSize,
                optimizer, lr, schedule, w, weightDecay, clipNorm, seed, len, evalEvery, evalBatchSize, patience,
                checkpointEvery, logEvery, anchorText, anchorWeight, padTo);
    }

    /** A simple configuration for benchmarks and tests: AdamW, constant lr, no checkpoints. */
    public static TrainConfig simple(String task, String model, int tokens, String objective, int steps, int batchSize,
            double lr, long seed, int maxLength, int evalEvery, int evalBatchSize, int padTo) {
        return new TrainConfig(task, model, null, null, null, tokens, "vocab", null, objective, steps, null, batchSize,
                "adamw", lr, "constant", 0, 1e-5, null, seed, maxLength, evalEvery, evalBatchSize, null, 0, 0, null, 0.0,
                padTo);
    }
}
