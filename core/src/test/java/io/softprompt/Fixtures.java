package io.softprompt;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Locates test fixtures. The golden fixtures every test uses are committed under
 * core/src/test/resources/fixtures, so a plain clone tests itself.
 * Golden parity also checks every fixture folder under -Dsoftprompt.fixtures=DIR when that folder
 * exists ({@link #extra()}); no other test reads it, so pointing it elsewhere never breaks them.
 */
public final class Fixtures {
    private Fixtures() {}

    /**
     * The committed fixtures' folder: -Dsoftprompt.testFixtures (the build sets it for every module to
     * core/src/test/resources/fixtures), else the test classpath's /fixtures folder.
     */
    public static Path root() {
        String dir = System.getProperty("softprompt.testFixtures");
        if (dir != null && Files.isDirectory(Path.of(dir))) {
            return Path.of(dir).toAbsolutePath().normalize();
        }
        URL u = Fixtures.class.getResource("/fixtures");
        if (u == null) {
            throw new IllegalStateException("committed fixtures missing from the test classpath (src/test/resources/fixtures)");
        }
        try {
            return Path.of(u.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every committed fixture folder (holding golden.safetensors), sorted by name. */
    public static List<Path> all() {
        return under(root());
    }

    /**
     * Extra fixtures under -Dsoftprompt.fixtures, when the property names an existing folder (the build
     * passes ../shared/fixtures); empty otherwise.
     */
    public static List<Path> extra() {
        String dir = System.getProperty("softprompt.fixtures");
        if (dir == null || dir.isBlank() || !Files.isDirectory(Path.of(dir))) {
            return List.of();
        }
        return under(Path.of(dir).toAbsolutePath().normalize());
    }

    /** Folders directly under root holding golden.safetensors, sorted by name. */
    static List<Path> under(Path root) {
        try (Stream<Path> s = Files.list(root)) {
            return new ArrayList<>(s.filter(p -> Files.isRegularFile(p.resolve("golden.safetensors"))).sorted().toList());
        } catch (IOException e) {
            throw new IllegalStateException("cannot list fixtures under " + root + ": " + e.getMessage(), e);
        }
    }

    /** The first committed fixture of a model_type, e.g. "gpt2". */
    public static Path of(String prefix) {
        return all().stream().filter(p -> p.getFileName().toString().startsWith(prefix + "-")).findFirst()
                .orElseThrow(() -> new IllegalStateException("no " + prefix + " fixture under " + root()));
    }

    /**
     * A two-class task a prompt alone can learn: mood.json (template "{text} it was", verbalizer
     * neg " bad" / pos " good") and mood.tsv with two sentences repeated {@code repeats} times, in dir.
     */
    public static Path moodTask(Path dir, int repeats) throws IOException {
        Path task = dir.resolve("mood.json");
        Files.writeString(task, """
                {"name": "mood", "template": "{text} it was", "text_column": "text", "label_column": "y",
                 "verbalizer": {"neg": " bad", "pos": " good"}, "train": "mood.tsv", "dev": "mood.tsv"}
                """);
        StringBuilder rows = new StringBuilder("text\ty\n");
        for (int k = 0; k < repeats; k++) {
            rows.append("the movie was great and fine\tpos\n").append("a dull boring plot\tneg\n");
        }
        Files.writeString(dir.resolve("mood.tsv"), rows);
        return task;
    }
}
