package io.softprompt.sweep;

import java.awt.Graphics2D;
import java.awt.geom.Rectangle2D;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jfree.chart.axis.AxisState;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTick;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.axis.ValueTick;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.TextAnchor;

/** The report plots' axes: prompt length (log or linear, ticked at the lengths run), readable ticks, ranges, error bars dodged apart. */
final class PlotAxes {
    private PlotAxes() {}

    /** The prompt-length axis, ticked at the grid's lengths only (1, 5, 20, 50: never 10⁰, 10¹). */
    static ValueAxis lengthAxis(boolean log, double minX, double maxX, double[] lengths) {
        ValueAxis x;
        if (log) {
            x = new TickedLogAxis("prompt length (tokens, log scale)", lengths);
            x.setRange(minX / 1.4, maxX * 1.4);
        } else {
            x = new TickedNumberAxis("prompt length (tokens)", lengths);
            x.setRange(minX - 0.5, maxX + 0.5);
        }
        return x;
    }

    /** Tick marks and labels at given values only, on a bottom axis. */
    static List<ValueTick> ticksAt(double[] at) {
        List<ValueTick> t = new ArrayList<>();
        for (double v : at) {
            t.add(new NumberTick(v, SweepRuns.fmt(v), TextAnchor.TOP_CENTER, TextAnchor.CENTER, 0.0));
        }
        return t;
    }

    /** A log axis ticked at given values. */
    static final class TickedLogAxis extends LogAxis {
        private final double[] at;

        TickedLogAxis(String label, double[] at) {
            super(label);
            this.at = at.clone();
            setBase(10);
            setMinorTickMarksVisible(false);
        }

        @Override
        @SuppressWarnings("rawtypes")
        public List refreshTicks(Graphics2D g2, AxisState state, Rectangle2D dataArea, RectangleEdge edge) {
            return ticksAt(at);
        }
    }

    /** A linear axis ticked at given values. */
    static final class TickedNumberAxis extends NumberAxis {
        private final double[] at;

        TickedNumberAxis(String label, double[] at) {
            super(label);
            this.at = at.clone();
        }

        @Override
        @SuppressWarnings("rawtypes")
        public List refreshTicks(Graphics2D g2, AxisState state, Rectangle2D dataArea, RectangleEdge edge) {
            return ticksAt(at);
        }
    }

    /**
     * A readable tick step for an axis spanning {@code span}: 1, 2, 2.5 or 5 times a power of ten, the
     * smallest giving at most 8 intervals (an accuracy axis from 0.49 to 0.63 gets 0.02, not 0.005).
     */
    static double niceStep(double span) {
        if (!(span > 0) || !Double.isFinite(span)) {
            return 0.1;
        }
        double p = Math.pow(10, Math.floor(Math.log10(span / 8)));
        for (double m : new double[] {1, 2, 2.5, 5, 10}) {
            if (span / (m * p) <= 8) {
                return m * p;
            }
        }
        return 10 * p;
    }

    /** An accuracy axis over [lo, hi] with a readable step and as many decimals as the step needs. */
    static void readableTicks(NumberAxis y, double lo, double hi) {
        y.setRange(lo, hi);
        double step = niceStep(hi - lo);
        int decimals = 0; // as many as the step needs: 0.02 → 2, 0.025 → 3
        while (decimals < 6 && Math.abs(step * Math.pow(10, decimals) - Math.rint(step * Math.pow(10, decimals))) > 1e-9) {
            decimals++;
        }
        y.setTickUnit(new NumberTickUnit(step, new DecimalFormat("0." + "0".repeat(Math.max(1, decimals)),
                DecimalFormatSymbols.getInstance(Locale.ROOT))));
    }

    /**
     * The y axis of an accuracy plot: from below both the data and the majority-class baseline to above
     * the data, at most 1.0, so the baseline is always in view.
     */
    static double[] yRange(double lo, double hi, double majority) {
        double bottom = Double.isNaN(majority) ? lo : Math.min(lo, majority);
        double top = Math.max(hi, Double.isNaN(majority) ? hi : majority);
        double pad = Math.max(0.01, (top - bottom) * 0.1);
        return new double[] {Math.max(0, bottom - pad), Math.min(1.0, top + pad)};
    }

    /**
     * Series k of n drawn a little beside x, so that error bars at the same x never overlap: within
     * ±4% of the point on a log axis, ±0.06 of a unit on a linear one, spread evenly around x.
     */
    static double dodge(double x, int k, int n, boolean log) {
        if (n <= 1) {
            return x;
        }
        double offset = (k - (n - 1) / 2.0) / (n - 1); // -0.5 .. 0.5
        return log ? x * Math.pow(1.08, offset) : x + 0.12 * offset;
    }
}
