package io.softprompt.infer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.softprompt.data.Encoder;
import io.softprompt.data.Task;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.PromptSite;
import io.softprompt.prompt.Prompt;
import io.softprompt.scoring.Decoding;
import io.softprompt.scoring.Generator;
import io.softprompt.scoring.Scorer;
import io.softprompt.util.Startup;
import io.softprompt.util.Tensors;
import io.softprompt.util.UserException;
import java.util.List;

/**
 * A trained prompt made ready to run on one model: its name (what rows ask for), where it came from,
 * its task, an encoder framing inputs for the model, and its {@link Scorer.Slot}. Used by eval, infer,
 * ensembles, mixed-task batches, serve and the Java API alike.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): T tokens, N prompt tokens, S positions (N + T), D hidden, L layers,
 * Hkv key/value heads, K head size.
 */
public record Member(String name, String source, Prompt prompt, Task task, Encoder encoder, Scorer.Slot slot) {
    /** The longest input when the prompt does not say (its training's max_length). */
    public static final int DEFAULT_MAX_LENGTH = 128;

    /**
     * Checks the prompt fits the model (hidden size always; the fingerprint unless {@code force}) and
     * builds its encoder: inputs of at most {@code maxLength} tokens (null: the length it was trained
     * with, else {@value #DEFAULT_MAX_LENGTH}), never more than the model's positions leave after the
     * prompt. {@code source} names the prompt in errors.
     *
     * @param model the model
     * @param name the task name it answers for (null: the prompt's own task name)
     * @param source how errors name the prompt (its file, usually)
     * @param prompt the prompt
     * @param maxLength the longest input in tokens, or null
     * @param force use it even if it was trained on another model (fingerprint)
     * @return the prompt fitted to the model
     */
    public static Member of(LoadedModel model, String name, String source, Prompt prompt, Integer maxLength, boolean force) {
        Task task = prompt.task(source);
        if (task.textToText()) {
            prompt.site().checkGenerates(model.lm(), source + ": a " + prompt.site().noun());
        }
        prompt.checkFits(model, source, force);
        int len = maxLength != null ? maxLength : prompt.trainedMaxLength(DEFAULT_MAX_LENGTH);
        if (len < 2) {
            throw new UserException("{{max_length}} must be at least 2 (got " + len + ")");
        }
        // a generating task keeps one position free: an input cut to fill every position left no room to generate
        len = Math.min(len, model.lm().maxPositions() - prompt.tokens() - (task.textToText() ? 1 : 0));
        if (len < 2) {
            throw new UserException(source + ": " + prompt.tokens() + " prompt tokens leave no room for text in the "
                    + "model's " + model.lm().maxPositions() + " positions");
        }
        Encoder enc = new Encoder(model.tokenizer(), task, len, model.lm(), model::chatTemplate);
        Member m = new Member(name != null ? name : task.name(), source, prompt, task, enc,
                new Scorer.Slot(prompt.values(), prompt.tokens(), enc.labels(), prompt.site(), enc.sharedHead()));
        m.checkFinite(model);
        Startup.mark("prompt");
        return m;
    }

    /**
     * The one way a generation request is made: this prompt, at its site, before {@code text} framed by
     * the task's template.
     *
     * @param text the input text
     * @param decoding how to generate
     * @return the request
     */
    public Generator.Request request(String text, Decoding decoding) {
        // the input is cut to leave a position free ({@link #of}), so the request always has room to generate
        return new Generator.Request(prompt.values(), prompt.tokens(), encoder.encodeText(text), decoding, prompt.site());
    }

    /** A prompt whose values the file allows but the model cannot use: its output is NaN or infinite. */
    public static final class NonFinite extends UserException {
        private static final long serialVersionUID = 1L;

        NonFinite(String message) {
            super(message);
        }
    }

    /**
     * Runs the prompt once in front of a one-word input and refuses it when the model's output is
     * not finite: finite values can still overflow inside the model (a norm of 1e30 squared), so the
     * file's own check is not enough. One short forward pass.
     */
    void checkFinite(LoadedModel model) {
        Encoder.Encoded probe = encoder.encode("a", -1);
        boolean finite;
        if (task.textToText()) {
            try (NDManager m = NDManager.newBaseManager(model.lm().device())) {
                NDArray ids = Tensors.create(m, probe.ids(), new Shape(1, probe.ids().length));                 // [1, T]
                NDArray mask = m.ones(new Shape(1, probe.ids().length), DataType.INT64);                        // [1, T]
                PromptSite site = prompt.site();
                NDArray p = site.tensor(m, model.lm(), prompt.values(), prompt.tokens());                      // [N, O]
                finite = allFinite(site.hidden(model.lm(), p, ids, mask).toFloatArray());                      // [1, S, D]
            }
        } else {
            try (Scorer s = new Scorer(model.lm(), false)) {
                finite = allFinite(s.probabilities(slot, List.of(probe), 1)[0]);
            }
        }
        if (!finite) {
            float max = 0;
            for (float v : prompt.values()) {
                max = Math.max(max, Math.abs(v));
            }
            throw new NonFinite(source + ": the prompt's values (largest |x| = " + max + ") make the model's output "
                    + "non-finite (NaN or infinite); it cannot be used on " + model.name());
        }
    }

    private static boolean allFinite(float[] values) {
        for (float v : values) {
            if (!Float.isFinite(v)) {
                return false;
            }
        }
        return true;
    }
}
