package io.softprompt.train;

/** Learning-rate schedules as pure functions of the step. */
public final class Schedule {
    private Schedule() {}

    /**
     * Linear warmup from lr/warmup to lr over the first {@code warmup} steps, then constant.
     * step counts from 1.
     */
    public static double warmupConstant(double lr, int warmup, int step) {
        if (warmup > 0 && step <= warmup) {
            return lr * step / warmup;
        }
        return lr;
    }
}
