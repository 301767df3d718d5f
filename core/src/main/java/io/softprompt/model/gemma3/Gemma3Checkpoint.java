package io.softprompt.model.gemma3;

import io.softprompt.model.RandomWeights;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A randomly initialised Gemma 3 text checkpoint at a published shape, bfloat16 in 2 GB shards
 * (benchmarks at real size). Gemma-3-270M: 18 layers, D 640, 4 query and 1 key/value heads of 256,
 * F 2048, vocabulary 262,144, a window of 512 in five layers of every six.
 */
public final class Gemma3Checkpoint {
    /** Sizes: layers, hidden, heads, kv heads, head size, intermediate, vocab, positions, window, every how many layers one is global. */
    public record Shape(int layers, int hidden, int heads, int kvHeads, int headDim, int intermediate, int vocab, int positions,
            int window, int globalEvery) {}

    private Gemma3Checkpoint() {}

    public static void writeRandom(Path dir, Shape s, long seed) throws IOException {
        Files.createDirectories(dir);
        List<String> types = new ArrayList<>();
        for (int l = 0; l < s.layers(); l++) {
            types.add((l + 1) % s.globalEvery() == 0 ? "full_attention" : "sliding_attention");
        }
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("model_type", "gemma3_text");
        cfg.put("architectures", List.of("Gemma3ForCausalLM"));
        cfg.put("hidden_size", s.hidden());
        cfg.put("intermediate_size", s.intermediate());
        cfg.put("num_hidden_layers", s.layers());
        cfg.put("num_attention_heads", s.heads());
        cfg.put("num_key_value_heads", s.kvHeads());
        cfg.put("head_dim", s.headDim());
        cfg.put("hidden_activation", "gelu_pytorch_tanh");
        cfg.put("max_position_embeddings", s.positions());
        cfg.put("rms_norm_eps", 1e-6);
        cfg.put("rope_theta", 1000000.0);
        cfg.put("rope_local_base_freq", 10000.0);
        cfg.put("query_pre_attn_scalar", (double) s.headDim());
        cfg.put("sliding_window", s.window());
        cfg.put("layer_types", types);
        cfg.put("vocab_size", s.vocab());
        cfg.put("tie_word_embeddings", true);
        cfg.put("bos_token_id", 2);
        cfg.put("eos_token_id", 1);
        cfg.put("pad_token_id", 0);
        cfg.put("torch_dtype", "bfloat16");
        cfg.put("random_weights", true);
        AtomicFiles.writeString(dir.resolve("config.json"), Json.write(cfg));
        Random rnd = new Random(seed);
        int d = s.hidden();
        int k = s.headDim();
        RandomWeights.Shards out = new RandomWeights.Shards(dir, 2L << 30);
        out.add("model.embed_tokens.weight", RandomWeights.normalBf16(rnd, s.vocab(), d));
        for (int l = 0; l < s.layers(); l++) {
            String p = "model.layers." + l + ".";
            for (String norm : List.of("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                    "post_feedforward_layernorm")) {
                out.add(p + norm + ".weight", RandomWeights.fillBf16(0f, d)); // (1 + w) norms: w = 0 is the identity scale
            }
            out.add(p + "self_attn.q_proj.weight", RandomWeights.normalBf16(rnd, s.heads() * k, d));
            out.add(p + "self_attn.k_proj.weight", RandomWeights.normalBf16(rnd, s.kvHeads() * k, d));
            out.add(p + "self_attn.v_proj.weight", RandomWeights.normalBf16(rnd, s.kvHeads() * k, d));
            out.add(p + "self_attn.o_proj.weight", RandomWeights.normalBf16(rnd, d, s.heads() * k));
            out.add(p + "self_attn.q_norm.weight", RandomWeights.fillBf16(0f, k));
            out.add(p + "self_attn.k_norm.weight", RandomWeights.fillBf16(0f, k));
            out.add(p + "mlp.gate_proj.weight", RandomWeights.normalBf16(rnd, s.intermediate(), d));
            out.add(p + "mlp.up_proj.weight", RandomWeights.normalBf16(rnd, s.intermediate(), d));
            out.add(p + "mlp.down_proj.weight", RandomWeights.normalBf16(rnd, d, s.intermediate()));
        }
        out.add("model.norm.weight", RandomWeights.fillBf16(0f, d));
        out.finish();
    }
}
