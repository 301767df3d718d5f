package io.softprompt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.softprompt.util.Tensors;
import io.softprompt.util.UserException;
import java.util.Locale;
import java.util.Map;

/**
 * An optimiser for the one trainable tensor, the prompt [N, D]. Written here rather than taken from
 * DJL: on the PyTorch engine DJL offers only SGD/Adam/AdamW, and keeps their state private, while a
 * checkpoint must save and restore it exactly.
 */
public interface Optimizer extends AutoCloseable {
    /** One update of param in place, outside gradient recording. grad has param's shape. */
    void step(NDArray param, NDArray grad, double lr);

    /** Updates taken so far (bias correction and decay schedules depend on it). */
    int steps();

    /** The state tensors by name, for checkpoints (the arrays themselves, not copies). */
    Map<String, NDArray> state();

    /** Restores state saved from {@link #state()} and the step count. */
    default void restore(Map<String, float[]> values, int steps) {
        for (Map.Entry<String, NDArray> e : state().entrySet()) {
            float[] v = values.get(e.getKey());
            if (v == null || v.length != e.getValue().size()) {
                throw new UserException("checkpoint: optimizer state '" + e.getKey() + "' is missing or has a wrong size");
            }
            // copied in by arithmetic from a PyTorch-owned array: NDArray.set() takes libtorch's
            // deprecated AutoNonVariableTypeMode path and prints a warning on every resume
            try (NDArray src = Tensors.create(e.getValue().getManager(), v, e.getValue().getShape())) {
                e.getValue().muli(0).addi(src);
            }
        }
        setSteps(steps);
    }

    void setSteps(int steps);

    @Override
    void close();

    /** The optimisers by name, with the settings the CLI exposes. */
    /** The optimisers: AdamW, and Adafactor in Lester et al.'s setting. */
    enum Kind {
        ADAMW, ADAFACTOR;

        /** A name as configs write it (any case). */
        static Kind parse(String name) {
            return Kind.valueOf(check(name).toUpperCase(Locale.ROOT));
        }
    }

    static Optimizer create(Kind kind, NDManager manager, NDArray param, double weightDecay) {
        return switch (kind) {
            case ADAMW -> new AdamW(manager, param, 0.9, 0.999, 1e-8, weightDecay);
            case ADAFACTOR -> new Adafactor(manager, param, Adafactor.DECAY_RATE, Adafactor.CLIP_THRESHOLD, Adafactor.EPS1,
                    weightDecay);
        };
    }

    static String check(String name) {
        if (name == null) {
            throw new UserException("{{optimizer}}: no value (expected adafactor or adamw)");
        }
        String n = name.toLowerCase(Locale.ROOT);
        if (!n.equals("adamw") && !n.equals("adafactor")) {
            throw new UserException("{{optimizer}}: unknown value " + UserException.quote(name) + " (expected adafactor or adamw)");
        }
        return n;
    }
}
