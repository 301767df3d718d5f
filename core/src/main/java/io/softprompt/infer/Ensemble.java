package io.softprompt.infer;

import io.softprompt.data.Encoder;
import io.softprompt.scoring.Scorer;
import io.softprompt.util.UserException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
/**
 * Prompt ensembles (Lester et al. 2021 §6): k prompts for one task on one frozen model. Every input
 * is scored under all k prompts in the same batched forward pass (each row carries its own prompt);
 * the members' class probabilities are then combined.
 */
public enum Ensemble {
    /** Majority vote of the members' predicted classes; a tie goes to the class with the higher mean probability. */
    VOTE,
    /** Mean of the members' class probabilities. */
    MEAN;

    public static Ensemble parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UserException("{{ensemble}}: unknown value '" + s + "' (expected vote or mean)");
        }
    }

    /** The combined decision: the chosen class and the scores shown for it (vote shares or mean probabilities). */
    public record Decision(int label, float[] scores) {}

    /** Combines members' probabilities [k][C]. */
    public Decision combine(float[][] members) {
        int c = members[0].length;
        float[] mean = new float[c];
        for (float[] p : members) {
            for (int j = 0; j < c; j++) {
                mean[j] += p[j] / members.length;
            }
        }
        if (this == MEAN) {
            return new Decision(Scorer.argmax(mean), mean);
        }
        float[] votes = new float[c];
        for (float[] p : members) {
            votes[Scorer.argmax(p)] += 1f / members.length;
        }
        int best = 0;
        for (int j = 1; j < c; j++) {
            if (votes[j] > votes[best] || (votes[j] == votes[best] && mean[j] > mean[best])) {
                best = j;
            }
        }
        return new Decision(best, votes);
    }

    /**
     * Every member's probabilities for every row: [rows][k][C]. The k copies of each row go into the
     * length buckets together, batchSize × k items per forward pass, so the number of passes does not
     * depend on k.
     */
    public static float[][][] memberProbabilities(Scorer scorer, List<Scorer.Slot> slots,
            List<Encoder.Encoded> rows, int batchSize) {
        int k = slots.size();
        List<Scorer.Item> items = new ArrayList<>(rows.size() * k);
        for (Encoder.Encoded r : rows) {
            for (int m = 0; m < k; m++) {
                items.add(new Scorer.Item(m, r));                 // item index = row·k + member
            }
        }
        float[][] flat = scorer.score(slots, items, scorer.batches(slots, items, batchSize * k, 0));
        float[][][] out = new float[rows.size()][k][];
        for (int i = 0; i < rows.size(); i++) {
            for (int m = 0; m < k; m++) {
                out[i][m] = flat[i * k + m];
            }
        }
        return out;
    }
}
