package io.softprompt.cli;

import io.softprompt.eval.Metrics;
import io.softprompt.train.Trainer;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * Training progress: on a terminal one redrawn bar (step, loss, dev accuracy, examples/s, ETA); in CI
 * or a pipe, plain lines about every 5% of the run and at each evaluation.
 */
class Progress implements Trainer.Listener {
    private static final int WIDTH = 24;
    private final PrintWriter err;
    private final boolean terminal;
    private final long start = System.nanoTime();
    private String dev = "-";
    private boolean drawn;

    Progress(PrintWriter err, boolean terminal) {
        this.err = err;
        this.terminal = terminal;
    }

    @Override
    public void onStep(Trainer.Step s) {
        int step = s.step();
        int total = s.total();
        double loss = s.loss();
        double lr = s.lr();
        double examplesPerSec = s.examplesPerSec();
        double elapsed = (System.nanoTime() - start) / 1e9;
        double eta = elapsed / step * (total - step);
        String stats = String.format(Locale.ROOT, "step %d/%d  loss %.4f  lr %.2e  dev acc %s  %.1f ex/s  ETA %s",
                step, total, loss, lr, dev, examplesPerSec, Terminal.duration(eta));
        if (terminal) {
            int filled = (int) ((long) WIDTH * step / total);
            err.print("\r[" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "] " + stats + "   ");
            drawn = true;
            err.flush();
        } else if (step == 1 || step == total || step % Math.max(1, total / 20) == 0) {
            err.println(stats);
            err.flush();
        }
    }

    @Override
    public void onEval(int step, Metrics m, boolean best) {
        dev = String.format(Locale.ROOT, "%.4f", m.accuracy());
        if (!terminal) {
            String what = Double.isNaN(m.macroF1())
                    ? String.format(Locale.ROOT, "dev exact match %.4f", m.accuracy())
                    : String.format(Locale.ROOT, "dev accuracy %.4f, macro-F1 %.4f", m.accuracy(), m.macroF1());
            err.printf(Locale.ROOT, "eval at step %d: %s%s%n", step, what, best ? " (best so far)" : "");
            err.flush();
        }
    }

    void finish() {
        if (drawn) {
            err.println();
            err.flush();
        }
    }
}
