package io.softprompt.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.softprompt.data.Encoder;
import io.softprompt.eval.Evaluator;
import io.softprompt.eval.Metrics;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.scoring.Objective;
import io.softprompt.scoring.PackedLoss;
import io.softprompt.util.Rss;
import io.softprompt.util.Tensors;
import io.softprompt.util.UserException;
import java.io.Serializable;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.BiConsumer;

/**
 * Prompt tuning: only the N×D prompts learn; the model is frozen. Reads top to bottom like nanoGPT's
 * train.py: set up (or restore each run's checkpoint), then for each step take each run's batch,
 * forward, check the losses are finite, backward, clip each gradient's global norm, step each
 * optimiser, log; every {@code eval_every} steps evaluate, keep the best prompt and stop early when
 * patience runs out; every {@code checkpoint_every} steps save everything needed to continue.
 *
 * <p>One run is a pack of one. A pack of K runs (different prompts, lengths, tasks, optimisers,
 * seeds) shares each forward pass over the one frozen model: each run draws its own batch from its
 * own data order, its loss is the mean over its own rows ({@link PackedLoss}), so its gradient,
 * optimiser step, schedule, clipping, evaluations and early stopping are its own, and its run folder
 * reads exactly as a solo run's. A run that stops leaves the pack; the others go on.
 *
 * <p>Gradient accumulation: grad_accum micro-batches of batch_size rows per step, each micro-batch's
 * loss weighted by its share of the step's loss terms, so a step equals one batch of
 * batch_size × grad_accum rows.
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

    /**
     * The outcome: the best prompt (or the last when there is no dev set) and figures; failure is the
     * message of a run that stopped on a non-finite loss or gradient (its last good files kept), else null.
     */
    public record Result(float[] bestPrompt, Metrics bestDev, int bestStep, int steps, double lastLoss,
            double trainExamplesPerSec, double evalExamplesPerSec, boolean stoppedEarly, int resumedFrom,
            Metrics initialDev, UserException failure) {}

    /**
     * What a run needs besides its config. anchor [N·D] is E(anchor text) for the anchor regulariser
     * (null without one); run is the run folder (null: nothing is saved); resume the checkpoint to
     * continue from (null: start at step 1); fingerprint identifies the model in checkpoints.
     */
    public record Context(float[] anchor, RunDir run, Checkpoint resume, String fingerprint, Distributor distributor) {
        public Context(float[] anchor, RunDir run, Checkpoint resume, String fingerprint) {
            this(anchor, run, resume, fingerprint, null);
        }

        public static Context none() {
            return new Context(null, null, null, null);
        }

        /** This context with each step's loss and gradient computed by {@code d} (null: in this process). */
        public Context distributed(Distributor d) {
            return new Context(anchor, run, resume, fingerprint, d);
        }
    }

    /**
     * Where a run's loss and gradient come from when not from this process's own forward pass:
     * data-parallel workers (the softprompt-spark module). Opened once per run with what any worker
     * needs to compute a share of a step; everything else (the rows drawn, clipping, the optimiser,
     * the schedule, evaluation, checkpoints) stays here, so a distributed run is the local run.
     */
    @FunctionalInterface
    public interface Distributor {
        Gradients open(LossSpec spec);
    }

    /** A step's sums over its rows, computed elsewhere. */
    public interface Gradients extends AutoCloseable {
        /** The loss and gradient [N·D] summed over {@code rows} at {@code prompt} [N·D]. */
        Sums compute(float[] prompt, List<Encoder.Encoded> rows);

        @Override
        default void close() {}
    }

    /** What a worker needs to compute the loss of any rows: the prompt's shape, objective and label words. */
    public record LossSpec(int tokens, int hidden, Objective objective, Encoder.Labels labels, boolean textToText, int padTo)
            implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /**
     * The loss and its gradient [N·D] summed (not averaged) over some rows, with the number of loss
     * terms they make ({@link PackedLoss#terms}): sums of shards add up to the step's, which divides by its terms.
     */
    public record Sums(double loss, double[] gradient, long terms) implements Serializable {
        private static final long serialVersionUID = 1L;

        public static Sums zero(int size) {
            return new Sums(0, new double[size], 0);
        }

        /** this + o (a new array: aggregations may hold either operand). */
        public Sums plus(Sums o) {
            double[] g = gradient.clone();
            for (int i = 0; i < g.length; i++) {
                g[i] += o.gradient[i];
            }
            return new Sums(loss + o.loss, g, terms + o.terms);
        }
    }

    /**
     * One shard of a step on this process's model: the loss of {@code rows} at {@code prompt} [N·D],
     * computed by the very code a local step runs ({@link #loss}), scaled from a mean to a sum, and its
     * gradient. Workers call it; one call at a time per JVM (DJL allows one gradient collector).
     */
    public static Sums shard(LanguageModel lm, LossSpec spec, float[] prompt, List<Encoder.Encoded> rows) {
        try (NDManager scope = NDManager.newBaseManager(lm.device())) {
            NDArray leaf = Tensors.create(scope, prompt, new Shape(spec.tokens(), spec.hidden()));         // [N, D]
            leaf.setRequiresGradient(true);
            int terms = PackedLoss.terms(lm, spec.objective(), spec.labels(), spec.textToText(), rows);
            double loss;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray mean = loss(lm, leaf, scope, rows, spec.objective(), spec.labels(), spec.textToText(), spec.padTo()); // []
                NDArray sum = mean.mul(Layers.scalar(mean, terms));                                          // []
                loss = sum.getFloat();
                gc.backward(sum);
            }
            float[] g;
            try (NDArray grad = leaf.getGradient()) {                                                    // [N, D]
                g = grad.toFloatArray();
            }
            double[] wide = new double[g.length];
            for (int i = 0; i < g.length; i++) {
                wide[i] = g[i];
            }
            return new Sums(loss, wide, terms);
        }
    }

    /** The mean loss [] of rows at prompt leaf [N, D]: Objective's loss, as measured against PEFT. */
    static NDArray loss(LanguageModel lm, NDArray leaf, NDManager scope, List<Encoder.Encoded> rows, Objective objective,
            Encoder.Labels labels, boolean textToText, int padTo) {
        if (textToText) {
            return Objective.sequenceLoss(lm, leaf, scope, rows, padTo);
        }
        Encoder.Batch b = Encoder.batch(rows, padTo, lm.specials().pad());
        NDArray ids = Tensors.create(scope, b.ids(), new Shape(b.size(), b.length()));   // [B, T]
        NDArray mask = Tensors.create(scope, b.mask(), new Shape(b.size(), b.length())); // [B, T]
        return objective.loss(lm, leaf, ids, mask, b.positions(), b.classes(), labels);
    }

    /**
     * One run of a pack: its resolved config, encoder (task, label words), encoded training rows, dev
     * evaluation (null: none) over devSize rows, initial prompt [N·D], listener and context.
     */
    public record Run(TrainConfig cfg, Encoder encoder, List<Encoder.Encoded> train, Evaluation eval, int devSize,
            float[] init, Listener listener, Context context) {}

    private Trainer() {}

    /**
     * Trains from {@code init} [N·D] (or the context's checkpoint). {@code eval} scores the dev set of
     * {@code devSize} rows every eval_every steps (null or devSize 0: no evaluation; the last prompt
     * is the result). A non-finite loss or gradient throws (exit code 3), naming the files kept.
     */
    public static Result train(TrainConfig cfg, LanguageModel lm, Encoder encoder, List<Encoder.Encoded> train,
            Evaluation eval, int devSize, float[] init, Listener listener, Context x) {
        Result r = trainPack(lm, List.of(new Run(cfg, encoder, train, eval, devSize, init, listener, x)), 0).get(0);
        if (r.failure() != null) {
            throw r.failure();
        }
        return r;
    }

    /**
     * Trains the runs together, sharing every forward pass; results in run order. tokenBudget (0: none)
     * caps a pass's rows × length: past it the runs of a step are split over several passes.
     */
    public static List<Result> trainPack(LanguageModel lm, List<Run> runs, int tokenBudget) {
        return trainPack(lm, runs, tokenBudget, (k, r) -> {});
    }

    /**
     * As {@link #trainPack(LanguageModel, List, int)}, and each run's result goes to {@code onLeave}
     * (with the run's index) the moment it leaves the pack, so its files can be finished while the
     * others train on. In a pack every member checkpoints whenever one does and whenever one leaves:
     * a killed pack then resumes with all its members at one step, in the same company, and ends
     * exactly where the uninterrupted pack ends ({@code TrainJob.resumePack} picks that step).
     */
    public static List<Result> trainPack(LanguageModel lm, List<Run> runs, int tokenBudget, BiConsumer<Integer, Result> onLeave) {
        if (runs.size() > 1 && runs.stream().anyMatch(r -> r.context().distributor() != null)) {
            throw new UserException("a distributed run trains alone, not in a pack");
        }
        try (NDManager root = NDManager.newBaseManager(lm.device())) {
            List<State> states = new ArrayList<>();
            try {
                for (Run r : runs) {
                    states.add(new State(r, lm, root));
                }
                // ---- the starting point: what each prompt scores before any step ----
                for (State s : states) {
                    s.evaluateInitial();
                }
                for (int k = 0; k < states.size(); k++) {
                    if (!states.get(k).active()) { // resumed at its end
                        onLeave.accept(k, states.get(k).result());
                    }
                }
                boolean pack = states.size() > 1;
                while (states.stream().anyMatch(State::active)) {
                    List<State> active = states.stream().filter(State::active).toList();
                    step(lm, root, active, tokenBudget);
                    // ---- checkpoint: in a pack all at once when one is due or one leaves ----
                    boolean anyLeft = active.stream().anyMatch(s -> !s.active());
                    boolean all = pack && (anyLeft || active.stream().anyMatch(State::checkpointDue));
                    for (State s : active) {
                        if (s.failure == null && (all || s.checkpointDue())) {
                            s.saveCheckpoint();
                        }
                    }
                    for (State s : active) {
                        if (!s.active()) {
                            onLeave.accept(states.indexOf(s), s.result());
                        }
                    }
                }
            } finally {
                states.forEach(State::close);
            }
            List<Result> out = new ArrayList<>();
            for (State s : states) {
                out.add(s.result());
            }
            return out;
        }
    }

    /** One optimizer step of every active run: batches, forward and backward (in passes), then each run's update. */
    private static void step(LanguageModel lm, NDManager root, List<State> active, int tokenBudget) {
        long t0 = System.nanoTime();
        for (State s : active) {
            s.beginStep();
        }
        int micro = active.stream().mapToInt(s -> s.cfg.gradAccum()).max().orElse(1);
        for (int j = 0; j < micro; j++) {
            List<State> here = new ArrayList<>();
            for (State s : active) {
                if (j < s.cfg.gradAccum() && !s.failedThisStep() && s.remote == null) {
                    here.add(s);
                }
            }
            for (List<State> pass : passes(here, j, tokenBudget)) {
                forwardBackward(lm, root, pass, j);
            }
        }
        for (State s : active) {
            if (s.remote != null) {
                s.remoteStep();
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        int rows = active.stream().mapToInt(s -> s.cfg.rowsPerStep()).sum();
        for (State s : active) {
            s.endStep(secs, rows);
        }
    }

    /** The runs of micro-batch j in passes of at most tokenBudget rows × length (each run whole in one pass). */
    static List<List<State>> passes(List<State> runs, int j, int tokenBudget) {
        List<List<State>> out = new ArrayList<>();
        List<State> cur = new ArrayList<>();
        long rows = 0;
        int longest = 0;
        for (State s : runs) {
            List<Encoder.Encoded> mb = s.microBatch(j);
            int len = s.cfg.tokens() + mb.stream().mapToInt(r -> r.ids().length + (r.target() == null ? 0 : r.target().length))
                    .max().orElse(0);
            long nextRows = rows + mb.size();
            int nextLongest = Math.max(longest, len);
            if (!cur.isEmpty() && tokenBudget > 0 && nextRows * nextLongest > tokenBudget) {
                out.add(cur);
                cur = new ArrayList<>();
                nextRows = mb.size();
                nextLongest = len;
            }
            cur.add(s);
            rows = nextRows;
            longest = nextLongest;
        }
        if (!cur.isEmpty()) {
            out.add(cur);
        }
        return out;
    }

    /**
     * One forward and backward pass over the runs' micro-batch j: a run alone takes the solo path (the
     * prompt prepended by {@code Prompted}, the objective of {@link Objective}); several share one
     * pass ({@link PackedLoss}). Every temporary dies with the pass's scope; gradients accumulate in
     * each prompt until its update.
     */
    private static void forwardBackward(LanguageModel lm, NDManager root, List<State> pass, int j) {
        try (NDManager scope = root.newSubManager()) {
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                List<NDArray> losses;
                if (pass.size() == 1) {
                    losses = List.of(pass.get(0).soloLoss(lm, scope, j));
                } else {
                    List<PackedLoss.Part> parts = new ArrayList<>();
                    for (State s : pass) {
                        parts.add(new PackedLoss.Part(s.leaf, s.objective, s.run.encoder().labels(), s.textToText,
                                s.microBatch(j)));
                    }
                    losses = PackedLoss.losses(lm, scope, parts);
                }
                NDArray total = null;
                for (int k = 0; k < pass.size(); k++) {
                    NDArray weighted = pass.get(k).weigh(losses.get(k), j, scope);                 // []
                    if (weighted != null) {
                        total = total == null ? weighted : total.add(weighted);
                    }
                }
                if (total != null) {
                    gc.backward(total);
                }
            }
        }
    }

    /** Everything one run carries through the loop. */
    private static final class State implements AutoCloseable {
        final Run run;
        final TrainConfig cfg;
        final int n;
        final int d;
        final int total;
        final boolean evaluates;
        final boolean textToText;
        final Objective objective;
        final Schedule schedule;
        final LanguageModel lm;
        final RunDir dir;
        final Checkpoint from;
        final int step0;
        final long started = System.nanoTime();
        final NDArray prompt;   // [N, D] the only trainable tensor, float32 (the master copy for a half model)
        final boolean half;     // the model computes in half: each step differentiates a half copy of the prompt
        NDArray leaf;           // [N, D] what this step differentiates: the prompt itself, or its half copy
        final NDArray anchor;   // [N, D] or null
        final Gradients remote; // distributed: each step's loss and gradient come from workers (null: computed here)
        float[] remoteGrad;     // [N·D] this step's, when remote
        final Optimizer opt;
        final int[] lengths;    // of the training rows (length-grouped sampling)
        int epoch;
        int cursor;
        int[] perm;
        float[] best;
        Double bestMetric;
        Metrics bestDev;
        int bestStep;
        int evalsSinceBest;
        double lastLoss;
        double trainSecs;
        long trainExamples;
        double evalSecs;
        long evalExamples;
        int checkpointStep;
        boolean stoppedEarly;
        int step;
        int lastStep;
        Metrics initialDev;
        UserException failure;
        Result result;
        // this step's
        List<Encoder.Encoded> rows;
        int terms;
        double stepLoss;
        double lr;

        State(Run run, LanguageModel lm, NDManager root) {
            this.run = run;
            this.cfg = run.cfg();
            this.lm = lm;
            this.n = cfg.tokens();
            this.d = lm.hiddenSize();
            this.total = cfg.steps();
            this.evaluates = run.eval() != null && run.devSize() > 0;
            this.textToText = run.encoder().task().textToText();
            this.objective = Objective.parse(cfg.objective());
            this.schedule = Schedule.parse(cfg.schedule());
            this.dir = run.context().run();
            this.from = run.context().resume();
            this.lengths = run.train().stream().mapToInt(r -> r.ids().length).toArray();
            step0 = from == null ? 0 : from.state().step();
            epoch = from == null ? 0 : from.state().epoch();
            cursor = from == null ? 0 : from.state().cursor();
            perm = order(lengths, cfg, epoch);
            best = from == null ? run.init().clone() : from.bestPrompt();
            bestMetric = from == null ? null : from.state().bestMetric();
            bestDev = from == null ? null : from.state().bestDev();
            bestStep = from == null ? 0 : from.state().bestStep();
            evalsSinceBest = from == null ? 0 : from.state().evalsSinceBest();
            lastLoss = from == null ? Double.NaN : from.state().lastLoss();
            trainSecs = from == null ? 0 : from.state().trainSeconds();
            trainExamples = from == null ? 0 : from.state().trainExamples();
            initialDev = from == null ? null : from.state().initialDev();
            // a run checkpointed as it stopped early (and killed before it finished) stays stopped
            stoppedEarly = from != null && cfg.patience() != null && evaluates && evalsSinceBest >= cfg.patience();
            checkpointStep = step0;
            step = step0;
            lastStep = step0;
            prompt = Tensors.create(root, from == null ? run.init() : from.prompt(), new Shape(n, d));   // [N, D]
            half = lm.dtype() != DataType.FLOAT32;
            if (!half) {
                prompt.setRequiresGradient(true);
                leaf = prompt;
            }
            float[] a = run.context().anchor();
            anchor = a == null ? null : Tensors.create(root, a, new Shape(n, d));                           // [N, D]
            opt = Optimizer.create(cfg.optimizer(), root, prompt, cfg.weightDecay());
            if (from != null) {
                opt.restore(from.optimizer(), from.state().optimizerSteps());
            }
            Distributor dist = run.context().distributor();
            if (dist != null) {
                if (half || anchor != null) {
                    opt.close();
                    throw new UserException("distributed training computes in float32 without --anchor-text: "
                            + (half ? "drop --dtype " + lm.dtype().toString().toLowerCase(Locale.ROOT) : "drop --anchor-text"));
                }
                remote = dist.open(new LossSpec(n, d, objective, run.encoder().labels(), textToText, cfg.padTo()));
            } else {
                remote = null;
            }
        }

        boolean active() {
            return failure == null && !stoppedEarly && step < total;
        }

        boolean failedThisStep() {
            return failure != null;
        }

        void evaluateInitial() {
            if (evaluates && from == null) {
                run.listener().onEvalStart(0, run.devSize());
                initialDev = run.eval().evaluate(run.init()).metrics();
                // the initial prompt is the first candidate for best: a run that only gets worse keeps it
                best = run.init().clone();
                bestMetric = initialDev.accuracy();
                bestDev = initialDev;
                bestStep = 0;
                run.listener().onEval(0, initialDev, false); // recorded in the checkpoint and final.json, not as a log step
                run.listener().onBest(0, best, bestDev);
            }
        }

        /** The step's rows: batch_size × grad_accum of them, from this run's own data order. */
        void beginStep() {
            step++;
            if (half) { // mixed precision: the forward runs in the model's dtype, the update on the float32 master
                leaf = prompt.toType(lm.dtype(), true);                                               // [N, D]
                leaf.setRequiresGradient(true);
            }
            rows = new ArrayList<>(cfg.rowsPerStep());
            for (int k = 0; k < cfg.rowsPerStep(); k++) {
                if (cursor == perm.length) {
                    perm = order(lengths, cfg, ++epoch);
                    cursor = 0;
                }
                rows.add(run.train().get(perm[cursor++]));
            }
            terms = PackedLoss.terms(lm, objective, run.encoder().labels(), textToText, rows);
            stepLoss = 0;
            lr = schedule.lr(cfg.learningRate(), cfg.warmup(), total, step);
        }

        List<Encoder.Encoded> microBatch(int j) {
            return rows.subList(j * cfg.batchSize(), (j + 1) * cfg.batchSize());
        }

        /** The solo path: the prompt prepended by Prompted, the loss of Objective, as measured against PEFT. */
        NDArray soloLoss(LanguageModel lm, NDManager scope, int j) {
            return loss(lm, leaf, scope, microBatch(j), objective, run.encoder().labels(), textToText, cfg.padTo());
        }

        /**
         * A distributed step: the workers' sums over all the step's rows, divided by its loss terms, as
         * the step's loss and gradient (a local step's mean, up to the order of summation).
         */
        void remoteStep() {
            Sums s = remote.compute(prompt.toFloatArray(), rows);
            double v = s.loss() / s.terms();
            if (!Double.isFinite(v)) {
                failure = diverged("loss", v);
                return;
            }
            stepLoss = v;
            remoteGrad = new float[s.gradient().length];
            for (int i = 0; i < remoteGrad.length; i++) {
                remoteGrad[i] = (float) (s.gradient()[i] / s.terms());
            }
        }

        /**
         * Micro-batch j's loss [] weighted by its share of the step's loss terms, plus the anchor term
         * once per step; checked for finiteness (null when this run just failed).
         */
        NDArray weigh(NDArray loss, int j, NDManager scope) {
            double w = cfg.gradAccum() == 1 ? 1.0
                    : (double) PackedLoss.terms(lm, objective, run.encoder().labels(), textToText, microBatch(j)) / terms;
            NDArray l = w == 1.0 ? loss : loss.mul(Layers.scalar(loss, (float) w));
            if (anchor != null && j == 0) { // Khashabi et al.'s regulariser: γ·‖P − E(text)‖²/N
                NDArray diff = Layers.upcast(leaf).sub(anchor);                                   // [N, D]
                diff.attach(scope);
                l = l.add(diff.square().sum().mul(Layers.scalar(diff, (float) (cfg.anchorWeightOrZero() / n))));
            }
            l = run.listener().loss(step, l);
            double v = l.getFloat();
            if (!Double.isFinite(v)) {
                failure = diverged("loss", v);
                return null;
            }
            stepLoss += v;
            return l;
        }

        /** The update, the figures, the evaluation and the checkpoint of this step. */
        void endStep(double secs, int packRows) {
            if (failure != null) {
                return;
            }
            double gradNorm;
            try (NDArray grad = gradient()) {                                                     // [N, D] float32
                gradNorm = norm(grad);
                if (!Double.isFinite(gradNorm)) {
                    failure = diverged("gradient", gradNorm);
                    return;
                }
                if (cfg.clipNorm() != null && gradNorm > cfg.clipNorm()) {
                    grad.muli((float) (cfg.clipNorm() / gradNorm));
                }
                opt.step(prompt, grad, lr);
                if (!half && remote == null) {
                    grad.subi(grad);                                                                // zero for the next step
                }
            }
            if (half) {
                leaf.close();                                                                       // its gradient with it
            }
            lastLoss = stepLoss;
            // a run's share of a shared pass's time: its rows' share of the pass's rows
            double mine = secs * rows.size() / Math.max(1, packRows);
            if (step > step0 + 3) { // steady state: the first steps pay for warm-up of the native library
                trainSecs += mine;
                trainExamples += rows.size();
            }
            double rate = trainSecs > 0 ? trainExamples / trainSecs : rows.size() / mine;
            run.listener().onStep(new Step(step, total, lastLoss, lr, gradNorm, rate));
            lastStep = step;

            // ---- evaluate, keep the best, stop early ----
            Map<String, Object> line = null;
            if (cfg.logEvery() > 0 && (step % cfg.logEvery() == 0 || step == total || step == 1)) {
                line = logLine(step, lastLoss, lr, gradNorm, rate, started);
            }
            boolean evalNow = evaluates && (step % cfg.evalEvery() == 0 || step == total);
            if (evalNow) {
                float[] current = prompt.toFloatArray();
                run.listener().onEvalStart(step, run.devSize());
                Evaluator.Result r = run.eval().evaluate(current);
                evalSecs += r.seconds();
                evalExamples += r.metrics().examples();
                boolean improved = bestMetric == null || r.metrics().accuracy() > bestMetric;
                if (improved) {
                    best = current;
                    bestMetric = r.metrics().accuracy();
                    bestDev = r.metrics();
                    bestStep = step;
                    evalsSinceBest = 0;
                    run.listener().onBest(step, best, bestDev);
                } else {
                    evalsSinceBest++;
                }
                run.listener().onEval(step, r.metrics(), improved);
                if (line == null) {
                    line = logLine(step, lastLoss, lr, gradNorm, rate, started);
                }
                line.put("dev", r.metrics().toMap());
                line.put("best", improved);
                stoppedEarly = cfg.patience() != null && evalsSinceBest >= cfg.patience();
            }
            if (line != null && dir != null) {
                line.put("rss_mb", Rss.currentMb()); // at the end of the step, evaluation included
                dir.log(line);
            }
        }

        /** This step's gradient of the prompt [N, D] in float32 (the leaf's own, or a float32 copy of the half one's). */
        NDArray gradient() {
            if (remote != null) {
                return Tensors.create(prompt.getManager(), remoteGrad, new Shape(n, d));
            }
            NDArray g = leaf.getGradient();
            if (!half) {
                return g;
            }
            try (g) {
                NDArray wide = g.toType(DataType.FLOAT32, true);
                wide.attach(prompt.getManager());
                return wide;
            }
        }

        /** Whether this step ends with a checkpoint of its own: every checkpoint_every steps and at the end. */
        boolean checkpointDue() {
            if (dir == null || failure != null) {
                return false;
            }
            return cfg.checkpointEvery() > 0 && step % cfg.checkpointEvery() == 0 || stoppedEarly || step == total;
        }

        /** Everything needed to continue from this step, in the run folder. */
        void saveCheckpoint() {
            if (dir == null) {
                return;
            }
            Checkpoint.State st = new Checkpoint.State(step, cfg.optimizer(), opt.steps(), cfg.seed(), epoch, cursor,
                    bestMetric, bestDev, bestStep, evalsSinceBest, lastLoss, trainSecs, trainExamples, initialDev);
            Map<String, float[]> os = new LinkedHashMap<>();
            Map<String, long[]> shapes = new LinkedHashMap<>();
            opt.state().forEach((k, v) -> {
                os.put(k, v.toFloatArray());
                shapes.put(k, v.getShape().getShape());
            });
            float[] bestNow = evaluates ? best : prompt.toFloatArray();
            dir.saveCheckpoint(new Checkpoint(prompt.toFloatArray(), bestNow, new long[] {n, d}, os, shapes, st, cfg,
                    run.context().fingerprint()));
            checkpointStep = step;
        }

        Result result() {
            if (result != null) {
                return result;
            }
            if (!evaluates && failure == null) {
                best = prompt.toFloatArray();
                bestStep = lastStep;
            }
            double trainRate = trainSecs > 0 ? trainExamples / trainSecs : Double.NaN;
            double evalRate = evalSecs > 0 ? evalExamples / evalSecs : Double.NaN;
            result = new Result(best, bestDev, bestStep, lastStep, lastLoss, trainRate, evalRate, stoppedEarly, step0,
                    initialDev, failure);
            return result;
        }

        private UserException diverged(String what, double value) {
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "non-finite %s (%s) at step %d; training stopped",
                    what, value, step));
            if (dir != null) {
                if (checkpointStep > 0) {
                    sb.append("; kept checkpoint ").append(dir.checkpoint()).append(" (step ").append(checkpointStep).append(')');
                }
                if (evaluates && Files.isRegularFile(dir.best())) {
                    sb.append(", best prompt ").append(dir.best()).append(" (step ").append(bestStep).append(')');
                }
            }
            sb.append(". Lower --lr or set --clip-norm");
            if (dir != null && checkpointStep > 0) {
                sb.append(", or --resume ").append(dir.dir());
            }
            return new UserException(sb.toString(), UserException.EXIT_DIVERGED);
        }

        @Override
        public void close() {
            if (half && leaf != null) {
                leaf.close();
            }
            opt.close();
            if (remote != null) {
                remote.close();
            }
        }
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

    /** L2 norm of the gradient, accumulated in double. */
    static double norm(NDArray grad) {
        double s = 0;
        for (float v : grad.toFloatArray()) {
            s += (double) v * v;
        }
        return Math.sqrt(s);
    }

    /**
     * Epoch {@code epoch}'s order of the training rows: a pure function of the rows' lengths and
     * (seed, epoch). A permutation drawn from a generator seeded with both; with group_by_length, as
     * the HF Trainer's LengthGroupedSampler: that permutation cut into mega-batches of 50 steps' rows,
     * each sorted by length (longest first), cut into steps, and the steps shuffled.
     */
    /** Epoch {@code epoch}'s order of the rows as training draws them (benchmarks count its padding). */
    public static int[] orderFor(List<Encoder.Encoded> rows, TrainConfig cfg, int epoch) {
        return order(rows.stream().mapToInt(r -> r.ids().length).toArray(), cfg, epoch);
    }

    static int[] order(int[] lengths, TrainConfig cfg, int epoch) {
        int[] perm = order(lengths.length, cfg.seed(), epoch);
        if (!cfg.groupByLength()) {
            return perm;
        }
        int step = cfg.rowsPerStep();
        int mega = step * 50;
        Integer[] boxed = Arrays.stream(perm).boxed().toArray(Integer[]::new);
        for (int a = 0; a < boxed.length; a += mega) {
            Arrays.sort(boxed, a, Math.min(boxed.length, a + mega), Comparator.comparingInt((Integer i) -> -lengths[i]));
        }
        int steps = (boxed.length + step - 1) / step;
        int[] stepOrder = shuffled(steps, new Random(cfg.seed() * 0x9E3779B97F4A7C15L + epoch + 0x51ED27L));
        int[] out = new int[boxed.length];
        int at = 0;
        for (int s : stepOrder) {
            for (int i = s * step; i < Math.min(boxed.length, (s + 1) * step); i++) {
                out[at++] = boxed[i];
            }
        }
        return out;
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
