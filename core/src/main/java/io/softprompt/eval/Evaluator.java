package io.softprompt.eval;

import io.softprompt.data.Encoder;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.PromptSite;
import io.softprompt.model.TextTokenizer;
import io.softprompt.scoring.Decoding;
import io.softprompt.scoring.Generator;
import io.softprompt.scoring.Scorer;
import java.util.Arrays;
import java.util.List;

/** Scores labelled examples under a prompt: through the {@link Scorer} for classes, by generation for text. */
public final class Evaluator {
    /** Metrics plus throughput. */
    public record Result(Metrics metrics, double examplesPerSec, double seconds) {}

    private Evaluator() {}

    /**
     * Accuracy, macro-F1 and confusion of one prompt on labelled rows, batchSize rows per forward pass.
     *
     * @param scorer the scorer of the model
     * @param prompt the prompt with its label words
     * @param rows labelled, encoded rows
     * @param batchSize rows per forward pass
     * @return the metrics and the speed
     */
    public static Result classify(Scorer scorer, Scorer.Slot prompt, List<Encoder.Encoded> rows, int batchSize) {
        long t0 = System.nanoTime();
        float[][] probs = scorer.probabilities(prompt, rows, batchSize);
        double secs = (System.nanoTime() - t0) / 1e9;
        int[] gold = new int[rows.size()];
        int[] pred = new int[rows.size()];
        for (int i = 0; i < gold.length; i++) {
            gold[i] = rows.get(i).label();
            pred[i] = Scorer.argmax(probs[i]);
        }
        return new Result(Metrics.of(gold, pred, prompt.labels().first().length), rows.size() / Math.max(secs, 1e-9), secs);
    }

    /** Rows generated together when evaluating a text-to-text prompt. */
    static final int GENERATION_BATCH = 16;

    /**
     * Text-to-text: greedy generation (key/value cache, rows batched) for each row, scored by exact match of the
     * generated text with the target (both stripped). Reported as accuracy; macro-F1 is not defined.
     *
     * @param lm the model
     * @param tok its tokenizer
     * @param prompt the prompt [N·D]
     * @param n its tokens N
     * @param rows encoded rows with targets
     * @return the exact-match rate as accuracy, and the speed
     */
    public static Result exactMatch(LanguageModel lm, TextTokenizer tok, float[] prompt, int n, List<Encoder.Encoded> rows) {
        return exactMatch(lm, tok, prompt, n, PromptSite.INPUT, rows);
    }

    /** As {@link #exactMatch(LanguageModel, TextTokenizer, float[], int, List)}, the prompt at {@code site}. */
    public static Result exactMatch(LanguageModel lm, TextTokenizer tok, float[] prompt, int n, PromptSite site,
            List<Encoder.Encoded> rows) {
        long t0 = System.nanoTime();
        Generator g = new Generator(lm, tok, true);
        int correct = 0;
        for (int from = 0; from < rows.size(); from += GENERATION_BATCH) {
            List<Encoder.Encoded> chunk = rows.subList(from, Math.min(rows.size(), from + GENERATION_BATCH));
            List<Generator.Output> outs = g.generate(chunk.stream()
                    .map(r -> new Generator.Request(prompt, n, r.ids(), Decoding.greedy(r.target().length + 8), site)).toList());
            for (int k = 0; k < chunk.size(); k++) {
                long[] target = chunk.get(k).target();
                long[] words = Arrays.copyOf(target, Math.max(0, target.length - 1)); // without EOS
                if (outs.get(k).text().strip().equals(tok.decode(words).strip())) {
                    correct++;
                }
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        Metrics m = new Metrics(rows.size(), rows.isEmpty() ? 0 : (double) correct / rows.size(), Double.NaN, new long[0][0]);
        return new Result(m, rows.size() / Math.max(secs, 1e-9), secs);
    }
}
