package io.softprompt.model.t5;

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

/** A randomly initialised T5 v1.1 checkpoint (gated-gelu, untied head) in Hugging Face layout. */
public final class T5Checkpoint {
    /** Sizes: encoder and decoder layers, d_model, heads, d_kv, d_ff, vocab. */
    public record Shape(int layers, int decoderLayers, int dModel, int heads, int dKv, int dFf, int vocab) {}

    private T5Checkpoint() {}

    public static void writeRandom(Path dir, Shape s, long seed) throws IOException {
        Files.createDirectories(dir);
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("model_type", "t5");
        cfg.put("architectures", new String[] {"T5ForConditionalGeneration"});
        cfg.put("d_model", s.dModel());
        cfg.put("d_kv", s.dKv());
        cfg.put("d_ff", s.dFf());
        cfg.put("num_layers", s.layers());
        cfg.put("num_decoder_layers", s.decoderLayers());
        cfg.put("num_heads", s.heads());
        cfg.put("vocab_size", s.vocab());
        cfg.put("feed_forward_proj", "gated-gelu");
        cfg.put("tie_word_embeddings", false);
        cfg.put("random_weights", true);
        AtomicFiles.writeString(dir.resolve("config.json"), Json.write(cfg));
        Random rnd = new Random(seed);
        int d = s.dModel();
        int in = s.heads() * s.dKv();
        Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        t.put("shared.weight", RandomWeights.normal(rnd, s.vocab(), d));
        for (String stack : new String[] {"encoder", "decoder"}) {
            int layers = stack.equals("encoder") ? s.layers() : s.decoderLayers();
            for (int l = 0; l < layers; l++) {
                String p = stack + ".block." + l + ".layer.";
                attention(t, rnd, p + "0.SelfAttention.", d, in);
                t.put(p + "0.layer_norm.weight", RandomWeights.fill(1f, d));
                if (l == 0) {
                    t.put(p + "0.SelfAttention.relative_attention_bias.weight", RandomWeights.normal(rnd, 32, s.heads()));
                }
                int ff = 1;
                if (stack.equals("decoder")) {
                    attention(t, rnd, p + "1.EncDecAttention.", d, in);
                    t.put(p + "1.layer_norm.weight", RandomWeights.fill(1f, d));
                    ff = 2;
                }
                t.put(p + ff + ".DenseReluDense.wi_0.weight", RandomWeights.normal(rnd, s.dFf(), d));
                t.put(p + ff + ".DenseReluDense.wi_1.weight", RandomWeights.normal(rnd, s.dFf(), d));
                t.put(p + ff + ".DenseReluDense.wo.weight", RandomWeights.normal(rnd, d, s.dFf()));
                t.put(p + ff + ".layer_norm.weight", RandomWeights.fill(1f, d));
            }
            t.put(stack + ".final_layer_norm.weight", RandomWeights.fill(1f, d));
        }
        t.put("lm_head.weight", RandomWeights.normal(rnd, s.vocab(), d));
        SafetensorsWriter.write(dir.resolve("model.safetensors"), t, Map.of("format", "pt"));
    }

    private static void attention(Map<String, SafetensorsWriter.Tensor> t, Random rnd, String p, int d, int in) {
        t.put(p + "q.weight", RandomWeights.normal(rnd, in, d));
        t.put(p + "k.weight", RandomWeights.normal(rnd, in, d));
        t.put(p + "v.weight", RandomWeights.normal(rnd, in, d));
        t.put(p + "o.weight", RandomWeights.normal(rnd, d, in));
    }
}
