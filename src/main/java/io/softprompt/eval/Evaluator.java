package io.softprompt.eval;

import io.softprompt.data.Encoder;
import io.softprompt.infer.Predictor;
import java.util.List;

/** Scores labelled examples under a prompt. */
public final class Evaluator {
    /** Metrics plus throughput. */
    public record Result(Metrics metrics, double examplesPerSec, double seconds) {}

    private Evaluator() {}

    public static Result evaluate(Predictor predictor, float[] prompt, int n, List<Encoder.Encoded> rows, int classes) {
        long t0 = System.nanoTime();
        float[][] probs = predictor.probabilities(prompt, n, rows);
        double secs = (System.nanoTime() - t0) / 1e9;
        int[] gold = new int[rows.size()];
        int[] pred = new int[rows.size()];
        for (int i = 0; i < gold.length; i++) {
            gold[i] = rows.get(i).label();
            pred[i] = Predictor.argmax(probs[i]);
        }
        return new Result(Metrics.of(gold, pred, classes), rows.size() / Math.max(secs, 1e-9), secs);
    }
}
