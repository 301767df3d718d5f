package io.softprompt.hub;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.softprompt.data.DataSource;
import io.softprompt.model.gpt2.Gpt2Checkpoint;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The embedded default model: a tiny GPT-2 (2 layers, d 64) with random weights and a word-level
 * tokenizer over the built-in sample data, created deterministically (fixed seed) the first time it is
 * needed. It lets a newcomer see the whole pipeline with no download; it is untrained, so its accuracy
 * means nothing.
 */
public final class DemoModel {
    public static final String NAME = "softprompt-demo";
    static final int LAYERS = 2;
    static final int HIDDEN = 64;
    static final int HEADS = 4;
    static final int POSITIONS = 256;
    static final long SEED = 20211118L;
    private static final Pattern WORD = Pattern.compile("\\w+|[^\\w\\s]+", Pattern.UNICODE_CHARACTER_CLASS);

    private DemoModel() {}

    /** models/softprompt-demo, created if missing. */
    public static Path ensure(Path modelsDir) {
        Path dir = modelsDir.resolve(NAME);
        if (Files.isRegularFile(dir.resolve("model.safetensors")) && Files.isRegularFile(dir.resolve("config.json"))) {
            return dir;
        }
        Path staging = modelsDir.resolve("." + NAME + ".tmp-" + ProcessHandle.current().pid());
        try {
            Files.createDirectories(staging);
            Map<String, Integer> vocab = vocabulary();
            writeTokenizer(staging.resolve("tokenizer.json"), vocab);
            Gpt2Checkpoint.writeRandom(staging, new Gpt2Checkpoint.Shape(LAYERS, HIDDEN, HEADS, vocab.size(), POSITIONS),
                    SEED, Map.of("bos_token_id", 0, "eos_token_id", 0, "softprompt_demo", true));
            if (Files.exists(dir)) {
                AtomicFiles.deleteTree(dir);
            }
            AtomicFiles.move(staging, dir);
            return dir;
        } catch (IOException e) {
            throw new UserException("cannot create the demo model in " + dir + ": " + e.getMessage());
        } finally {
            try {
                AtomicFiles.deleteTree(staging);
            } catch (IOException ignored) {
                // best effort
            }
        }
    }

    public static boolean isDemo(Path folder) {
        return folder.getFileName() != null && folder.getFileName().toString().equals(NAME);
    }

    /** Specials first, then every word of the built-in samples and the sst2 template, sorted. */
    static Map<String, Integer> vocabulary() throws IOException {
        TreeSet<String> words = new TreeSet<>();
        for (String res : new String[] {"/data/samples/sst2/train.tsv", "/data/samples/sst2/dev.tsv"}) {
            try (BufferedReader r = DataSource.resource(res).open()) {
                String line;
                while ((line = r.readLine()) != null) {
                    Matcher m = WORD.matcher(line.toLowerCase(Locale.ROOT));
                    while (m.find()) {
                        words.add(m.group());
                    }
                }
            }
        }
        for (String w : new String[] {"it", "was", "negative", "positive", "the", "movie", "great", "bad"}) {
            words.add(w);
        }
        Map<String, Integer> vocab = new LinkedHashMap<>();
        vocab.put("<|endoftext|>", 0);
        vocab.put("[UNK]", 1);
        for (String w : words) {
            vocab.putIfAbsent(w, vocab.size());
        }
        return vocab;
    }

    static void writeTokenizer(Path file, Map<String, Integer> vocab) throws IOException {
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (String special : new String[] {"<|endoftext|>", "[UNK]"}) {
            ObjectNode t = added.addObject();
            t.put("id", vocab.get(special));
            t.put("content", special);
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putObject("normalizer").put("type", "Lowercase");
        root.putObject("pre_tokenizer").put("type", "Whitespace");
        root.putNull("post_processor");
        root.putNull("decoder");
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode v = model.putObject("vocab");
        vocab.forEach(v::put);
        model.put("unk_token", "[UNK]");
        AtomicFiles.writeString(file, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    }
}
