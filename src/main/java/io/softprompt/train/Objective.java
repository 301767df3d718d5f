package io.softprompt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Prompted;
import io.softprompt.util.UserException;
import java.util.Locale;

/**
 * What training minimises, read at one decision position per example (the logits of the last real
 * token, which predict the next token).
 *
 * <ul>
 *   <li>{@code verbalizer} (default): cross-entropy over the C label tokens only: logits [B, C] from
 *       C rows of the LM head. Cheap, and what classification accuracy measures.
 *   <li>{@code lm}: cross-entropy of the label token over the full vocabulary [B, V] at that one
 *       position: the loss a PEFT user gets from {@code labels=}.
 * </ul>
 *
 * <p>A label word that tokenizes into several pieces is scored by its first piece (the one predicted at
 * the decision position); tasks whose label words share a first piece are refused when loaded.
 */
public enum Objective {
    VERBALIZER,
    LM;

    public static Objective parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UserException("--objective: unknown value '" + s + "' (expected verbalizer or lm)");
        }
    }

    /**
     * Mean loss over the batch. prompt [N, D] or [B, N, D]; ids, mask [B, T]; positions [B] on the token
     * axis; classes [B] class indices; labelTokens [C] the first token of each class's label word.
     */
    public NDArray loss(LanguageModel lm, NDArray prompt, NDArray ids, NDArray mask, long[] positions,
            long[] classes, long[] labelTokens) {
        NDManager m = ids.getManager();
        NDArray h = Prompted.hiddenAt(lm, prompt, ids, mask, positions);   // [B, D]
        return switch (this) {
            case VERBALIZER -> Prompted.crossEntropy(lm.logits(h, m.create(labelTokens)), m.create(classes)); // [B, C]
            case LM -> {
                long[] targets = new long[classes.length];
                for (int i = 0; i < classes.length; i++) {
                    targets[i] = labelTokens[(int) classes[i]];
                }
                yield Prompted.crossEntropy(lm.logits(h), m.create(targets));                                   // [B, V]
            }
        };
    }
}
