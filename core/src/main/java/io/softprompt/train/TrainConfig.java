package io.softprompt.train;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.softprompt.prompt.PromptInit;
import io.softprompt.scoring.Objective;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The effective training configuration, stored whole in the run folder (config.json), in every
 * checkpoint and in the .sp metadata. Every key is also a {@code train} flag (key {@code batch_size}
 * is {@code --batch-size}), so a stored config is a valid {@code --config} file, and a sweep's grid
 * points are these keys. Null means "not given": {@link #resolved} fills in what depends on the model
 * and data. Build one with {@link #builder()}; {@link #defaults()} are the command line's defaults.
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
        @JsonProperty("init_from") String initFrom,
        @JsonProperty("objective") String objective,
        @JsonProperty("steps") Integer steps,
        @JsonProperty("epochs") Integer epochs,
        @JsonProperty("batch_size") int batchSize,
        @JsonProperty("grad_accum") int gradAccum,
        @JsonProperty("group_by_length") boolean groupByLength,
        @JsonProperty("optimizer") String optimizer,
        @JsonProperty("lr") Double lr,
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
        @JsonProperty("anchor_weight") Double anchorWeight,
        @JsonProperty("pad_to") int padTo) {

    /** A key a config file may hold for people: ignored. */
    public static final String DESCRIPTION = "description";

    /** Peak learning rates when none is given (Lester et al. used 0.3 with Adafactor). */
    public static final double ADAMW_LR = 0.03;
    public static final double ADAFACTOR_LR = 0.3;
    /** The anchor term's weight when --anchor-text is given without --anchor-weight. */
    public static final double ANCHOR_WEIGHT = 0.01;

    /**
     * Config values as the user writes them: no coercion between strings and numbers, no fractions
     * for whole numbers, no null for a number that must be there, no unknown key.
     */
    private static final ObjectMapper VALUES = JsonMapper.builder()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true)
            .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, true)
            .configure(DeserializationFeature.ACCEPT_FLOAT_AS_INT, false)
            .configure(MapperFeature.ALLOW_COERCION_OF_SCALARS, false)
            .build();

    /** The defaults: what {@code softprompt train} does with no flags. */
    public static TrainConfig defaults() {
        return new Builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** The keys (flag names with '_'), in order. */
    public static Set<String> keys() {
        Set<String> keys = new LinkedHashSet<>();
        Json.MAPPER.valueToTree(defaults()).fieldNames().forEachRemaining(keys::add);
        return keys;
    }

    /**
     * {@code base} with the keys of {@code json} set over it; {@code source} names the file (or run)
     * in errors: an unknown key, or a value of the wrong type, is refused naming the key.
     */
    public static TrainConfig overlay(TrainConfig base, JsonNode json, String source) {
        if (json == null || !json.isObject()) {
            throw new UserException(source + ": must hold a JSON object of training keys and values");
        }
        ObjectNode merged = Json.MAPPER.valueToTree(base);
        Set<String> known = keys();
        for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals(DESCRIPTION)) {
                continue; // what the file is for, in words
            }
            if (!known.contains(e.getKey())) {
                throw new UserException(source + ": unknown key " + UserException.quote(e.getKey()) + " (known: "
                        + String.join(", ", new TreeSet<>(known)) + ")");
            }
            merged.set(e.getKey(), e.getValue());
            try {
                VALUES.treeToValue(merged, TrainConfig.class);
            } catch (JsonProcessingException | IllegalArgumentException ex) {
                throw new UserException(source + ": key '" + e.getKey() + "' must be " + expected(e.getKey())
                        + " (got " + shown(e.getValue()) + ")");
            }
        }
        // a layer that names a source prompt and no init means transfer: an earlier layer's init
        // (a recipe's "init": "random") gives way, as any key a later layer sets does
        JsonNode from = json.get("init_from");
        if (from != null && !from.isNull() && !json.has("init")) {
            merged.put("init", PromptInit.TRANSFER.id());
        }
        try {
            return VALUES.treeToValue(merged, TrainConfig.class);
        } catch (JsonProcessingException e) {
            throw new UserException(source + ": " + Json.describe(e));
        }
    }

    /** A JSON value in a message: as JSON, cut to a sane length. */
    private static String shown(JsonNode v) {
        String s = v.toString();
        return s.length() <= UserException.MAX_QUOTED ? s : s.substring(0, UserException.MAX_QUOTED) + "…";
    }

    /** What a key's value must be, in words, from its component's type. */
    static String expected(String key) {
        for (Field f : TrainConfig.class.getDeclaredFields()) {
            JsonProperty p = f.getAnnotation(JsonProperty.class);
            if (p != null && p.value().equals(key)) {
                Class<?> t = f.getType();
                String what = t == int.class || t == Integer.class || t == long.class || t == Long.class ? "a whole number"
                        : t == double.class || t == Double.class ? "a number" : "a string";
                return what;
            }
        }
        return "a valid value";
    }

    /** The peak learning rate: as given, else the optimiser's default. */
    public double learningRate() {
        return lr != null ? lr : "adafactor".equals(optimizer) ? ADAFACTOR_LR : ADAMW_LR;
    }

    /** Rows one optimizer step sees: batch_size micro-batches of it, grad_accum of them. */
    public int rowsPerStep() {
        return batchSize * gradAccum;
    }

    /** The anchor term's weight: 0 without an anchor text. */
    public double anchorWeightOrZero() {
        return anchorText == null ? 0 : anchorWeight != null ? anchorWeight : ANCHOR_WEIGHT;
    }

    /**
     * Names normalised (optimizer, init, objective, schedule in lower case), the output defaulted to
     * {@code <task>.sp}, the learning rate and anchor weight filled in, and every path the user gave
     * (task file, model folder, data, output) resolved once against the working folder: a run and
     * the .sp it writes name their files absolutely, so eval and resume work from anywhere.
     */
    public TrainConfig normalized(String taskName) {
        Builder b = toBuilder();
        b.optimizer = Optimizer.check(optimizer);
        b.init = initFrom != null ? PromptInit.TRANSFER.id() : PromptInit.parse(init).id();
        b.initFrom = abs(initFrom);
        b.objective = Objective.parse(objective).name().toLowerCase(Locale.ROOT);
        b.schedule = Schedule.parse(schedule).id();
        b.lr = learningRate();
        b.anchorWeight = anchorText == null ? anchorWeight : Double.valueOf(anchorWeightOrZero());
        b.output = abs(output != null ? output : taskName + ".sp");
        b.train = abs(train);
        b.dev = abs(dev);
        if (task != null && task.endsWith(".json") && Files.isRegularFile(Path.of(task))) {
            b.task = abs(task);
        }
        if (model != null && Files.isDirectory(Path.of(model))) {
            b.model = abs(model);
        }
        return b.build();
    }

    private static String abs(String p) {
        return p == null ? null : Path.of(p).toAbsolutePath().normalize().toString();
    }

    /** Refuses values no run can use, naming the flag; pairings that mean nothing are refused too. */
    public TrainConfig validate() {
        check(tokens >= 1, "--tokens must be at least 1 (got " + tokens + ")");
        check(steps == null || epochs == null, "--steps and --epochs cannot be used together");
        check(steps == null || steps >= 0, "--steps must not be negative (got " + steps + "; 0 writes the initialised prompt)");
        check(epochs == null || epochs >= 1, "--epochs must be at least 1 (got " + epochs + ")");
        check(batchSize >= 1, "--batch-size must be at least 1 (got " + batchSize + ")");
        check(gradAccum >= 1, "--grad-accum must be at least 1 (got " + gradAccum + ")");
        check(evalBatchSize >= 1, "--eval-batch-size must be at least 1 (got " + evalBatchSize + ")");
        check(lr == null || (lr > 0 && Double.isFinite(lr)), "--lr must be a positive number (got " + lr + ")");
        check(weightDecay >= 0 && Double.isFinite(weightDecay), "--weight-decay must be a non-negative number (got "
                + weightDecay + ")");
        check(warmup == null || warmup >= 0, "--warmup must not be negative (got " + warmup + ")");
        check(steps == null || warmup == null || warmup <= steps, "--warmup " + warmup + " is longer than --steps " + steps);
        check(clipNorm == null || (clipNorm > 0 && Double.isFinite(clipNorm)), "--clip-norm must be a positive number (got "
                + clipNorm + ")");
        check(maxLength == null || maxLength >= 2, "--max-length must be at least 2 (got " + maxLength + ")");
        check(evalEvery >= 1, "--eval-every must be at least 1 (got " + evalEvery + ")");
        check(patience == null || patience >= 1, "--patience must be at least 1 (got " + patience + ")");
        check(checkpointEvery >= 0, "--checkpoint-every must not be negative (got " + checkpointEvery + ")");
        check(logEvery >= 1, "--log-every must be at least 1 (got " + logEvery + ")");
        check(padTo >= 0, "--pad-to must not be negative (got " + padTo + ")");
        Optimizer.check(optimizer);
        Objective.parse(objective);
        Schedule.parse(schedule);
        PromptInit init = PromptInit.parse(this.init);
        check(init != PromptInit.TEXT || (initText != null && !initText.isBlank()),
                "--init text needs --init-text \"...\"");
        check(initText == null || init == PromptInit.TEXT,
                "--init-text is only used with --init text (got --init " + this.init + ")");
        check(initFrom == null || init == PromptInit.VOCAB || init == PromptInit.TRANSFER,
                "--init-from replaces --init (got --init " + this.init + ")");
        check(initFrom == null || initText == null, "--init-text is only used with --init text, not --init-from");
        check(initFrom == null || Files.isRegularFile(Path.of(initFrom)), "--init-from " + initFrom + ": file not found");
        check(init != PromptInit.TRANSFER || initFrom != null, "--init transfer needs --init-from FILE.sp");
        check(anchorText == null || !anchorText.isBlank(), "--anchor-text must not be empty");
        check(anchorWeight == null || (anchorWeight >= 0 && Double.isFinite(anchorWeight)),
                "--anchor-weight must be a non-negative number (got " + anchorWeight + ")");
        check(anchorWeight == null || anchorText != null, "--anchor-weight needs --anchor-text \"...\" (the text the "
                + "prompt is kept near)");
        check(patience == null || dev != null || train == null, "--patience needs a dev set: pass --dev FILE");
        return this;
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new UserException(message);
        }
    }

    /** Steps from epochs, warmup (10% of steps) and max length (128, or what positions allow). */
    public TrainConfig resolved(int trainSize, int maxPositions) {
        Builder b = toBuilder();
        b.steps = steps != null ? steps : epochs != null ? (int) Math.ceil((double) epochs * trainSize / ((long) batchSize * gradAccum))
                : 200;
        b.warmup = warmup != null ? warmup : b.steps / 10;
        b.maxLength = maxLength != null ? maxLength : Math.min(128, maxPositions - tokens);
        return b.build();
    }

    /** Builds a config; every field starts at its default. */
    public static final class Builder {
        private String task = "sst2";
        private String model;
        private String train;
        private String dev;
        private String output;
        private int tokens = 20;
        private String init = "vocab";
        private String initText;
        private String initFrom;
        private String objective = "verbalizer";
        private Integer steps;
        private Integer epochs;
        private int batchSize = 8;
        private int gradAccum = 1;
        private boolean groupByLength;
        private String optimizer = "adamw";
        private Double lr;
        private String schedule = "constant";
        private Integer warmup;
        private double weightDecay = 1e-5;
        private Double clipNorm;
        private long seed = 42;
        private Integer maxLength;
        private int evalEvery = 50;
        private int evalBatchSize = 32;
        private Integer patience;
        private int checkpointEvery = 50;
        private int logEvery = 10;
        private String anchorText;
        private Double anchorWeight;
        private int padTo;

        private Builder() {}

        private Builder(TrainConfig c) {
            task = c.task;
            model = c.model;
            train = c.train;
            dev = c.dev;
            output = c.output;
            tokens = c.tokens;
            init = c.init;
            initText = c.initText;
            initFrom = c.initFrom;
            objective = c.objective;
            steps = c.steps;
            epochs = c.epochs;
            batchSize = c.batchSize;
            gradAccum = c.gradAccum;
            groupByLength = c.groupByLength;
            optimizer = c.optimizer;
            lr = c.lr;
            schedule = c.schedule;
            warmup = c.warmup;
            weightDecay = c.weightDecay;
            clipNorm = c.clipNorm;
            seed = c.seed;
            maxLength = c.maxLength;
            evalEvery = c.evalEvery;
            evalBatchSize = c.evalBatchSize;
            patience = c.patience;
            checkpointEvery = c.checkpointEvery;
            logEvery = c.logEvery;
            anchorText = c.anchorText;
            anchorWeight = c.anchorWeight;
            padTo = c.padTo;
        }

        /** A built-in task name or a task .json path. */
        public Builder task(String v) {
            task = v;
            return this;
        }

        /** A model folder or hub id (null: the default model). */
        public Builder model(String v) {
            model = v;
            return this;
        }

        public Builder train(String v) {
            train = v;
            return this;
        }

        public Builder dev(String v) {
            dev = v;
            return this;
        }

        /** Where the .sp goes (default: {@code <task>.sp}); the run folder sits beside it. */
        public Builder output(String v) {
            output = v;
            return this;
        }

        public Builder tokens(int v) {
            tokens = v;
            return this;
        }

        /** random | vocab | text | labels. */
        public Builder init(String v) {
            init = v;
            return this;
        }

        public Builder initText(String v) {
            initText = v;
            return this;
        }

        /** A .sp of the same model to start from (prompt transfer); its rows truncated or tiled to the length. */
        public Builder initFrom(String v) {
            initFrom = v;
            return this;
        }

        /** verbalizer | lm. */
        public Builder objective(String v) {
            objective = v;
            return this;
        }

        public Builder steps(Integer v) {
            steps = v;
            return this;
        }

        public Builder epochs(Integer v) {
            epochs = v;
            return this;
        }

        public Builder batchSize(int v) {
            batchSize = v;
            return this;
        }

        /** Micro-batches of batch_size rows per optimizer step (a step then sees batch_size × grad_accum rows). */
        public Builder gradAccum(int v) {
            gradAccum = v;
            return this;
        }

        /** Length-grouped sampling: batches of similar lengths (less padding), as the HF Trainer's option. */
        public Builder groupByLength(boolean v) {
            groupByLength = v;
            return this;
        }

        /** adamw | adafactor. */
        public Builder optimizer(String v) {
            optimizer = v;
            return this;
        }

        public Builder lr(Double v) {
            lr = v;
            return this;
        }

        /** constant | linear | cosine. */
        public Builder schedule(String v) {
            schedule = v;
            return this;
        }

        public Builder warmup(Integer v) {
            warmup = v;
            return this;
        }

        public Builder weightDecay(double v) {
            weightDecay = v;
            return this;
        }

        public Builder clipNorm(Double v) {
            clipNorm = v;
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public Builder maxLength(Integer v) {
            maxLength = v;
            return this;
        }

        public Builder evalEvery(int v) {
            evalEvery = v;
            return this;
        }

        public Builder evalBatchSize(int v) {
            evalBatchSize = v;
            return this;
        }

        public Builder patience(Integer v) {
            patience = v;
            return this;
        }

        public Builder checkpointEvery(int v) {
            checkpointEvery = v;
            return this;
        }

        public Builder logEvery(int v) {
            logEvery = v;
            return this;
        }

        public Builder anchorText(String v) {
            anchorText = v;
            return this;
        }

        public Builder anchorWeight(Double v) {
            anchorWeight = v;
            return this;
        }

        /** Pad every batch to at least this many tokens (benchmarks at fixed shapes). */
        public Builder padTo(int v) {
            padTo = v;
            return this;
        }

        public TrainConfig build() {
            return new TrainConfig(task, model, train, dev, output, tokens, init, initText, initFrom, objective, steps, epochs,
                    batchSize, gradAccum, groupByLength, optimizer, lr, schedule, warmup, weightDecay, clipNorm, seed, maxLength, evalEvery,
                    evalBatchSize, patience, checkpointEvery, logEvery, anchorText, anchorWeight, padTo);
        }
    }
}
