package io.softprompt.eval;

import java.util.LinkedHashMap;
import java.util.Map;

/** Accuracy, macro-F1 and the confusion matrix (rows = gold class, columns = predicted). */
public record Metrics(int examples, double accuracy, double macroF1, long[][] confusion) {
    /**
     * The metrics of predictions against gold classes.
     *
     * @param gold the gold class of each row
     * @param predicted the predicted class of each row
     * @param classes how many classes there are
     * @return accuracy, macro-F1 and the confusion matrix
     */
    public static Metrics of(int[] gold, int[] predicted, int classes) {
        long[][] cm = new long[classes][classes];
        int correct = 0;
        for (int i = 0; i < gold.length; i++) {
            cm[gold[i]][predicted[i]]++;
            if (gold[i] == predicted[i]) {
                correct++;
            }
        }
        double f1Sum = 0;
        for (int c = 0; c < classes; c++) {
            long tp = cm[c][c];
            long fp = 0;
            long fn = 0;
            for (int k = 0; k < classes; k++) {
                if (k != c) {
                    fp += cm[k][c];
                    fn += cm[c][k];
                }
            }
            double denom = 2.0 * tp + fp + fn;
            f1Sum += denom == 0 ? 0 : 2.0 * tp / denom;
        }
        return new Metrics(gold.length, gold.length == 0 ? 0 : (double) correct / gold.length, f1Sum / classes, cm);
    }

    /**
     * The accuracy of always answering the most frequent gold class: the baseline a prompt must beat.
     *
     * @return that accuracy (0 without rows)
     */
    public double majorityAccuracy() {
        long best = 0;
        for (long[] row : confusion) {
            long n = 0;
            for (long c : row) {
                n += c;
            }
            best = Math.max(best, n);
        }
        return examples == 0 ? 0 : (double) best / examples;
    }

    /**
     * The metrics as JSON-ready values (final.json, metrics.jsonl, --json).
     *
     * @return examples, accuracy, macro_f1 (null when undefined) and confusion
     */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("examples", examples);
        if (confusion.length == 0) { // text-to-text: accuracy is exact match
            m.put("exact_match", accuracy);
            m.put("accuracy", accuracy);
            return m;
        }
        m.put("accuracy", accuracy);
        m.put("macro_f1", macroF1);
        m.put("confusion", confusion);
        return m;
    }
}
