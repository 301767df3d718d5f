package io.softprompt.model.modernbert;

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
 * A randomly initialised ModernBERT masked LM at a published shape, bfloat16 in 2 GB shards (benchmarks
 * at real size). ModernBERT-base: 22 layers, D 768, 12 heads, F 1152 (GeGLU), vocabulary 50,368, a
 * global layer every third, local windows of 128.
 */
public final class ModernBertCheckpoint {
    /** Sizes: layers, hidden, heads, intermediate, vocab, positions, local window, every how many layers one is global. */
    public record Shape(int layers, int hidden, int heads, int intermediate, int vocab, int positions, int window, int globalEvery) {}

    private ModernBertCheckpoint() {}

    /**
     * Writes the checkpoint; its tokenizer's special tokens must sit at ids 1 ([CLS]), 2 ([SEP]), 3 ([PAD]).
     *
     * @param dir the folder
     * @param s the shape
     * @param seed the weights' seed
     * @throws IOException when a file cannot be written
     */
    public static void writeRandom(Path dir, Shape s, long seed) throws IOException {
        Files.createDirectories(dir);
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("model_type", "modernbert");
        cfg.put("architectures", List.of("ModernBertForMaskedLM"));
        cfg.put("hidden_size", s.hidden());
        cfg.put("intermediate_size", s.intermediate());
        cfg.put("num_hidden_layers", s.layers());
        cfg.put("num_attention_heads", s.heads());
        cfg.put("max_position_embeddings", s.positions());
        cfg.put("vocab_size", s.vocab());
        cfg.put("global_attn_every_n_layers", s.globalEvery());
        cfg.put("local_attention", s.window());
        cfg.put("global_rope_theta", 160000.0);
        cfg.put("local_rope_theta", 10000.0);
        cfg.put("hidden_activation", "gelu");
        cfg.put("norm_eps", 1e-5);
        cfg.put("norm_bias", false);
        cfg.put("attention_bias", false);
        cfg.put("mlp_bias", false);
        cfg.put("decoder_bias", true);
        cfg.put("classifier_activation", "gelu");
        cfg.put("cls_token_id", 1);
        cfg.put("bos_token_id", 1);
        cfg.put("sep_token_id", 2);
        cfg.put("eos_token_id", 2);
        cfg.put("pad_token_id", 3);
        cfg.put("torch_dtype", "bfloat16");
        cfg.put("random_weights", true);
        AtomicFiles.writeString(dir.resolve("config.json"), Json.write(cfg));
        Random rnd = new Random(seed);
        int d = s.hidden();
        RandomWeights.Shards out = new RandomWeights.Shards(dir, 2L << 30);
        out.add("model.embeddings.tok_embeddings.weight", RandomWeights.normalBf16(rnd, s.vocab(), d));
        out.add("model.embeddings.norm.weight", RandomWeights.fillBf16(1f, d));
        for (int l = 0; l < s.layers(); l++) {
            String p = "model.layers." + l + ".";
            if (l > 0) {
                out.add(p + "attn_norm.weight", RandomWeights.fillBf16(1f, d));
            }
            out.add(p + "attn.Wqkv.weight", RandomWeights.normalBf16(rnd, 3 * d, d));
            out.add(p + "attn.Wo.weight", RandomWeights.normalBf16(rnd, d, d));
            out.add(p + "mlp_norm.weight", RandomWeights.fillBf16(1f, d));
            out.add(p + "mlp.Wi.weight", RandomWeights.normalBf16(rnd, 2 * s.intermediate(), d));
            out.add(p + "mlp.Wo.weight", RandomWeights.normalBf16(rnd, d, s.intermediate()));
        }
        out.add("model.final_norm.weight", RandomWeights.fillBf16(1f, d));
        out.add("head.dense.weight", RandomWeights.normalBf16(rnd, d, d));
        out.add("head.norm.weight", RandomWeights.fillBf16(1f, d));
        out.add("decoder.bias", RandomWeights.fillBf16(0f, s.vocab()));
        out.finish();
    }
}
