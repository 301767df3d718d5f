package io.softprompt.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.softprompt.data.Encoder;
import io.softprompt.eval.Evaluator;
import io.softprompt.eval.Metrics;
import io.softprompt.infer.Predictor;
import io.softprompt.model.LanguageModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Prompt tuning: only the N×D prompt learns; the model is frozen. Reads top to bottom like nanoGPT's
 * train.py: set up, then for each step take a batch, forward, backward, clip nothing, step AdamW,
 * log, and every {@code eval_every} steps evaluate and keep the best prompt by dev accuracy.
 */
public final class Trainer {
    /** What the caller sees while training runs. */
    public interface Listener {
        void onStep(int step, int total, double loss, double lr, double examplesPerSec);

        void onEval(int step, Metrics dev, boolean best);
    }

    /** The outcome: the best prompt (or the last when there is no dev set) and figures. */
    public record Result(float[] bestPrompt, Metrics bestDev, int bestStep, int steps, double lastLoss,
            double trainExamplesPerSec, double evalExamplesPerSec) {}

    private Trainer() {}

    public static Result train(TrainConfig cfg, LanguageModel lm, Encoder encoder, List<Encoder.Encoded> train,
            List<Encoder.Encoded> dev, float[] init, Listener listener) {
        // ---- setup ----
        int n = cfg.tokens();
        int d = lm.hiddenSize();
        int classes = encoder.labelTokens().length;
        Objective objective = Objective.parse(cfg.objective());
        boolean textToText = encoder.task().textToText();
        Predictor predictor = new Predictor(lm, encoder.labels(), cfg.evalBatchSize(), cfg.padTo());
        Random order = new Random(cfg.seed());
        int[] perm = shuffled(train.size(), order);
        int cursor = 0;

        float[] best = init.clone();
        Metrics bestDev = null;
        int bestStep = 0;
        double lastLoss = Double.NaN;
        double trainSecs = 0;
        long trainExamples = 0;
        double evalSecs = 0;
        long evalExamples = 0;

        try (NDManager root = NDManager.newBaseManager()) {
            NDArray prompt = root.create(init, new Shape(n, d));                  // [N, D] the only trainable tensor
            prompt.setRequiresGradient(true);
            try (AdamW opt = new AdamW(root, prompt, 0.9, 0.999, 1e-8, cfg.weightDecay())) {
                for (int step = 1; step <= cfg.steps(); step++) {
                    long t0 = System.nanoTime();
                    // ---- batch ----
                    List<Encoder.Encoded> rows = new ArrayList<>(cfg.batchSize());
                    for (int k = 0; k < cfg.batchSize(); k++) {
                        if (cursor == perm.length) {
                            perm = shuffled(train.size(), order);
                            cursor = 0;
                        }
                        rows.add(train.get(perm[cursor++]));
                    }
                    Encoder.Batch b = Encoder.batch(rows, cfg.padTo(), lm.specials().pad());
                    double lr = Schedule.warmupConstant(cfg.lr(), cfg.warmup(), step);
                    // ---- forward, backward, update ----
                    try (NDManager scope = root.newSubManager()) {
                        NDArray ids = scope.create(b.ids(), new Shape(b.size(), b.length()));   // [B, T]
                        NDArray mask = scope.create(b.mask(), new Shape(b.size(), b.length())); // [B, T]
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            NDArray loss = textToText
                                    ? Objective.sequenceLoss(lm, prompt, scope, rows, cfg.padTo())
                                    : objective.loss(lm, prompt, ids, mask, b.positions(), b.classes(), encoder.labels());
                            gc.backward(loss);
                            lastLoss = loss.getFloat();
                        }
                        try (NDArray grad = prompt.getGradient()) {                          // [N, D]
                            opt.step(prompt, grad, lr);
                            grad.subi(grad);                                                   // zero for the next step
                        }
                    }
                    double secs = (System.nanoTime() - t0) / 1e9;
                    if (step > 3) { // steady state: the first steps pay for warm-up of the native library
                        trainSecs += secs;
                        trainExamples += b.size();
                    }
                    double rate = trainSecs > 0 ? trainExamples / trainSecs : b.size() / secs;
                    listener.onStep(step, cfg.steps(), lastLoss, lr, rate);

                    // ---- evaluate, keep the best ----
                    boolean evalNow = !dev.isEmpty() && (step % cfg.evalEvery() == 0 || step == cfg.steps());
                    if (evalNow) {
                        float[] current = prompt.toFloatArray();
                        Evaluator.Result r = textToText
                                ? Evaluator.exactMatch(lm, encoder.tokenizer(), current, n, dev)
                                : Evaluator.evaluate(predictor, current, n, dev, classes);
                        evalSecs += r.seconds();
                        evalExamples += r.metrics().examples();
                        boolean improved = bestDev == null || r.metrics().accuracy() > bestDev.accuracy();
                        if (improved) {
                            best = current;
                            bestDev = r.metrics();
                            bestStep = step;
                        }
                        listener.onEval(step, r.metrics(), improved);
                    }
                }
                if (dev.isEmpty()) {
                    best = prompt.toFloatArray();
                    bestStep = cfg.steps();
                }
            }
        }
        double trainRate = trainSecs > 0 ? trainExamples / trainSecs : Double.NaN;
        double evalRate = evalSecs > 0 ? evalExamples / evalSecs : Double.NaN;
        return new Result(best, bestDev, bestStep, cfg.steps(), lastLoss, trainRate, evalRate);
    }

    static int[] shuffled(int size, Random rnd) {
        int[] p = new int[size];
        for (int i = 0; i < size; i++) {
            p[i] = i;
        }
        for (int i = size - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
