package io.softprompt.model.llama;

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

/** A randomly initialised Llama checkpoint in Hugging Face layout (benchmarks at real shapes). */
public final class LlamaCheckpoint {
    /** Sizes: layers, hidden, heads, kv heads, intermediate, vocab, positions. */
    public record Shape(int layers, int hidden, int heads, int kvHeads, int intermediate, int vocab, int positions) {}

    private LlamaCheckpoint() {}

    public static void writeRandom(Path dir, Shape s, long seed) throws IOException {
        Files.createDirectories(dir);
        int k = s.hidden() / s.heads();
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("model_type", "llama");
        cfg.put("architectures", new String[] {"LlamaForCausalLM"});
        cfg.put("hidden_size", s.hidden());
        cfg.put("intermediate_size", s.intermediate());
        cfg.put("num_hidden_layers", s.layers());
        cfg.put("num_attention_heads", s.heads());
        cfg.put("num_key_value_heads", s.kvHeads());
        cfg.put("max_position_embeddings", s.positions());
        cfg.put("vocab_size", s.vocab());
        cfg.put("rms_norm_eps", 1e-5);
        cfg.put("rope_theta", 100000.0);
        cfg.put("tie_word_embeddings", true);
        cfg.put("hidden_act", "silu");
        cfg.put("bos_token_id", 1);
        cfg.put("eos_token_id", 2);
        cfg.put("random_weights", true);
        AtomicFiles.writeString(dir.resolve("config.json"), Json.write(cfg));
        Random rnd = new Random(seed);
        Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        int d = s.hidden();
        t.put("model.embed_tokens.weight", RandomWeights.normal(rnd, s.vocab(), d));
        for (int l = 0; l < s.layers(); l++) {
            String p = "model.layers." + l + ".";
            t.put(p + "input_layernorm.weight", RandomWeights.fill(1f, d));
            t.put(p + "self_attn.q_proj.weight", RandomWeights.normal(rnd, s.heads() * k, d));
            t.put(p + "self_attn.k_proj.weight", RandomWeights.normal(rnd, s.kvHeads() * k, d));
            t.put(p + "self_attn.v_proj.weight", RandomWeights.normal(rnd, s.kvHeads() * k, d));
            t.put(p + "self_attn.o_proj.weight", RandomWeights.normal(rnd, d, s.heads() * k));
            t.put(p + "post_attention_layernorm.weight", RandomWeights.fill(1f, d));
            t.put(p + "mlp.gate_proj.weight", RandomWeights.normal(rnd, s.intermediate(), d));
            t.put(p + "mlp.up_proj.weight", RandomWeights.normal(rnd, s.intermediate(), d));
            t.put(p + "mlp.down_proj.weight", RandomWeights.normal(rnd, d, s.intermediate()));
        }
        t.put("model.norm.weight", RandomWeights.fill(1f, d));
        SafetensorsWriter.write(dir.resolve("model.safetensors"), t, Map.of("format", "pt"));
    }
}
