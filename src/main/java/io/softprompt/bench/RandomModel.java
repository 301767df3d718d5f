package io.softprompt.bench;

import io.softprompt.model.gpt2.Gpt2Checkpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * Writes a randomly initialised GPT-2 checkpoint at real shapes plus a copy of a given tokenizer.json,
 * in a process of its own so the benchmark's memory figures do not include the writing.
 *
 * <p>Usage: RandomModel OUT_DIR TOKENIZER_JSON [layers d heads vocab positions]
 */
public final class RandomModel {
    private RandomModel() {}

    public static void main(String[] args) throws IOException {
        Path out = Path.of(args[0]);
        Path tokenizer = Path.of(args[1]);
        Gpt2Checkpoint.Shape shape = new Gpt2Checkpoint.Shape(
                args.length > 2 ? Integer.parseInt(args[2]) : 12,
                args.length > 3 ? Integer.parseInt(args[3]) : 768,
                args.length > 4 ? Integer.parseInt(args[4]) : 12,
                args.length > 5 ? Integer.parseInt(args[5]) : 50257,
                args.length > 6 ? Integer.parseInt(args[6]) : 1024);
        Files.createDirectories(out);
        Files.copy(tokenizer, out.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
        Gpt2Checkpoint.writeRandom(out, shape, 1234, Map.of("random_weights", true));
        System.out.println("wrote random GPT-2 " + shape + " to " + out);
    }
}
