package io.softprompt.scoring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;

/** The sampler on random logits: top-k and top-p never emit outside their sets; draws follow the softmax. */
class SamplerTest {
    @Provide
    Arbitrary<float[]> logits() {
        return Arbitraries.floats().between(-8f, 8f).array(float[].class).ofMinSize(2).ofMaxSize(60);
    }

    static int rank(float[] logits, int token) {
        int above = 0;
        for (float x : logits) {
            if (x > logits[token]) {
                above++;
            }
        }
        return above;
    }

    @Property(tries = 500)
    void topKNeverEmitsOutsideTheTopK(@ForAll("logits") float[] logits, @ForAll @IntRange(min = 1, max = 5) int k,
            @ForAll @DoubleRange(min = 0.05, max = 5) double temperature, @ForAll long seed) {
        Decoding d = new Decoding(1, true, temperature, k, 1.0, seed, List.of());
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = 0; i < 20; i++) {
            int t = Sampler.pick(logits, d, rng);
            assertTrue(rank(logits, t) < k, "rank " + rank(logits, t) + " under top-k " + k);
        }
    }

    @Property(tries = 500)
    void topPEmitsOnlyFromTheNucleus(@ForAll("logits") float[] logits, @ForAll @DoubleRange(min = 0.01, max = 1) double topP,
            @ForAll long seed) {
        Decoding d = new Decoding(1, true, 1.0, 0, topP, seed, List.of());
        double[] p = Sampler.probabilities(logits, new Decoding(1, true, 1.0, 0, 1.0, 0, List.of()));
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = 0; i < 20; i++) {
            int t = Sampler.pick(logits, d, rng);
            double before = 0; // the probability of the tokens strictly more likely than t
            for (double x : p) {
                if (x > p[t]) {
                    before += x;
                }
            }
            assertTrue(before < topP + 1e-9, "a token after the nucleus: mass before it " + before + " ≥ top-p " + topP);
        }
    }

    @Property(tries = 300)
    void aColdTemperatureIsTheArgmax(@ForAll("logits") float[] logits, @ForAll long seed) {
        int best = Scorer.argmax(logits);
        boolean tie = false;
        for (int i = 0; i < logits.length; i++) {
            tie |= i != best && logits[i] == logits[best];
        }
        if (!tie) {
            assertEquals(best, Sampler.pick(logits, new Decoding(1, true, 1e-6, 0, 1.0, seed, List.of()), new SplittableRandom(seed)));
        }
    }

    /**
     * A temperature far below any logit gap (1e-308, the smallest a client can send) overflowed the
     * scaled logits to infinity, the softmax to NaN and the pick to token -1, which failed every other
     * item of its serve batch (issue 34). It is the argmax now, whatever the logits, and never -1.
     */
    @Property(tries = 300)
    void theSmallestTemperatureIsAValidToken(@ForAll("logits") float[] logits, @ForAll long seed,
            @ForAll @IntRange(min = 0, max = 5) int k) {
        for (double t : new double[] {1e-308, Double.MIN_VALUE, 1e-45}) {
            int picked = Sampler.pick(logits, new Decoding(1, true, t, k, 1.0, seed, List.of()), new SplittableRandom(seed));
            assertTrue(picked >= 0 && picked < logits.length, "token " + picked + " at temperature " + t);
            assertEquals(logits[Scorer.argmax(logits)], logits[picked], "the most likely (one of equals) at temperature " + t);
        }
        float[] nan = logits.clone();
        java.util.Arrays.fill(nan, Float.NaN);
        int picked = Sampler.pick(nan, new Decoding(1, true, 1.0, k, 1.0, seed, List.of()), new SplittableRandom(seed));
        assertTrue(picked >= 0 && picked < logits.length, "non-finite logits still give a token: " + picked);
    }

    @Example
    void drawsFollowTheSoftmax() {
        float[] logits = {2f, 1f, 0f, -1f, 0.5f};
        Decoding d = new Decoding(1, true, 1.0, 0, 1.0, 0, List.of());
        double[] p = Sampler.probabilities(logits, d);
        int[] counts = new int[logits.length];
        SplittableRandom rng = new SplittableRandom(42);
        int draws = 40_000;
        for (int i = 0; i < draws; i++) {
            counts[Sampler.pick(logits, d, rng)]++;
        }
        double worst = 0;
        for (int i = 0; i < logits.length; i++) {
            worst = Math.max(worst, Math.abs(counts[i] / (double) draws - p[i]));
        }
        System.out.printf("sampler: largest |frequency - softmax| over %d draws: %.4f%n", draws, worst);
        assertTrue(worst < 0.01, "frequencies follow the softmax within 0.01: " + worst); // 5σ ≈ 0.0125 at p = 0.5
        // the softmax itself: p ∝ e^logit
        assertEquals(Math.exp(1), p[0] / p[1], 1e-9);
    }
}
