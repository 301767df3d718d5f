package io.softprompt.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.softprompt.data.Encoder;
import io.softprompt.eval.Evaluator;
import io.softprompt.eval.Metrics;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.scoring.Objective;
import io.softprompt.util.Rss;
import io.softprompt.util.Tensors;
import io.softprompt.util.UserException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Prompt tuning: only the N×D prompt learns; the model is frozen. Reads top to bottom like nanoGPT's
 * train.py: set up (or restore a checkpoint), then for each step take a batch, forward, check the loss
 * is finite, backward, clip the gradient's global norm, step the optimiser, log; every
 * {@code eval_every} steps evaluate, keep the best prompt and stop early when patience runs out;
 * every {@code checkpoint_every} steps save everything needed to continue.
 */
public final class Trainer {
    /** What the caller sees while training runs. */
    public interface Listener {
        void onStep(Step s);

        /** An evaluation is about to score {@code examples} dev rows (progress displays say so). */
        default void onEvalStart(int step, int examples) {}

        void onEval(int step, Metrics dev, boolean best);

        /** A new best prompt [N·D] (write it out: a crash later must not lose it). */
        default void onBest(int step, float[] prompt, Metrics dev) {}

        /**
         * Each step's loss [] before it is checked and differentiated; the identity unless a fault is
         * being injected (the command line's hidden --debug-nan-at tests the divergence guard this way).
         */
        default NDArray loss(int step, NDArray loss) {
            return loss;
        }
    }

    /** Scores a prompt [N·D] on the dev set: classes through the scorer, text by generation. */
    @FunctionalInterface
    public interface Evaluation {
        Evaluator.Result evaluate(float[] prompt);
    }

    /** One step's figures. */
    public record Step(int step, int total, double loss, double lr, double gradNorm, double examplesPerSec) {}

    /** The outcome: the best prompt (or the last when there is no dev set) and figures. */
    public record Result(float[] bestPrompt, Metrics bestDev, int bestStep, int steps, double lastLoss,
            double trainExamplesPerSec, double evalExamplesPerSec, boolean stoppedEarly, int resumedFrom,
            Metrics initialDev) {}

    /**
     * What a run needs besides its config. anchor [N·D] is E(anchor text) for the anchor regulariser
     * (null without one); run is the run folder (null: nothing is saved); resume the checkpoint to
     * continue from (null: start at step 1); fingerprint identifies the model in checkpoints.
     */
    public record Context(float[] anchor, RunDir run, Checkpoint resume, String fingerprint) {
        public static Context none() {
            return new Context(null, null, null, null);
        }
    }

    private Trainer() {}

    /**
     * Trains from {@code init} [N·D] (or the context's checkpoint). {@code eval} scores the dev set of
     * {@code devSize} rows every eval_every steps (null or devSize 0: no evaluation; the last prompt
     * is the result).
     */
    public static Result train(TrainConfig cfg, LanguageModel lm, Encoder encoder, List<Encoder.Encoded> train,
            Evaluation eval, int devSize, float[] init, Listener listener, Context x) {
        // ---- setup ----
        int n = cfg.tokens();
        int d = lm.hiddenSize();
        int total = cfg.steps();
        boolean evaluates = eval != null && devSize > 0;
        Objective objective = Objective.parse(cfg.objective());
        Schedule schedule = Schedule.parse(cfg.schedule());
        boolean textToText = encoder.task().textToText();
        RunDir run = x.run();
        Checkpoint from = x.resume();

        int step0 = from == null ? 0 : from.state().step();
        int epoch = from == null ? 0 : from.state().epoch();
        int cursor = from == null ? 0 : from.state().cursor();
        int[] perm = order(train.size(), cfg.seed(), epoch);
        float[] best = from == null ? init.clone() : from.bestPrompt();
        Double bestMetric = from == null ? null : from.state().bestMetric();
        Metrics bestDev = from == null ? null : from.state().bestDev();
        int bestStep = from == null ? 0 : from.state().bestStep();
        int evalsSinceBest = from == null ? 0 : from.state().evalsSinceBest();
        double lastLoss = from == null ? Double.NaN : from.state().lastLoss();
        double trainSecs = from == null ? 0 : from.state().trainSeconds();
        long trainExamples = from == null ? 0 : from.state().trainExamples();
        double evalSecs = 0;
        long evalExamples = 0;
        int checkpointStep = step0;
        boolean stoppedEarly = false;
        int lastStep = step0;
        long started = System.nanoTime();
        // ---- the starting point: what the prompt scores before any step (a learning curve starts there) ----
        Metrics initialDev = from == null ? null : from.state().initialDev();
        if (evaluates && from == null) {
            listener.onEvalStart(0, devSize);
            Evaluator.Result r0 = eval.evaluate(init);
            initialDev = r0.metrics();
            listener.onEval(0, initialDev, false); // recorded in the checkpoint and final.json, not as a step of the log
        }

        try (NDManager root = NDManager.newBaseManager()) {
            NDArray prompt = Tensors.create(root, from == null ? init : from.prompt(), new Shape(n, d)); // [N, D] the only trainable tensor
            prompt.setRequiresGradient(true);
            NDArray anchor = x.anchor() == null ? null : Tensors.create(root, x.anchor(), new Shape(n, d)); // [N, D]
            try (Optimizer opt = Optimizer.create(cfg.optimizer(), root, prompt, cfg.weightDecay())) {
                if (from != null) {
                    opt.restore(from.optimizer(), from.state().optimizerSteps());
                }
                for (int step = step0 + 1; step <= total; step++) {
                    long t0 = System.nanoTime();
                    // ---- batch ----
                    List<Encoder.Encoded> rows = new ArrayList<>(cfg.batchSize());
                    for (int k = 0; k < cfg.batchSize(); k++) {
                        if (cursor == perm.length) {
                            perm = order(train.size(), cfg.seed(), ++epoch);
                            cursor = 0;
                        }
                        rows.add(train.get(perm[cursor++]));
                    }
                    Encoder.Batch b = Encoder.batch(rows, cfg.padTo(), lm.specials().pad());
                    double lr = schedule.lr(cfg.learningRate(), cfg.warmup(), total, step);
                    double gradNorm;
                    // ---- forward, backward, update (every temporary dies with this scope) ----
                    try (NDManager scope = root.newSubManager()) {
                        NDArray ids = Tensors.create(scope, b.ids(), new Shape(b.size(), b.length()));   // [B, T]
                        NDArray mask = Tensors.create(scope, b.mask(), new Shape(b.size(), b.length())); // [B, T]
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            NDArray loss = textToText                                          // []
                                    ? Objective.sequenceLoss(lm, prompt, scope, rows, cfg.padTo())
                                    : objective.loss(lm, prompt, ids, mask, b.positions(), b.classes(), encoder.labels());
                            if (anchor != null) { // Khashabi et al.'s regulariser: γ·‖P − E(text)‖²/N
                                NDArray diff = prompt.sub(anchor);                             // [N, D]
                                diff.attach(scope);
                                loss = loss.add(diff.square().sum().mul(Layers.scalar(diff, (float) (cfg.anchorWeightOrZero() / n))));
                            }
                            loss = listener.loss(step, loss);
                            lastLoss = loss.getFloat();
                            if (!Double.isFinite(lastLoss)) {
                                throw diverged("loss", lastLoss, step, run, checkpointStep, bestStep);
                            }
                            gc.backward(loss);
                        }
                        try (NDArray grad = prompt.getGradient()) {                          // [N, D]
                            gradNorm = norm(grad);
                            if (!Double.isFinite(gradNorm)) {
                                throw diverged("gradient", gradNorm, step, run, checkpointStep, bestStep);
                            }
                            if (cfg.clipNorm() != null && gradNorm > cfg.clipNorm()) {
                                grad.muli((float) (cfg.clipNorm() / gradNorm));
                            }
                            opt.step(prompt, grad, lr);
                            grad.subi(grad);                                                   // zero for the next step
                        }
                    }
                    double secs = (System.nanoTime() - t0) / 1e9;
                    if (step > step0 + 3) { // steady state: the first steps pay for warm-up of the native library
                        trainSecs += secs;
                        trainExamples += b.size();
                    }
                    double rate = trainSecs > 0 ? trainExamples / trainSecs : b.size() / secs;
                    listener.onStep(new Step(step, total, lastLoss, lr, gradNorm, rate));
                    lastStep = step;

                    // ---- evaluate, keep the best, stop early ----
                    Map<String, Object> line = null;
                    if (cfg.logEvery() > 0 && (step % cfg.logEvery() == 0 || step == total || step == 1)) {
                        line = logLine(step, lastLoss, lr, gradNorm, rate, started);
                    }
                    boolean evalNow = evaluates && (step % cfg.evalEvery() == 0 || step == total);
                    if (evalNow) {
                        float[] current = prompt.toFloatArray();
                        listener.onEvalStart(step, devSize);
                        Evaluator.Result r = eval.evaluate(current);
                        evalSecs += r.seconds();
                        evalExamples += r.metrics().examples();
                        boolean improved = bestMetric == null || r.metrics().accuracy() > bestMetric;
                        if (improved) {
                            best = current;
                            bestMetric = r.metrics().accuracy();
                            bestDev = r.metrics();
                            bestStep = step;
                            evalsSinceBest = 0;
                            listener.onBest(step, best, bestDev);
                        } else {
                            evalsSinceBest++;
                        }
                        listener.onEval(step, r.metrics(), improved);
                        if (line == null) {
                            line = logLine(step, lastLoss, lr, gradNorm, rate, started);
                        }
                        line.put("dev", r.metrics().toMap());
                        line.put("best", improved);
                        stoppedEarly = cfg.patience() != null && evalsSinceBest >= cfg.patience();
                    }
                    if (line != null && run != null) {
                        line.put("rss_mb", Rss.currentMb()); // at the end of the step, evaluation included
                        run.log(line);
                    }
                    // ---- checkpoint ----
                    boolean checkpointNow = cfg.checkpointEvery() > 0 && step % cfg.checkpointEvery() == 0;
                    if (run != null && (checkpointNow || stoppedEarly || step == total)) {
                        Checkpoint.State st = new Checkpoint.State(step, cfg.optimizer(), opt.steps(), cfg.seed(), epoch,
                                cursor, bestMetric, bestDev, bestStep, evalsSinceBest, lastLoss, trainSecs, trainExamples,
                                initialDev);
                        Map<String, float[]> os = new LinkedHashMap<>();
                        Map<String, long[]> shapes = new LinkedHashMap<>();
                        opt.state().forEach((k, v) -> {
                            os.put(k, v.toFloatArray());
                            shapes.put(k, v.getShape().getShape());
                        });
                        float[] bestNow = evaluates ? best : prompt.toFloatArray();
                        run.saveCheckpoint(new Checkpoint(prompt.toFloatArray(), bestNow, new long[] {n, d}, os, shapes,
                                st, cfg, x.fingerprint()));
                        checkpointStep = step;
                    }
                    if (stoppedEarly) {
                        break;
                    }
                }
                if (!evaluates) {
                    best = prompt.toFloatArray();
                    bestStep = lastStep;
                }
            }
        }
        double trainRate = trainSecs > 0 ? trainExamples / trainSecs : Double.NaN;
        double evalRate = evalSecs > 0 ? evalExamples / evalSecs : Double.NaN;
        return new Result(best, bestDev, bestStep, lastStep, lastLoss, trainRate, evalRate, stoppedEarly, step0, initialDev);
    }

    private static Map<String, Object> logLine(int step, double loss, double lr, double gradNorm, double rate, long started) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", step);
        m.put("loss", loss);
        m.put("lr", lr);
        m.put("grad_norm", gradNorm);
        m.put("examples_per_sec", rate);
        m.put("elapsed_sec", (System.nanoTime() - started) / 1e9);
        m.put("rss_mb", Rss.currentMb());
        return m;
    }

    private static UserException diverged(String what, double value, int step, RunDir run, int checkpointStep, int bestStep) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "non-finite %s (%s) at step %d; training stopped",
                what, value, step));
        if (run != null) {
            if (checkpointStep > 0) {
                sb.append("; kept checkpoint ").append(run.checkpoint()).append(" (step ").append(checkpointStep).append(')');
            }
            if (bestStep > 0 && Files.isRegularFile(run.best())) {
                sb.append(", best prompt ").append(run.best()).append(" (step ").append(bestStep).append(')');
            }
        }
        sb.append(". Lower --lr or set --clip-norm");
        if (run != null && checkpointStep > 0) {
            sb.append(", or --resume ").append(run.dir());
        }
        return new UserException(sb.toString(), UserException.EXIT_DIVERGED);
    }

    /** L2 norm of the gradient, accumulated in double. */
    static double norm(NDArray grad) {
        double s = 0;
        for (float v : grad.toFloatArray()) {
            s += (double) v * v;
        }
        return Math.sqrt(s);
    }

    /** Epoch {@code epoch}'s permutation of the training rows: a pure function of (size, seed, epoch). */
    static int[] order(int size, long seed, int epoch) {
        return shuffled(size, new Random(seed * 0x9E3779B97F4A7C15L + epoch));
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
