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
}
