package io.softprompt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.softprompt.data.Encoder;
import io.softprompt.eval.Evaluator;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.Layers;
import io.softprompt.scoring.Objective;
import io.softprompt.scoring.PackedLoss;
import io.softprompt.util.Rss;
import io.softprompt.util.Tensors;
import io.softprompt.util.UserException;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One run of a pack as the loop carries it: what it learns ({@link Trainable}), its data order, where it
 * stands ({@link RunState}), its best prompt, and this step's rows and figures. The {@link Trainer}
 * calls its parts in the order of a step; each part is one concern of train.py's loop.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): N prompt tokens, D hidden size.
 */
final class PackMember implements AutoCloseable {
    final Trainer.Run run;
    final TrainPlan plan;
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
    final Trainable trainable;
    final DataOrder order;
    final RunState state;
    final NDArray anchor;                // [N, D] E(anchor text), or null
    final DataParallel.Gradients remote; // each step's loss and gradient from workers (null: computed here)
    float[] best;                        // [N·D] the best prompt so far
    double evalSecs;
    long evalExamples;
    int checkpointStep;
    boolean stoppedEarly;
    int lastStep;
    UserException failure;
    private Trainer.Result result;
    // this step's
    NDArray leaf;                        // [N, D] what the step differentiates
    List<Encoder.Encoded> rows;
    int terms;
    boolean anchored;                    // the anchor term is in this step's loss
    double stepLoss;
    double lr;
    float[] remoteGrad;                  // [N·D] the workers' gradient, when remote

    PackMember(Trainer.Run run, LanguageModel lm, NDManager root) {
        this.run = run;
        this.plan = run.plan();
        this.cfg = plan.config();
        this.lm = lm;
        this.n = cfg.tokens();
        this.d = plan.site().width(lm); // the trained tensor's width
        this.total = plan.steps();
        this.evaluates = run.eval() != null && run.devSize() > 0;
        this.textToText = run.encoder().task().textToText();
        this.objective = plan.objective();
        this.schedule = plan.schedule();
        this.dir = run.context().run();
        this.from = run.context().resume();
        this.state = RunState.of(from);
        this.step0 = state.step;
        this.order = new DataOrder(run.train(), cfg, from == null ? 0 : from.state().epoch(),
                from == null ? 0 : from.state().cursor());
        // a run checkpointed as it stopped early (and killed before it finished) stays stopped
        this.stoppedEarly = from != null && evaluates && state.patienceSpent(cfg.patience());
        this.checkpointStep = step0;
        this.lastStep = step0;
        DataParallel.Distributor dist = run.context().distributor();
        float[] a = run.context().anchor();
        this.trainable = Trainable.of(plan, lm, root, run.init(), from, dist != null, a != null);
        // the starting point: the init, or what a reparameterisation makes of it
        this.best = from == null ? trainable.values() : from.bestPrompt();
        this.anchor = a == null ? null : Tensors.create(root, a, new Shape(n, d));                         // [N, D]
        this.remote = dist == null ? null
                : dist.open(new DataParallel.LossSpec(n, d, plan.site(), objective, run.encoder().labels(), textToText, cfg.padTo()));
    }

    boolean active() {
        return failure == null && !stoppedEarly && state.step < total;
    }

    /** The starting point: what the initial prompt scores, the first candidate for best. */
    void evaluateInitial() {
        if (evaluates && from == null) {
            run.listener().onEvalStart(0, run.devSize());
            // the initial prompt is the first candidate for best: a run that only gets worse keeps it
            best = trainable.values();
            state.initialDev = run.eval().evaluate(best).metrics();
            state.offer(state.initialDev);
            run.listener().onEval(0, state.initialDev, false);
            run.listener().onBest(0, best, state.bestDev);
            if (dir != null) { // the baseline, in metrics.jsonl and TensorBoard like every later evaluation
                Map<String, Object> line = new LinkedHashMap<>();
                line.put("step", 0);
                line.put("elapsed_sec", (System.nanoTime() - started) / 1e9);
                line.put("dev", state.initialDev.toMap());
                line.put("best", true);
                line.put("rss_mb", Rss.currentMb());
                dir.log(line);
            }
        }
    }

    /** The step's rows (batch_size × grad_accum, from this run's data order) and its learning rate. */
    void beginStep() {
        state.step++;
        leaf = trainable.beginStep();
        rows = order.next(cfg.rowsPerStep());
        terms = PackedLoss.terms(lm, objective, run.encoder().labels(), textToText, rows);
        stepLoss = 0;
        anchored = false;
        lr = schedule.lr(plan.lr(), plan.warmup(), total, state.step);
    }

    List<Encoder.Encoded> microBatch(int j) {
        return rows.subList(j * cfg.batchSize(), (j + 1) * cfg.batchSize());
    }

    /** The solo path: the prompt at its site, the loss of Objective, as measured against PEFT. */
    NDArray soloLoss(NDManager scope, int j) {
        return DataParallel.loss(lm, leaf, plan.site(), scope, microBatch(j), objective, run.encoder().labels(), textToText,
                cfg.padTo());
    }

    /** This run's part of a shared pass: some of its rows of this step. */
    PackedLoss.Part part(List<Encoder.Encoded> mine) {
        return new PackedLoss.Part(leaf, objective, run.encoder().labels(), textToText, mine);
    }

    /**
     * A distributed step: the workers' sums over all the step's rows, divided by its loss terms, as
     * the step's loss and gradient (a local step's mean, up to the order of summation).
     */
    void remoteStep() {
        DataParallel.Sums s = remote.compute(trainable.values(), rows);
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
     * The loss [] over some of this step's rows (a micro-batch, or a pass's share of one) weighted by
     * their share of the step's loss terms, plus the anchor term once per step; checked for finiteness
     * (null when this run just failed).
     */
    NDArray weigh(NDArray loss, List<Encoder.Encoded> mine, NDManager scope) {
        int share = mine.size() == rows.size() ? terms : PackedLoss.terms(lm, objective, run.encoder().labels(), textToText, mine);
        double w = share == terms ? 1.0 : (double) share / terms;
        NDArray l = w == 1.0 ? loss : loss.mul(Layers.scalar(loss, (float) w));
        if (anchor != null && !anchored) { // Khashabi et al.'s regulariser: γ·‖P − E(text)‖²/N
            anchored = true;
            NDArray diff = Layers.upcast(leaf).sub(anchor);                                       // [N, D]
            diff.attach(scope);
            l = l.add(diff.square().sum().mul(Layers.scalar(diff, (float) (plan.anchorWeight() / n))));
        }
        l = run.listener().loss(state.step, l);
        double v = l.getFloat();
        if (!Double.isFinite(v)) {
            failure = diverged("loss", v);
            return null;
        }
        stepLoss += v;
        return l;
    }

    /** Finite check, clipping and the optimiser's update; the gradient's norm, or NaN when the run failed. */
    double update() {
        if (failure != null) {
            return Double.NaN;
        }
        double gradNorm;
        try (NDArray grad = remote != null ? Tensors.create(trainable.master().getManager(), remoteGrad, new Shape(n, d))
                : trainable.gradient()) {                                                         // [N, D] float32
            gradNorm = norm(grad);
            if (!Double.isFinite(gradNorm)) {
                failure = diverged("gradient", gradNorm);
                return Double.NaN;
            }
            if (cfg.clipNorm() != null && gradNorm > cfg.clipNorm()) {
                grad.muli((float) (cfg.clipNorm() / gradNorm));
            }
            trainable.update(grad, lr);
        }
        trainable.endStep();
        state.lastLoss = stepLoss;
        return gradNorm;
    }

    /**
     * The step's figures, to the listener and (every log_every steps) metrics.jsonl; the evaluation
     * when due, which keeps the best prompt and counts patience. secs is the shared step's time,
     * packRows the rows of every run in it.
     *
     * @return whether this step evaluated
     */
    boolean logAndEvaluate(double gradNorm, double secs, int packRows) {
        // a run's share of a shared pass's time: its rows' share of the pass's rows
        double mine = secs * rows.size() / Math.max(1, packRows);
        if (state.step > step0 + 3) { // steady state: the first steps pay for warm-up of the native library
            state.trainSeconds += mine;
            state.trainExamples += rows.size();
        }
        double rate = state.trainSeconds > 0 ? state.trainExamples / state.trainSeconds : rows.size() / mine;
        int step = state.step;
        run.listener().onStep(new Trainer.Step(step, total, state.lastLoss, lr, gradNorm, rate));
        lastStep = step;
        Map<String, Object> line = null;
        if (cfg.logEvery() > 0 && (step % cfg.logEvery() == 0 || step == total || step == 1)) {
            line = logLine(step, state.lastLoss, lr, gradNorm, rate, started);
        }
        boolean evaluated = evaluates && (step % cfg.evalEvery() == 0 || step == total);
        if (evaluated) {
            float[] current = trainable.values();
            run.listener().onEvalStart(step, run.devSize());
            Evaluator.Result r = run.eval().evaluate(current);
            evalSecs += r.seconds();
            evalExamples += r.metrics().examples();
            boolean improved = state.offer(r.metrics());
            if (improved) {
                best = current;
                run.listener().onBest(step, best, state.bestDev);
            }
            run.listener().onEval(step, r.metrics(), improved);
            if (line == null) {
                line = logLine(step, state.lastLoss, lr, gradNorm, rate, started);
            }
            line.put("dev", r.metrics().toMap());
            line.put("best", improved);
            stoppedEarly = state.patienceSpent(cfg.patience());
        }
        if (line != null && dir != null) {
            line.put("rss_mb", Rss.currentMb()); // at the end of the step, evaluation included
            dir.log(line);
        }
        return evaluated;
    }

    /** Whether this step ends with a checkpoint of its own: every checkpoint_every steps and at the end. */
    boolean checkpointDue() {
        if (dir == null || failure != null) {
            return false;
        }
        return cfg.checkpointEvery() > 0 && state.step % cfg.checkpointEvery() == 0 || stoppedEarly || state.step == total;
    }

    /** Everything needed to continue from this step, in the run folder. */
    void saveCheckpoint() {
        if (dir == null) {
            return;
        }
        Optimizer opt = trainable.optimizer();
        Map<String, float[]> os = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        opt.state().forEach((k, v) -> {
            os.put(k, v.toFloatArray());
            shapes.put(k, v.getShape().getShape());
        });
        float[] now = trainable.values();
        float[] bestNow = evaluates ? best : now;
        dir.saveCheckpoint(new Checkpoint(now, bestNow, new long[] {n, d}, os, shapes, state.record(cfg, opt.steps(), order), cfg,
                run.context().fingerprint(), trainable.reparameterisation()));
        checkpointStep = state.step;
    }

    Trainer.Result result() {
        if (result != null) {
            return result;
        }
        int bestStep = state.bestStep;
        if (!evaluates && failure == null) {
            best = trainable.values();
            bestStep = lastStep;
        }
        double trainRate = state.trainSeconds > 0 ? state.trainExamples / state.trainSeconds : Double.NaN;
        double evalRate = evalSecs > 0 ? evalExamples / evalSecs : Double.NaN;
        result = new Trainer.Result(best, state.bestDev, bestStep, lastStep, state.lastLoss, trainRate, evalRate, stoppedEarly,
                step0, state.initialDev, failure);
        return result;
    }

    private UserException diverged(String what, double value) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "non-finite %s (%s) at step %d; training stopped",
                what, value, state.step));
        if (dir != null) {
            if (checkpointStep > 0) {
                sb.append("; kept checkpoint ").append(dir.checkpoint()).append(" (step ").append(checkpointStep).append(')');
            }
            if (evaluates && Files.isRegularFile(dir.best())) {
                sb.append(", best prompt ").append(dir.best()).append(" (step ").append(state.bestStep).append(')');
            }
        }
        sb.append(". Lower {{lr}} or set {{clip_norm}}");
        if (dir != null && checkpointStep > 0) {
            sb.append(", or {{resume}} ").append(dir.dir());
        }
        return new UserException(sb.toString(), UserException.EXIT_DIVERGED);
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

    @Override
    public void close() {
        trainable.close();
        if (remote != null) {
            remote.close();
        }
    }
}
