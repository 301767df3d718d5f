package io.softprompt.train;

import com.fasterxml.jackson.annotation.JsonProperty;

/** The effective training configuration; stored whole in the .sp metadata. */
public record TrainConfig(
        @JsonProperty("task") String task,
        @JsonProperty("model") String model,
        @JsonProperty("train") String train,
        @JsonProperty("dev") String dev,
        @JsonProperty("tokens") int tokens,
        @JsonProperty("init") String init,
        @JsonProperty("init_text") String initText,
        @JsonProperty("objective") String objective,
        @JsonProperty("steps") int steps,
        @JsonProperty("epochs") Integer epochs,
        @JsonProperty("batch_size") int batchSize,
        @JsonProperty("lr") double lr,
        @JsonProperty("warmup") int warmup,
        @JsonProperty("weight_decay") double weightDecay,
        @JsonProperty("seed") long seed,
        @JsonProperty("max_length") int maxLength,
        @JsonProperty("eval_every") int evalEvery,
        @JsonProperty("eval_batch_size") int evalBatchSize,
        @JsonProperty("pad_to") int padTo,
        @JsonProperty("optimizer") String optimizer) {}
