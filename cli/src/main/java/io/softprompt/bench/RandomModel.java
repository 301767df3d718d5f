package io.softprompt.bench;

import io.softprompt.model.gemma3.Gemma3Checkpoint;
import io.softprompt.model.gpt2.Gpt2Checkpoint;
import io.softprompt.model.llama.FamilyCheckpoints;
import io.softprompt.model.llama.LlamaCheckpoint;
import io.softprompt.model.modernbert.ModernBertCheckpoint;
import io.softprompt.model.t5.T5Checkpoint;
import io.softprompt.util.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * Writes a randomly initialised checkpoint at real shapes, in a process of its own so the benchmark's
 * memory figures do not include the writing. No pretrained weights exist on the build machines.
 *
 * <p>Usage: RandomModel ARCH OUT_DIR GPT2_TOKENIZER_JSON SST2_TRAIN_TSV, ARCH one of
 * gpt2-small (GPT-2 124M, the real GPT-2 tokenizer), smollm2-135m (Llama shape of SmolLM2-135M),
 * t5-base (T5 v1.1 base shape), or the published shapes of qwen3-0.6b, phi4-mini, gemma3-270m and
 * modernbert-base (bfloat16 in 2 GB shards, as those checkpoints are published). The last two get a word-level tokenizer of their vocabulary size built
 * from the SST-2 words (their own tokenizers are not on the build machines); inputs are padded or cut
 * to the benchmark's fixed length either way.
 */
public final class RandomModel {
    private RandomModel() {}

    public static void main(String[] args) throws IOException {
        String arch = args[0];
        Path out = Path.of(args[1]);
        Path gpt2Tokenizer = Path.of(args[2]);
        Path sst2Train = Path.of(args[3]);
        Files.createDirectories(out);
        switch (arch) {
            case "gpt2-small" -> {
                Files.copy(gpt2Tokenizer, out.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
                Gpt2Checkpoint.writeRandom(out, new Gpt2Checkpoint.Shape(12, 768, 12, 50257, 1024), 1234,
                        Map.of("random_weights", true));
            }
            case "gpt2-mini" -> { // 4 layers, d 256: a small model for long runs (memory check, sweeps)
                Files.copy(gpt2Tokenizer, out.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
                Gpt2Checkpoint.writeRandom(out, new Gpt2Checkpoint.Shape(4, 256, 4, 50257, 1024), 1234,
                        Map.of("random_weights", true));
            }
            case "smollm2-135m" -> {
                wordTokenizer(out.resolve("tokenizer.json"), sst2Train, 49152, new String[] {"<unk>", "<s>", "</s>"});
                LlamaCheckpoint.writeRandom(out, new LlamaCheckpoint.Shape(30, 576, 9, 3, 1536, 49152, 2048), 1234);
            }
            case "t5-base" -> {
                wordTokenizer(out.resolve("tokenizer.json"), sst2Train, 32128, new String[] {"<pad>", "</s>", "<unk>"});
                T5Checkpoint.writeRandom(out, new T5Checkpoint.Shape(12, 12, 768, 12, 64, 2048, 32128), 1234);
            }
            case "qwen3-0.6b" -> { // Qwen3-0.6B: 28 layers, D 1024, 16 query and 8 key/value heads of 128
                wordTokenizer(out.resolve("tokenizer.json"), sst2Train, 151936, new String[] {"<unk>", "<s>", "</s>"});
                FamilyCheckpoints.writeQwen3(out, new FamilyCheckpoints.Shape(28, 1024, 16, 8, 128, 3072, 151936, 40960), 1234);
            }
            case "phi4-mini" -> { // Phi-4-mini: 32 layers, D 3072, 24 query and 8 key/value heads of 128, 3/4 rotary
                wordTokenizer(out.resolve("tokenizer.json"), sst2Train, 200064, new String[] {"<unk>", "<s>", "</s>"});
                FamilyCheckpoints.writePhi3(out, new FamilyCheckpoints.Shape(32, 3072, 24, 8, 128, 8192, 200064, 4096), 0.75, 1234);
            }
            case "phi4-mini-8-layers" -> { // Phi-4-mini's width and vocabulary, 8 of its 32 layers: fits this machine
                wordTokenizer(out.resolve("tokenizer.json"), sst2Train, 200064, new String[] {"<unk>", "<s>", "</s>"});
                FamilyCheckpoints.writePhi3(out, new FamilyCheckpoints.Shape(8, 3072, 24, 8, 128, 8192, 200064, 4096), 0.75, 1234);
            }
            case "gemma3-270m" -> { // Gemma-3-270M: 18 layers, D 640, 4 query and 1 key/value heads of 256, windows of 512
                wordTokenizer(out.resolve("tokenizer.json"), sst2Train, 262144, new String[] {"<pad>", "<eos>", "<bos>", "<unk>"});
                Gemma3Checkpoint.writeRandom(out, new Gemma3Checkpoint.Shape(18, 640, 4, 1, 256, 2048, 262144, 32768, 512, 6), 1234);
            }
            case "modernbert-base" -> { // ModernBERT-base: 22 layers, D 768, 12 heads, GeGLU 1152, windows of 128
                wordTokenizer(out.resolve("tokenizer.json"), sst2Train, 50368, new String[] {"[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"});
                ModernBertCheckpoint.writeRandom(out, new ModernBertCheckpoint.Shape(22, 768, 12, 1152, 50368, 8192, 128, 3), 1234);
            }
            default -> throw new IllegalArgumentException("unknown ARCH " + arch + " (gpt2-small, gpt2-mini, smollm2-135m, t5-base, "
                    + "qwen3-0.6b, phi4-mini, phi4-mini-8-layers, gemma3-270m, modernbert-base)");
        }
        System.out.println("wrote random " + arch + " to " + out);
    }

    /** A WordLevel tokenizer: specials, the training words, then filler up to the vocabulary size. */
    static void wordTokenizer(Path file, Path tsv, int size, String[] specials) throws IOException {
        TreeSet<String> words = new TreeSet<>();
        try (BufferedReader r = Files.newBufferedReader(tsv)) {
            String line;
            while ((line = r.readLine()) != null) {
                for (String w : line.split("\t")[0].toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+")) {
                    if (!w.isEmpty()) {
                        words.add(w);
                    }
                }
            }
        }
        words.add("it");
        words.add("was");
        words.add("negative");
        words.add("positive");
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (String s : specials) {
            vocab.put(s, vocab.size());
        }
        for (String w : words) {
            if (vocab.size() < size) {
                vocab.putIfAbsent(w, vocab.size());
            }
        }
        for (int i = 0; vocab.size() < size; i++) {
            vocab.put("<filler_" + i + ">", vocab.size());
        }
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "WordLevel");
        model.put("vocab", vocab);
        model.put("unk_token", specials[0].equals("<pad>") ? "<unk>" : specials[0]);
        Map<String, Object> tok = new LinkedHashMap<>();
        tok.put("version", "1.0");
        tok.put("truncation", null);
        tok.put("padding", null);
        tok.put("added_tokens", Arrays.stream(specials).map(s -> Map.of("id", vocab.get(s), "content", s,
                "single_word", false, "lstrip", false, "rstrip", false, "normalized", false, "special", true)).toList());
        tok.put("normalizer", Map.of("type", "Lowercase"));
        tok.put("pre_tokenizer", Map.of("type", "Whitespace"));
        tok.put("post_processor", null);
        tok.put("decoder", null);
        tok.put("model", model);
        Files.writeString(file, Json.write(tok));
    }
}
