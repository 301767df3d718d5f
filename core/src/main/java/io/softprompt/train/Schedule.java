package io.softprompt.train;

import io.softprompt.util.UserException;
import java.util.Locale;

/**
 * Learning-rate schedules as pure functions of the step (counted from 1). Each starts with a linear
 * warmup from lr/warmup to lr over {@code warmup} steps; then
 * <ul>
 *   <li>{@code constant}: lr (Lester et al.'s setting);
 *   <li>{@code linear}: straight down to 0 at the last step;
 *   <li>{@code cosine}: half a cosine from lr to 0 at the last step.
 * </ul>
 */
public enum Schedule {
    CONSTANT,
    LINEAR,
    COSINE;

    public static Schedule parse(String s) {
        if (s == null) {
            throw new UserException("{{schedule}}: no value (expected constant, linear or cosine)");
        }
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UserException("{{schedule}}: unknown value " + UserException.quote(s) + " (expected constant, linear or cosine)");
        }
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The learning rate at {@code step} of {@code total}, for peak {@code lr}. */
    public double lr(double lr, int warmup, int total, int step) {
        if (warmup > 0 && step <= warmup) {
            return lr * step / warmup;
        }
        if (this == CONSTANT || total <= warmup) {
            return lr;
        }
        double progress = Math.min(1.0, (double) (step - warmup) / (total - warmup)); // 0 → 1 after warmup
        return switch (this) {
            case LINEAR -> lr * (1.0 - progress);
            case COSINE -> lr * 0.5 * (1.0 + Math.cos(Math.PI * progress));
            case CONSTANT -> lr;
        };
    }
}
