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

    /**
     * N(0, 0.02) values [rows, cols] stored as bfloat16, as real checkpoints are published (half the
     * bytes; the reader widens them), drawn straight into the file's bytes.
     */
    public static SafetensorsWriter.Tensor normalBf16(Random rnd, int rows, int cols) {
        long n = (long) rows * cols;
        if (n * 2 > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("a tensor of " + n + " values is more than one array holds");
        }
        byte[] b = new byte[(int) (n * 2)];
        for (int i = 0; i < n; i++) {
            int bits = Float.floatToRawIntBits((float) (rnd.nextGaussian() * 0.02));
            int rounded = (bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16; // round to nearest even
            b[2 * i] = (byte) rounded;
            b[2 * i + 1] = (byte) (rounded >>> 8);
        }
        return new SafetensorsWriter.Tensor("BF16", new long[] {rows, cols}, b);
    }

    /** A constant vector [n] in bfloat16. */
    public static SafetensorsWriter.Tensor fillBf16(float value, int n) {
        int rounded = Float.floatToRawIntBits(value) >>> 16;
        byte[] b = new byte[n * 2];
        for (int i = 0; i < n; i++) {
            b[2 * i] = (byte) rounded;
            b[2 * i + 1] = (byte) (rounded >>> 8);
        }
        return new SafetensorsWriter.Tensor("BF16", new long[] {n}, b);
    }

    /**
     * A checkpoint written as shards of about {@code shardBytes} each ({@code model-0000i-of-0000n.safetensors}
     * and {@code model.safetensors.index.json}, as large checkpoints are published), so a writer holds one
     * shard at a time.
     */
    public static final class Shards {
        private final java.nio.file.Path dir;
        private final long shardBytes;
        private final java.util.Map<String, SafetensorsWriter.Tensor> pending = new java.util.LinkedHashMap<>();
        private final java.util.Map<String, Integer> shardOf = new java.util.LinkedHashMap<>();
        private long bytes;
        private int written;

        public Shards(java.nio.file.Path dir, long shardBytes) {
            this.dir = dir;
            this.shardBytes = shardBytes;
        }

        public void add(String name, SafetensorsWriter.Tensor t) throws java.io.IOException {
            pending.put(name, t);
            bytes += t.data().length;
            if (bytes >= shardBytes) {
                flush();
            }
        }

        private void flush() throws java.io.IOException {
            if (pending.isEmpty()) {
                return;
            }
            SafetensorsWriter.write(dir.resolve("shard-" + written + ".part"), pending, java.util.Map.of("format", "pt"));
            for (String n : pending.keySet()) {
                shardOf.put(n, written);
            }
            written++;
            pending.clear();
            bytes = 0;
        }

        /** Writes the last shard, names the shards as Hugging Face does and writes the index. */
        public void finish() throws java.io.IOException {
            flush();
            java.util.Map<String, String> map = new java.util.LinkedHashMap<>();
            for (int i = 0; i < written; i++) {
                String name = String.format(java.util.Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, written);
                java.nio.file.Files.move(dir.resolve("shard-" + i + ".part"), dir.resolve(name),
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                int shard = i;
                shardOf.forEach((t, s) -> {
                    if (s == shard) {
                        map.put(t, name);
                    }
                });
            }
            io.softprompt.util.AtomicFiles.writeString(dir.resolve("model.safetensors.index.json"),
                    io.softprompt.util.Json.write(java.util.Map.of("metadata", java.util.Map.of(), "weight_map", map)));
        }
    }
}
