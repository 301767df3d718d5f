package io.softprompt.model;

import io.softprompt.safetensors.SafetensorsWriter;
import java.util.Arrays;
import java.util.Random;

/**
 * Values for the random-weight checkpoint writers of every architecture (demo model, benchmarks at
 * real shapes, test models): N(0, 0.02) matrices and constant vectors, as Hugging Face initialises
 * them, drawn from the caller's generator so a seed fixes the whole checkpoint.
 */
public final class RandomWeights {
    private RandomWeights() {}

    /** N(0, 0.02) values [rows, cols]. */
    public static SafetensorsWriter.Tensor normal(Random rnd, int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rnd.nextGaussian() * 0.02);
        }
        return SafetensorsWriter.Tensor.f32(v, rows, cols);
    }

    /** A constant vector [n]. */
    public static SafetensorsWriter.Tensor fill(float value, int n) {
        float[] v = new float[n];
        Arrays.fill(v, value);
        return SafetensorsWriter.Tensor.f32(v, n);
    }
}
