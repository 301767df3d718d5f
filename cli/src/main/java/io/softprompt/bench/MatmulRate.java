package io.softprompt.bench;

import java.util.Locale;

/** Prints this machine's sustained fp32 matmul rate (the one {@link Benchmark} prints), for scripts to print beside their figures. */
public final class MatmulRate {
    private MatmulRate() {}

    /**
     * Prints the rate.
     *
     * @param args none
     */
    public static void main(String[] args) {
        System.out.printf(Locale.ROOT, "matmul %.1f GFLOP/s (fp32 [512x768]x[768x3072], PyTorch through DJL, this process)%n",
                Benchmark.matmulGflops());
    }
}
