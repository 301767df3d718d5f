package io.softprompt.model.gpt2;

import io.softprompt.model.RandomWeights;
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
        t.put("transformer.wte.weight", RandomWeights.normal(rnd, s.vocab(), d));
        t.put("transformer.wpe.weight", RandomWeights.normal(rnd, s.positions(), d));
        for (int l = 0; l < s.layers(); l++) {
            String p = "transformer.h." + l + ".";
            t.put(p + "ln_1.weight", RandomWeights.fill(1f, d));
            t.put(p + "ln_1.bias", RandomWeights.fill(0f, d));
            t.put(p + "attn.c_attn.weight", RandomWeights.normal(rnd, d, 3 * d));
            t.put(p + "attn.c_attn.bias", RandomWeights.fill(0f, 3 * d));
            t.put(p + "attn.c_proj.weight", RandomWeights.normal(rnd, d, d));
            t.put(p + "attn.c_proj.bias", RandomWeights.fill(0f, d));
            t.put(p + "ln_2.weight", RandomWeights.fill(1f, d));
            t.put(p + "ln_2.bias", RandomWeights.fill(0f, d));
            t.put(p + "mlp.c_fc.weight", RandomWeights.normal(rnd, d, 4 * d));
            t.put(p + "mlp.c_fc.bias", RandomWeights.fill(0f, 4 * d));
            t.put(p + "mlp.c_proj.weight", RandomWeights.normal(rnd, 4 * d, d));
            t.put(p + "mlp.c_proj.bias", RandomWeights.fill(0f, d));
        }
        t.put("transformer.ln_f.weight", RandomWeights.fill(1f, d));
        t.put("transformer.ln_f.bias", RandomWeights.fill(0f, d));
        SafetensorsWriter.write(dir.resolve("model.safetensors"), t, Map.of("format", "pt"));
    }
}
