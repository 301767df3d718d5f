package io.softprompt.cli;

import io.softprompt.eval.Metrics;
import io.softprompt.train.Trainer;
import io.softprompt.util.Durations;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

/**
 * Training progress. On a terminal: one line redrawn in place (a bar sized to the terminal, step,
 * loss, dev accuracy, examples/s, ETA), never wider than the terminal so it never wraps; at narrow
 * widths the text gets shorter and the bar stays (down to 4 cells); replaced by "evaluating ..." while
 * the dev set is scored; each evaluation's result stays, wrapped at word boundaries when it is wider
 * than the terminal. In CI,
 * a pipe or a file: plain lines, about every 5% of the run and at each evaluation, never a '\r'.
 */
class Progress implements Trainer.Listener {
    /** Steps the shown loss is the mean of: one batch's loss swings too much to read a trend from. */
    static final int LOSS_WINDOW = 20;
    private final double[] losses = new double[LOSS_WINDOW];
    private int seen;
    private final PrintWriter err;
    private final boolean terminal;
    private final int width;
    private final java.util.function.LongSupplier clock;
    private final long start;
    private String dev = "-";
    private boolean drawn;

    /** width: the terminal's columns (only used when terminal). */
    Progress(PrintWriter err, boolean terminal, int width) {
        this(err, terminal, width, System::nanoTime);
    }

    /** With a clock in nanoseconds (tests draw screens with a fixed one). */
    Progress(PrintWriter err, boolean terminal, int width, java.util.function.LongSupplier clock) {
        this.err = err;
        this.terminal = terminal;
        this.width = Math.max(20, width);
        this.clock = clock;
        this.start = clock.getAsLong();
    }

    /** For standard error as it is: redrawn on a terminal of its width, plain lines elsewhere. */
    static Progress forTerminal(PrintWriter err) {
        boolean tty = Terminal.isInteractive();
        return new Progress(err, tty, tty ? Terminal.width() : Terminal.DEFAULT_WIDTH);
    }

    private int firstStep = -1;
    private long firstAt;

    /** A learning rate as every line shows it: three significant digits (0.0300, 3.00e-05). */
    static String lr(double lr) {
        return String.format(Locale.ROOT, "%.3g", lr);
    }

    /** Seconds left after {@code step} of {@code total} at {@code now} (ns): NaN until a second step shows the pace. */
    double eta(int step, int total, long now) {
        if (firstStep < 0) {
            firstStep = step;
            firstAt = now;
        }
        return step == firstStep ? Double.NaN : (now - firstAt) / 1e9 / (step - firstStep) * (total - step);
    }

    /** The mean of the last {@link #LOSS_WINDOW} steps' losses, this one included. */
    double windowMean(double loss) {
        losses[seen++ % LOSS_WINDOW] = loss;
        int n = Math.min(seen, LOSS_WINDOW);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += losses[i];
        }
        return sum / n;
    }

    @Override
    public void onStep(Trainer.Step s) {
        int step = s.step();
        int total = Math.max(1, s.total());
        // measured from the end of the first step this run made: the step-0 evaluation and the first step's
        // warm-up (JIT, allocator) once made the first ETA hours for a run of minutes
        double eta = eta(step, total, clock.getAsLong());
        double loss = windowMean(s.loss());
        String stats = String.format(Locale.ROOT, "step %d/%d  loss %.4f (mean of %d)  lr %s  dev acc %s  %.1f ex/s  ETA %s",
                step, total, loss, Math.min(seen, LOSS_WINDOW), lr(s.lr()), dev, s.examplesPerSec(), Durations.clock(eta));
        if (terminal) {
            redraw(barLine(step, total, List.of(stats,
                    String.format(Locale.ROOT, "%d/%d loss %.4f dev %s %.1f ex/s ETA %s", step, total, loss, dev,
                            s.examplesPerSec(), Durations.clock(eta)),
                    String.format(Locale.ROOT, "%d%% loss %.4f dev %s ETA %s", 100L * step / total, loss, dev, Durations.clock(eta)),
                    String.format(Locale.ROOT, "%d%% loss %.3f ETA %s", 100L * step / total, loss, Durations.clock(eta)))));
        } else if (step == 1 || step == total || step % Math.max(1, total / 20) == 0) {
            err.println(stats);
            err.flush();
        }
    }

    /**
     * The bar and the most informative of {@code texts} (most to least) that fits beside a bar of at
     * least 8 cells (up to 30); at narrow widths the shortest text with a bar of at least 4; the
     * shortest alone when even that does not fit.
     */
    String barLine(int step, int total, List<String> texts) {
        int room = width - 1;                               // the last column would wrap on some terminals
        String shortest = texts.get(texts.size() - 1);
        for (String text : texts) {
            int bar = Math.min(30, room - text.length() - 3);
            if (bar >= 8 || (text == shortest && bar >= 4)) {
                int filled = (int) ((long) bar * step / total);
                return "[" + "#".repeat(filled) + ".".repeat(bar - filled) + "] " + text;
            }
        }
        return shortest;
    }

    @Override
    public void onEvalStart(int step, int examples) {
        if (terminal) {
            redraw(String.format(Locale.ROOT, "evaluating %d dev examples at step %d ...", examples, step));
        }
    }

    @Override
    public void onEval(int step, Metrics m, boolean best) {
        dev = String.format(Locale.ROOT, "%.4f", m.accuracy());
        String what = Double.isNaN(m.macroF1())
                ? String.format(Locale.ROOT, "dev exact match %.4f", m.accuracy())
                : String.format(Locale.ROOT, "dev accuracy %.4f, macro-F1 %.4f", m.accuracy(), m.macroF1());
        String line = String.format(Locale.ROOT, "eval at step %d: %s%s", step, what, best ? " (best so far)" : "");
        if (terminal) { // over the bar; at narrow widths on several lines, cut at word boundaries, never mid-number
            String[] lines = Terminal.wrap(line, width).split("\n");
            redraw(lines[0]);
            err.println();
            for (int i = 1; i < lines.length; i++) {
                err.println(lines[i]);
            }
            drawn = false;
        } else {
            err.println(line);
        }
        err.flush();
    }

    /** Puts text over the current line: carriage return, the text, blanks over what was longer. */
    private void redraw(String text) {
        String t = fit(text);
        err.print("\r" + t + " ".repeat(Math.max(0, width - 1 - t.length())));
        drawn = true;
        err.flush();
    }

    private String fit(String text) {
        return text.length() <= width - 1 ? text : text.substring(0, width - 2) + "…";
    }

    void finish() {
        if (drawn) {
            err.println();
            err.flush();
        }
    }
}
