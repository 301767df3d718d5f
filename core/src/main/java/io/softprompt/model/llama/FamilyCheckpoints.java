package io.softprompt.model.llama;

import io.softprompt.model.RandomWeights;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Randomly initialised Qwen3 and Phi-3 checkpoints at published shapes, bfloat16 in 2 GB shards as those
 * models are published (benchmarks at real size: no pretrained weights exist on the build machines).
 */
public final class FamilyCheckpoints {
    /** Sizes: layers, hidden, heads, kv heads, head size, intermediate, vocab, positions. */
    public record Shape(int layers, int hidden, int heads, int kvHeads, int headDim, int intermediate, int vocab, int positions) {}

    static final long SHARD = 2L << 30;

    private FamilyCheckpoints() {}

    /** Qwen3 (Qwen3-0.6B: 28, 1024, 16, 8, 128, 3072, 151936, 40960): the Llama block with per-head q/k norms, tied. */
    public static void writeQwen3(Path dir, Shape s, long seed) throws IOException {
        Map<String, Object> cfg = config(s, "qwen3", "Qwen3ForCausalLM");
        cfg.put("rope_theta", 1000000.0);
        cfg.put("layer_types", java.util.Collections.nCopies(s.layers(), "full_attention"));
        write(dir, s, seed, cfg, false);
    }

    /** Phi-3 (Phi-4-mini: 32, 3072, 24, 8, 128, 8192, 200064, 131072, partial rotary 0.75): fused projections, tied. */
    public static void writePhi3(Path dir, Shape s, double partialRotary, long seed) throws IOException {
        Map<String, Object> cfg = config(s, "phi3", "Phi3ForCausalLM");
        cfg.put("partial_rotary_factor", partialRotary);
        cfg.put("original_max_position_embeddings", s.positions());
        cfg.put("rope_theta", 10000.0);
        write(dir, s, seed, cfg, true);
    }

    private static Map<String, Object> config(Shape s, String type, String arch) {
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("model_type", type);
        cfg.put("architectures", List.of(arch));
        cfg.put("hidden_size", s.hidden());
        cfg.put("intermediate_size", s.intermediate());
        cfg.put("num_hidden_layers", s.layers());
        cfg.put("num_attention_heads", s.heads());
        cfg.put("num_key_value_heads", s.kvHeads());
        cfg.put("head_dim", s.headDim());
        cfg.put("max_position_embeddings", s.positions());
        cfg.put("vocab_size", s.vocab());
        cfg.put("rms_norm_eps", 1e-6);
        cfg.put("tie_word_embeddings", true);
        cfg.put("hidden_act", "silu");
        cfg.put("bos_token_id", 1);
        cfg.put("eos_token_id", 2);
        cfg.put("pad_token_id", 0);
        cfg.put("torch_dtype", "bfloat16");
        cfg.put("random_weights", true);
        return cfg;
    }

    private static void write(Path dir, Shape s, long seed, Map<String, Object> cfg, boolean fused) throws IOException {
        Files.createDirectories(dir);
        AtomicFiles.writeString(dir.resolve("config.json"), Json.write(cfg));
        Random rnd = new Random(seed);
        int d = s.hidden();
        int k = s.headDim();
        RandomWeights.Shards out = new RandomWeights.Shards(dir, SHARD);
        out.add("model.embed_tokens.weight", RandomWeights.normalBf16(rnd, s.vocab(), d));
        for (int l = 0; l < s.layers(); l++) {
            String p = "model.layers." + l + ".";
            out.add(p + "input_layernorm.weight", RandomWeights.fillBf16(1f, d));
            out.add(p + "post_attention_layernorm.weight", RandomWeights.fillBf16(1f, d));
            out.add(p + "self_attn.o_proj.weight", RandomWeights.normalBf16(rnd, d, s.heads() * k));
            out.add(p + "mlp.down_proj.weight", RandomWeights.normalBf16(rnd, d, s.intermediate()));
            if (fused) {
                out.add(p + "self_attn.qkv_proj.weight", RandomWeights.normalBf16(rnd, (s.heads() + 2 * s.kvHeads()) * k, d));
                out.add(p + "mlp.gate_up_proj.weight", RandomWeights.normalBf16(rnd, 2 * s.intermediate(), d));
            } else {
                out.add(p + "self_attn.q_proj.weight", RandomWeights.normalBf16(rnd, s.heads() * k, d));
                out.add(p + "self_attn.k_proj.weight", RandomWeights.normalBf16(rnd, s.kvHeads() * k, d));
                out.add(p + "self_attn.v_proj.weight", RandomWeights.normalBf16(rnd, s.kvHeads() * k, d));
                out.add(p + "self_attn.q_norm.weight", RandomWeights.fillBf16(1f, k));
                out.add(p + "self_attn.k_norm.weight", RandomWeights.fillBf16(1f, k));
                out.add(p + "mlp.gate_proj.weight", RandomWeights.normalBf16(rnd, s.intermediate(), d));
                out.add(p + "mlp.up_proj.weight", RandomWeights.normalBf16(rnd, s.intermediate(), d));
            }
        }
        out.add("model.norm.weight", RandomWeights.fillBf16(1f, d));
        out.finish();
    }
}
