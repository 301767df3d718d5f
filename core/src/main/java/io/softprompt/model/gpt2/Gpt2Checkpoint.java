package io.softprompt.model.gpt2;

import io.softprompt.safetensors.SafetensorsWriter;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Writes a randomly initialised GPT-2 checkpoint in Hugging Face layout (config.json +
 * model.safetensors), deterministically from a seed: N(0, 0.02) matrices, zero biases, unit LayerNorm
 * gains, as GPT2PreTrainedModel initialises. Used for the built-in demo model and for benchmarks at
 * real shapes (no pretrained weights exist on the build machines).
 */
public final class Gpt2Checkpoint {
    /** The sizes that matter; extra config.json keys go in {@code extra}. */
    public record Shape(int layers, int hidden, int heads, int vocab, int positions) {}

    private Gpt2Checkpoint() {}

    public static void writeRandom(Path dir, Shape s, long seed, Map<String, Object> extra) throws IOException {
        Files.createDirectories(dir);
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("model_type", "gpt2");
        cfg.put("architectures", new String[] {"GPT2LMHeadModel"});
        cfg.put("activation_function", "gelu_new");
        cfg.put("n_embd", s.hidden());
        cfg.put("n_head", s.heads());
        cfg.put("n_layer", s.layers());
        cfg.put("n_positions", s.positions());
        cfg.put("vocab_size", s.vocab());
        cfg.put("layer_norm_epsilon", 1e-5);
        cfg.putAll(extra);
        AtomicFiles.writeString(dir.resolve("config.json"), Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(cfg));

        Random rnd = new Random(seed);
        int d = s.hidden();
        Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        t.put("transformer.wte.weight", normal(rnd, s.vocab(), d));
        t.put("transformer.wpe.weight", normal(rnd, s.positions(), d));
        for (int l = 0; l < s.layers(); l++) {
            String p = "transformer.h." + l + ".";
            t.put(p + "ln_1.weight", fill(1f, d));
            t.put(p + "ln_1.bias", fill(0f, d));
            t.put(p + "attn.c_attn.weight", normal(rnd, d, 3 * d));
            t.put(p + "attn.c_attn.bias", fill(0f, 3 * d));
            t.put(p + "attn.c_proj.weight", normal(rnd, d, d));
            t.put(p + "attn.c_proj.bias", fill(0f, d));
            t.put(p + "ln_2.weight", fill(1f, d));
            t.put(p + "ln_2.bias", fill(0f, d));
            t.put(p + "mlp.c_fc.weight", normal(rnd, d, 4 * d));
            t.put(p + "mlp.c_fc.bias", fill(0f, 4 * d));
            t.put(p + "mlp.c_proj.weight", normal(rnd, 4 * d, d));
            t.put(p + "mlp.c_proj.bias", fill(0f, d));
        }
        t.put("transformer.ln_f.weight", fill(1f, d));
        t.put("transformer.ln_f.bias", fill(0f, d));
        SafetensorsWriter.write(dir.resolve("model.safetensors"), t, Map.of("format", "pt"));
    }

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
        java.util.Arrays.fill(v, value);
        return SafetensorsWriter.Tensor.f32(v, n);
    }
}
