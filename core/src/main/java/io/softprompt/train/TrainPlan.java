package io.softprompt.train;

import io.softprompt.model.PromptSite;
import io.softprompt.scoring.Objective;

/**
 * A run's configuration as the trainer consumes it: resolved (steps, warmup and the learning rate
 * known) and its names parsed into their types once, so nothing in the loop parses a string or meets a
 * null. The {@link TrainConfig} it came from (what config.json and checkpoints store) rides along for
 * the plain values (batch size, seed, intervals).
 *
 * @param config the resolved config
 * @param steps optimizer steps
 * @param warmup linear warmup steps
 * @param lr the peak learning rate (the optimiser's default when none was given)
 * @param optimizer the optimiser
 * @param objective the loss
 * @param schedule the learning-rate schedule after warmup
 * @param anchorWeight the anchor term's weight (0: no anchor)
 * @param site where the prompt enters the model (its depth, settled)
 */
public record TrainPlan(TrainConfig config, int steps, int warmup, double lr, Optimizer.Kind optimizer, Objective objective,
        Schedule schedule, double anchorWeight, PromptSite site) {

    /** The plan of a config whose steps and warmup are resolved ({@link TrainConfig#resolved}). */
    public static TrainPlan of(TrainConfig c) {
        if (c.steps() == null || c.warmup() == null) {
            throw new IllegalArgumentException("a training plan needs resolved steps and warmup (TrainConfig.resolved)");
        }
        return new TrainPlan(c, c.steps(), c.warmup(), c.learningRate(), Optimizer.Kind.parse(c.optimizer()),
                Objective.parse(c.objective()), Schedule.parse(c.schedule()), c.anchorWeightOrZero(),
                c.site());
    }
}
