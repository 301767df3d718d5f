package io.softprompt.infer;

import io.softprompt.data.Encoder;
import io.softprompt.data.Task;
import io.softprompt.loader.LoadedModel;
import io.softprompt.prompt.Prompt;
import io.softprompt.scoring.Scorer;
import io.softprompt.util.UserException;

/**
 * A trained prompt made ready to run on one model: its name (what rows ask for), where it came from,
 * its task, an encoder framing inputs for the model, and its {@link Scorer.Slot}. Used by eval, infer,
 * ensembles, mixed-task batches, serve and the Java API alike.
 */
public record Member(String name, String source, Prompt prompt, Task task, Encoder encoder, Scorer.Slot slot) {
    /** The longest input when the prompt does not say (its training's max_length). */
    public static final int DEFAULT_MAX_LENGTH = 128;

    /**
     * Checks the prompt fits the model (hidden size always; the fingerprint unless {@code force}) and
     * builds its encoder: inputs of at most {@code maxLength} tokens (null: the length it was trained
     * with, else {@value #DEFAULT_MAX_LENGTH}), never more than the model's positions leave after the
     * prompt. {@code source} names the prompt in errors.
     */
    public static Member of(LoadedModel model, String name, String source, Prompt prompt, Integer maxLength, boolean force) {
        Task task = prompt.task(source);
        prompt.checkFits(model, source, force);
        int len = maxLength != null ? maxLength : prompt.trainedMaxLength(DEFAULT_MAX_LENGTH);
        if (len < 2) {
            throw new UserException("--max-length must be at least 2 (got " + len + ")");
        }
        len = Math.min(len, model.lm().maxPositions() - prompt.tokens());
        if (len < 2) {
            throw new UserException(source + ": " + prompt.tokens() + " prompt tokens leave no room for text in the "
                    + "model's " + model.lm().maxPositions() + " positions");
        }
        Encoder enc = new Encoder(model.tokenizer(), task, len, model.lm());
        return new Member(name != null ? name : task.name(), source, prompt, task, enc,
                new Scorer.Slot(prompt.values(), prompt.tokens(), enc.labels()));
    }
}
