package io.softprompt.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.softprompt.data.Encoder;
import io.softprompt.eval.Evaluator;
import io.softprompt.eval.Metrics;
import io.softprompt.model.LanguageModel;
import io.softprompt.scoring.PackedLoss;
import io.softprompt.util.NativeHeap;
import io.softprompt.util.UserException;
import java.util.ArrayList;
import java.util.List;
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
 *
 * <p>This file is the loop; each concern it calls lives in its own: {@link PackMember} (one run as the
 * loop carries it), {@link Trainable} (what a run learns: {@link InputPrompt}, the prompt in front of
 * the input, with its optimiser and half-precision master copy), {@link DataOrder} (the rows' order,
 * a pure function of seed and epoch), {@link RunState} (where a run stands: what its checkpoint's
 * record saves) and {@link DataParallel} (a step's sums computed by workers).
 */
public final class Trainer {
    /** What the caller sees while training runs; every method defaults to doing nothing. */
    public interface Listener {
        /**
         * A step ended.
         *
         * @param s its figures
         */
        default void onStep(Step s) {}

        /**
         * An evaluation is about to score {@code examples} dev rows (progress displays say so).
         *
         * @param step the step (0: the initial prompt)
         * @param examples the dev rows
         */
        default void onEvalStart(int step, int examples) {}

        /**
         * An evaluation ended.
         *
         * @param step the step (0: the initial prompt)
         * @param dev its dev metrics
         * @param best whether it beat every earlier evaluation
         */
        default void onEval(int step, Metrics dev, boolean best) {}

        /**
         * A new best prompt [N·D] (write it out: a crash later must not lose it).
         *
         * @param step its step (0: the initial prompt)
         * @param prompt its values [N·D]
         * @param dev its dev metrics
         */
        default void onBest(int step, float[] prompt, Metrics dev) {}

        /**
         * Each step's loss [] before it is checked and differentiated; the identity unless a fault is
         * being injected (the command line's hidden --debug-nan-at tests the divergence guard this way).
         *
         * @param step the step
         * @param loss the step's loss []
         * @return the loss to check and differentiate
         */
        default NDArray loss(int step, NDArray loss) {
            return loss;
        }
    }

    /** Scores a prompt [N·D] on the dev set: classes through the scorer, text by generation. */
    @FunctionalInterface
    public interface Evaluation {
        /**
         * Scores a prompt on the dev set.
         *
         * @param prompt its values [N·D]
         * @return the metrics and the speed
         */
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
    public record Context(float[] anchor, RunDir run, Checkpoint resume, String fingerprint, DataParallel.Distributor distributor) {
        /**
         * A context computed in this process.
         *
         * @param anchor E(anchor text) [N·D], or null
         * @param run the run folder, or null
         * @param resume the checkpoint to continue from, or null
         * @param fingerprint the model's fingerprint, for checkpoints
         */
        public Context(float[] anchor, RunDir run, Checkpoint resume, String fingerprint) {
            this(anchor, run, resume, fingerprint, null);
        }

        /**
         * No anchor, no run folder, no checkpoint.
         *
         * @return the empty context
         */
        public static Context none() {
            return new Context(null, null, null, null);
        }

        /**
         * This context with each step's loss and gradient computed by {@code d} (null: in this process).
         *
         * @param d the workers
         * @return the context
         */
        public Context distributed(DataParallel.Distributor d) {
            return new Context(anchor, run, resume, fingerprint, d);
        }
    }

    /**
     * One run of a pack: its resolved config, encoder (task, label words), encoded training rows, dev
     * evaluation (null: none) over devSize rows, initial prompt [N·D], listener and context.
     */
    public record Run(TrainPlan plan, Encoder encoder, List<Encoder.Encoded> train, Evaluation eval, int devSize,
            float[] init, Listener listener, Context context) {
        /**
         * The run's config, for its plain values (batch size, seed, intervals).
         *
         * @return the resolved config
         */
        public TrainConfig cfg() {
            return plan.config();
        }
    }

    private Trainer() {}

    /**
     * Trains from {@code init} [N·D] (or the context's checkpoint). {@code eval} scores the dev set of
     * {@code devSize} rows every eval_every steps (null or devSize 0: no evaluation; the last prompt
     * is the result). A non-finite loss or gradient throws (exit code 3), naming the files kept.
     *
     * @param cfg the resolved config (steps and warmup set)
     * @param lm the frozen model
     * @param encoder the task's encoder
     * @param train the encoded training rows
     * @param eval the dev evaluation, or null
     * @param devSize its rows
     * @param init the initial prompt [N·D]
     * @param listener sees every step and evaluation
     * @param x anchor, run folder, checkpoint and workers
     * @return the best prompt and the run's figures
     */
    public static Result train(TrainConfig cfg, LanguageModel lm, Encoder encoder, List<Encoder.Encoded> train,
            Evaluation eval, int devSize, float[] init, Listener listener, Context x) {
        return train(lm, new Run(TrainPlan.of(cfg), encoder, train, eval, devSize, init, listener, x));
    }

    /**
     * Trains one run as it is given. A non-finite loss or gradient throws (exit code 3), naming the
     * files kept.
     *
     * @param lm the frozen model
     * @param run the run
     * @return the best prompt and the run's figures
     */
    public static Result train(LanguageModel lm, Run run) {
        Result r = trainPack(lm, List.of(run), 0).get(0);
        if (r.failure() != null) {
            throw r.failure();
        }
        return r;
    }

    /**
     * Trains the runs together, sharing every forward pass; results in run order. tokenBudget (0: none)
     * caps a pass's rows × length: past it the runs of a step are split over several passes.
     *
     * @param lm the frozen model
     * @param runs the runs
     * @param tokenBudget the most rows × positions in one forward pass (0: no limit)
     * @return each run's result, in order
     */
    public static List<Result> trainPack(LanguageModel lm, List<Run> runs, int tokenBudget) {
        return trainPack(lm, runs, tokenBudget, (k, r) -> {});
    }

    /**
     * As {@link #trainPack(LanguageModel, List, int)}, and each run's result goes to {@code onLeave}
     * (with the run's index) the moment it leaves the pack, so its files can be finished while the
     * others train on. In a pack every member checkpoints whenever one does and whenever one leaves:
     * a killed pack then resumes with all its members at one step, in the same company, and ends
     * exactly where the uninterrupted pack ends ({@code TrainJob.align} picks that step).
     *
     * @param lm the frozen model
     * @param runs the runs
     * @param tokenBudget the most rows × positions in one forward pass (0: no limit)
     * @param onLeave gets each run's index and result as it leaves
     * @return each run's result, in order
     */
    public static List<Result> trainPack(LanguageModel lm, List<Run> runs, int tokenBudget, BiConsumer<Integer, Result> onLeave) {
        if (runs.size() > 1 && runs.stream().anyMatch(r -> r.context().distributor() != null)) {
            throw new UserException("a distributed run trains alone, not in a pack");
        }
        try (NDManager root = NDManager.newBaseManager(lm.device())) {
            List<PackMember> members = new ArrayList<>();
            try {
                for (Run r : runs) {
                    members.add(new PackMember(r, lm, root));
                }
                for (PackMember m : members) {
                    m.evaluateInitial(); // the starting point, the first candidate for best
                }
                leave(members, members, onLeave); // those resumed at their end
                while (members.stream().anyMatch(PackMember::active)) {
                    List<PackMember> active = members.stream().filter(PackMember::active).toList();
                    boolean pause = step(lm, root, active, tokenBudget); // true when it evaluated
                    // ---- checkpoint: in a pack all at once when one is due or one leaves ----
                    boolean all = members.size() > 1
                            && active.stream().anyMatch(m -> !m.active() || m.checkpointDue());
                    for (PackMember m : active) {
                        if (m.failure == null && (all || m.checkpointDue())) {
                            m.saveCheckpoint();
                            pause = true;
                        }
                    }
                    // ---- after an evaluation or checkpoint: freed native memory back to the OS ----
                    if (pause) {
                        NativeHeap.release(); // jemalloc keeps freed pages (decay off); the JIT's among them
                    }
                    leave(members, active, onLeave);
                }
            } finally {
                members.forEach(PackMember::close);
            }
            return members.stream().map(PackMember::result).toList();
        }
    }

    /** Hands the result of each of {@code these} that is no longer active to onLeave. */
    private static void leave(List<PackMember> all, List<PackMember> these, BiConsumer<Integer, Result> onLeave) {
        for (PackMember m : these) {
            if (!m.active()) {
                onLeave.accept(all.indexOf(m), m.result());
            }
        }
    }

    /**
     * One step of every active run, top to bottom as in train.py: each run's rows and learning rate;
     * forward and backward over the micro-batches, the runs sharing passes (a data-parallel run's
     * loss and gradient come from its workers instead); then per run the finite check, clipping, the
     * optimiser's update, the log line and, when due, the evaluation that keeps the best prompt.
     *
     * @return whether a run evaluated
     */
    private static boolean step(LanguageModel lm, NDManager root, List<PackMember> active, int tokenBudget) {
        long t0 = System.nanoTime();
        // ---- schedule and batch ----
        for (PackMember m : active) {
            m.beginStep();
        }
        // ---- forward and backward, micro-batch by micro-batch ----
        int micro = active.stream().mapToInt(m -> m.cfg.gradAccum()).max().orElse(1);
        for (int j = 0; j < micro; j++) {
            int at = j;
            List<PackMember> here = active.stream()
                    .filter(m -> at < m.cfg.gradAccum() && m.failure == null && m.remote == null).toList();
            for (List<Passes.Piece> pass : Passes.plan(here, j, tokenBudget)) {
                Passes.forwardBackward(lm, root, pass, j);
            }
        }
        for (PackMember m : active) {
            if (m.remote != null) {
                m.remoteStep(); // data-parallel: the workers' sums
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        int rows = active.stream().mapToInt(m -> m.cfg.rowsPerStep()).sum();
        boolean evaluated = false;
        for (PackMember m : active) {
            // ---- finite check, clip, optimiser step ----
            double gradNorm = m.update();
            if (m.failure != null) {
                continue; // a non-finite loss or gradient: this run stops, its last good files kept
            }
            // ---- log, evaluate, keep the best, stop early ----
            evaluated |= m.logAndEvaluate(gradNorm, secs, rows);
        }
        return evaluated;
    }
}
