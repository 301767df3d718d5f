package io.softprompt.train;

import io.softprompt.data.Encoder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * A run's order of its training rows: each epoch a permutation that is a pure function of (seed,
 * epoch) and the rows' lengths, so (epoch, cursor) is the whole position a checkpoint saves, and a
 * resumed run draws exactly the rows it would have drawn.
 */
public final class DataOrder {
    private final List<Encoder.Encoded> rows;
    private final TrainConfig cfg;
    private final int[] lengths;
    private int epoch;
    private int cursor;
    private int[] perm;

    DataOrder(List<Encoder.Encoded> rows, TrainConfig cfg, int epoch, int cursor) {
        this.rows = rows;
        this.cfg = cfg;
        this.lengths = rows.stream().mapToInt(r -> r.ids().length).toArray();
        this.epoch = epoch;
        this.cursor = cursor;
        this.perm = order(lengths, cfg, epoch);
    }

    /** The next {@code count} rows, into the next epoch's order when this one is used up. */
    List<Encoder.Encoded> next(int count) {
        List<Encoder.Encoded> out = new ArrayList<>(count);
        for (int k = 0; k < count; k++) {
            if (cursor == perm.length) {
                perm = order(lengths, cfg, ++epoch);
                cursor = 0;
            }
            out.add(rows.get(perm[cursor++]));
        }
        return out;
    }

    int epoch() {
        return epoch;
    }

    int cursor() {
        return cursor;
    }

    /** Epoch {@code epoch}'s order of the rows as training draws them (benchmarks count its padding). */
    public static int[] orderFor(List<Encoder.Encoded> rows, TrainConfig cfg, int epoch) {
        return order(rows.stream().mapToInt(r -> r.ids().length).toArray(), cfg, epoch);
    }

    /**
     * Epoch {@code epoch}'s order of the training rows: a pure function of the rows' lengths and
     * (seed, epoch). A permutation drawn from a generator seeded with both; with group_by_length, as
     * the HF Trainer's LengthGroupedSampler: that permutation cut into mega-batches of 50 steps' rows,
     * each sorted by length (longest first), cut into steps, and the steps shuffled.
     */
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
