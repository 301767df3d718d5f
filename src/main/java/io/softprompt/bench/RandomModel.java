package io.softprompt.bench;

import io.softprompt.safetensors.SafetensorsWriter;
import io.softprompt.util.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a randomly initialised GPT-2 checkpoint at real shapes in Hugging Face layout (config.json,
 * model.safetensors, and a copy of a given tokenizer.json). No pretrained weights exist on the build
 * machines: benchmarks measure speed and memory at real shapes; correctness comes from the golden tests.
 *
 * <p>Usage: RandomModel OUT_DIR TOKENIZER_JSON [layers d heads vocab positions]
 */
public final class RandomModel {
    private RandomModel() {}

    public static void main(String[] args) throws IOException {
        Path out = Path.of(args[0]);
        Path tokenizer = Path.of(args[1]);
        int layers = args.length > 2 ? Integer.parseInt(args[2]) : 12;
        int d = args.length > 3 ? Integer.parseInt(args[3]) : 768;
        int heads = args.length > 4 ? Integer.parseInt(args[4]) : 12;
        int vocab = args.length > 5 ? Integer.parseInt(args[5]) : 50257;
        int positions = args.length > 6 ? Integer.parseInt(args[6]) : 1024;
        writeGpt2(out, tokenizer, layers, d, heads, vocab, positions, 1234);
        System.out.println("wrote random GPT-2 (" + layers + " layers, d " + d + ", vocab " + vocab + ") to " + out);
    }

    public static void writeGpt2(Path out, Path tokenizer, int layers, int d, int heads, int vocab, int positions,
            long seed) throws IOException {
        Files.createDirectories(out);
        Files.copy(tokenizer, out.resolve("tokenizer.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("model_type", "gpt2");
        cfg.put("architectures", new String[] {"GPT2LMHeadModel"});
        cfg.put("activation_function", "gelu_new");
        cfg.put("n_embd", d);
        cfg.put("n_head", heads);
        cfg.put("n_layer", layers);
        cfg.put("n_positions", positions);
        cfg.put("vocab_size", vocab);
        cfg.put("layer_norm_epsilon", 1e-5);
        cfg.put("random_weights", true);
        Files.writeString(out.resolve("config.json"), Json.write(cfg));
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        t.put("transformer.wte.weight", normal(rnd, vocab, d));
        t.put("transformer.wpe.weight", normal(rnd, positions, d));
        for (int l = 0; l < layers; l++) {
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
        SafetensorsWriter.write(out.resolve("model.safetensors"), t, Map.of("format", "pt"));
    }

    static SafetensorsWriter.Tensor normal(SplittableRandom rnd, int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            // sum of uniforms: cheap, deterministic, close enough to N(0, 0.02) for a speed benchmark
            v[i] = (float) ((rnd.nextDouble() + rnd.nextDouble() + rnd.nextDouble() - 1.5) * 0.04);
        }
        return SafetensorsWriter.Tensor.f32(v, rows, cols);
    }

    static SafetensorsWriter.Tensor fill(float value, int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, value);
        return SafetensorsWriter.Tensor.f32(v, n);
    }
}
