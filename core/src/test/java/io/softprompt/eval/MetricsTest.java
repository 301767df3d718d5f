package io.softprompt.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class MetricsTest {
    @Test
    void handCheckedAccuracyMacroF1AndConfusion() {
        int[] gold = {0, 0, 0, 1, 1, 1, 1, 1};
        int[] pred = {0, 0, 1, 1, 1, 1, 0, 0};
        Metrics m = Metrics.of(gold, pred, 2);
        assertEquals(5.0 / 8, m.accuracy(), 1e-12);
        // class 0: tp 2, fp 2, fn 1 → F1 = 4/7; class 1: tp 3, fp 1, fn 2 → F1 = 6/9
        assertEquals((4.0 / 7 + 6.0 / 9) / 2, m.macroF1(), 1e-12);
        assertArrayEquals(new long[] {2, 1}, m.confusion()[0]);
        assertArrayEquals(new long[] {2, 3}, m.confusion()[1]);
    }

    @Test
    void aClassNeverSeenNorPredictedScoresZero() {
        Metrics m = Metrics.of(new int[] {0, 0}, new int[] {0, 0}, 2);
        assertEquals(1.0, m.accuracy());
        assertEquals(0.5, m.macroF1(), 1e-12);
    }

    @Test
    void theMajorityBaselineIsTheMostFrequentGoldClassesShare() {
        Metrics m = Metrics.of(new int[] {0, 0, 0, 1}, new int[] {1, 1, 1, 1}, 2);
        assertEquals(0.25, m.accuracy(), 1e-12);
        assertEquals(0.75, m.majorityAccuracy(), 1e-12, "always class 0 would score 3 of 4");
        assertEquals(0.0, Metrics.of(new int[0], new int[0], 2).majorityAccuracy());
    }
}
