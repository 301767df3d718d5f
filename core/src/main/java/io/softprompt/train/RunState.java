package io.softprompt.train;

import io.softprompt.eval.Metrics;

/**
 * Where a run stands, exactly what its checkpoint saves besides tensors ({@link Checkpoint.State}):
 * the step, the position in the data order, the best prompt's metric, step and dev figures, patience,
 * the last loss, and the steady-state timing. Mutable as the loop goes; restored from and turned back
 * into the checkpoint's record, so a resumed run continues with the very same figures.
 */
final class RunState {
    int step;
    Double bestMetric;
    Metrics bestDev;
    int bestStep;
    int evalsSinceBest;
    double lastLoss = Double.NaN;
    double trainSeconds;
    long trainExamples;
    Metrics initialDev;

    /** A fresh run's (from == null) or a checkpoint's. */
    static RunState of(Checkpoint from) {
        RunState r = new RunState();
        if (from != null) {
            Checkpoint.State s = from.state();
            r.step = s.step();
            r.bestMetric = s.bestMetric();
            r.bestDev = s.bestDev();
            r.bestStep = s.bestStep();
            r.evalsSinceBest = s.evalsSinceBest();
            r.lastLoss = s.lastLoss();
            r.trainSeconds = s.trainSeconds();
            r.trainExamples = s.trainExamples();
            r.initialDev = s.initialDev();
        }
        return r;
    }

    /**
     * An evaluation at the current step: whether it is the best so far (strictly better than every
     * earlier one, the initial prompt's included), with patience counted.
     */
    boolean offer(Metrics m) {
        boolean improved = bestMetric == null || m.accuracy() > bestMetric;
        if (improved) {
            bestMetric = m.accuracy();
            bestDev = m;
            bestStep = step;
            evalsSinceBest = 0;
        } else {
            evalsSinceBest++;
        }
        return improved;
    }

    /** Whether patience (null: none) is spent. */
    boolean patienceSpent(Integer patience) {
        return patience != null && evalsSinceBest >= patience;
    }

    /** The checkpoint's record of this state, with the optimiser's step count and the data position. */
    Checkpoint.State record(TrainConfig cfg, int optimizerSteps, DataOrder order) {
        return new Checkpoint.State(step, cfg.optimizer(), optimizerSteps, cfg.seed(), order.epoch(), order.cursor(),
                bestMetric, bestDev, bestStep, evalsSinceBest, lastLoss, trainSeconds, trainExamples, initialDev);
    }
}
