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
     * Extra fixtures under the folders -Dsoftprompt.fixtures names (a path list; the build passes
     * ../shared/fixtures and ../shared/fixtures-next, now that every architecture there is supported),
     * those that exist; empty otherwise.
     */
    public static List<Path> extra() {
        String dirs = System.getProperty("softprompt.fixtures");
        List<Path> out = new ArrayList<>();
        if (dirs == null || dirs.isBlank()) {
            return out;
        }
        for (String dir : dirs.split(java.io.File.pathSeparator)) { // ../shared/fixtures and ../shared/fixtures-next
            if (!dir.isBlank() && Files.isDirectory(Path.of(dir))) {
                out.addAll(under(Path.of(dir).toAbsolutePath().normalize()));
            }
        }
        return out;
    }

    /**
     * Every chat-template case file: the committed copies (core/src/test/resources/chat-templates) and
     * those under -Dsoftprompt.chatTemplates (the build passes ../shared/chat-templates) when it exists.
     */
    public static List<Path> chatCases() {
        List<Path> out = new ArrayList<>(casesUnder(root().resolveSibling("chat-templates")));
        String dir = System.getProperty("softprompt.chatTemplates");
        if (dir != null && !dir.isBlank() && Files.isDirectory(Path.of(dir))) {
            out.addAll(casesUnder(Path.of(dir).toAbsolutePath().normalize()));
        }
        return out;
    }

    private static List<Path> casesUnder(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".cases.json")).sorted().toList();
        } catch (IOException e) {
            throw new IllegalStateException("cannot list chat templates under " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * A copy of a committed fixture (e.g. "qwen3") in {@code dir} with one of the committed chat templates
     * (e.g. "qwen3.jinja") as its chat_template.jinja.
     */
    public static Path withChatTemplate(Path dir, String fixture, String template) throws IOException {
        Path to = dir.resolve(fixture + "-chat");
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(of(fixture))) {
            for (Path p : s.toList()) {
                Files.copy(p, to.resolve(p.getFileName().toString()));
            }
        }
        Files.copy(root().resolveSibling("chat-templates").resolve(template), to.resolve("chat_template.jinja"));
        return to;
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

    /** The files of a model folder a Hugging Face cache snapshot holds in the tests. */
    public static final List<String> HUB_FILES = List.of("config.json", "tokenizer.json", "model.safetensors",
            "tokenizer_config.json", "special_tokens_map.json", "generation_config.json");

    /**
     * A Hugging Face cache under root holding {@code repo} at {@code commit}, laid out as huggingface_hub
     * lays it out: the files of {@code source} as blobs named by sha256 (model.safetensors, an LFS file)
     * or git blob id (the others), relative links from snapshots/{commit}, and refs/{ref} naming the
     * commit (no newline, as huggingface_hub writes it). Returns the snapshot folder.
     */
    public static Path hfCache(Path root, String repo, String commit, String ref, Path source) throws IOException {
        Path dir = root.resolve("models--" + repo.replace("/", "--"));
        Path snap = dir.resolve("snapshots").resolve(commit);
        Files.createDirectories(snap);
        Files.createDirectories(dir.resolve("blobs"));
        for (String f : HUB_FILES) {
            byte[] b = Files.readAllBytes(source.resolve(f));
            String blob = f.equals("model.safetensors") ? sha256(b) : gitBlobId(b);
            Files.write(dir.resolve("blobs").resolve(blob), b);
            Files.createSymbolicLink(snap.resolve(f), Path.of("..", "..", "blobs", blob));
        }
        Files.createDirectories(dir.resolve("refs"));
        Files.writeString(dir.resolve("refs").resolve(ref), commit);
        return snap;
    }

    /** SHA-256 of bytes, hex: the hub's ETag (and blob name) for an LFS file. */
    public static String sha256(byte[] b) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The id git gives a file's content (SHA-1 of "blob {length}\0{bytes}"): the hub's ETag for small files. */
    public static String gitBlobId(byte[] b) {
        try {
            java.security.MessageDigest d = java.security.MessageDigest.getInstance("SHA-1");
            d.update(("blob " + b.length + "\0").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return java.util.HexFormat.of().formatHex(d.digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
