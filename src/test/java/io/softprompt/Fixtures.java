package io.softprompt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Locates the shared golden fixtures: -Dsoftprompt.fixtures=DIR (default ../shared/fixtures). */
public final class Fixtures {
    private Fixtures() {}

    public static Path root() {
        return Path.of(System.getProperty("softprompt.fixtures", "../shared/fixtures")).toAbsolutePath().normalize();
    }

    /** Every folder under the root holding golden.safetensors, sorted by name. */
    public static List<Path> all() {
        Path root = root();
        if (!Files.isDirectory(root)) {
            throw new IllegalStateException("fixture root " + root + " does not exist (set -Dsoftprompt.fixtures)");
        }
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(p -> Files.isRegularFile(p.resolve("golden.safetensors"))).sorted().toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The first fixture of a model_type, e.g. "gpt2". */
    public static Path of(String prefix) {
        return all().stream().filter(p -> p.getFileName().toString().startsWith(prefix + "-")).findFirst()
                .orElseThrow(() -> new IllegalStateException("no " + prefix + " fixture under " + root()));
    }

    public static Path data() {
        return Path.of(System.getProperty("softprompt.data", "../shared/data")).toAbsolutePath().normalize();
    }

    /**
     * A two-class task a prompt alone can learn: mood.json (template "{text} it was", verbalizer
     * neg " bad" / pos " good") and mood.tsv with two sentences repeated {@code repeats} times, in dir.
     */
    public static java.nio.file.Path moodTask(java.nio.file.Path dir, int repeats) throws java.io.IOException {
        java.nio.file.Path task = dir.resolve("mood.json");
        java.nio.file.Files.writeString(task, """
                {"name": "mood", "template": "{text} it was", "text_column": "text", "label_column": "y",
                 "verbalizer": {"neg": " bad", "pos": " good"}, "train": "mood.tsv", "dev": "mood.tsv"}
                """);
        StringBuilder rows = new StringBuilder("text\ty\n");
        for (int k = 0; k < repeats; k++) {
            rows.append("the movie was great and fine\tpos\n").append("a dull boring plot\tneg\n");
        }
        java.nio.file.Files.writeString(dir.resolve("mood.tsv"), rows);
        return task;
    }
}
