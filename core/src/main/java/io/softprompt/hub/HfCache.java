package io.softprompt.hub;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The Hugging Face hub cache, laid out exactly as huggingface_hub lays it out, so that models downloaded
 * by Python tools are read from here and models downloaded here are read by them:
 *
 * <pre>
 * {root}/models--{org}--{name}/
 *     blobs/{etag}                        the file's bytes, named by the hub's ETag (sha256 for LFS files)
 *     snapshots/{commit}/{file}           a relative link to ../../blobs/{etag}
 *     refs/{branch or tag}                the commit it pointed to when last resolved
 *     .no_exist/{commit}/{file}           an empty file: the hub has no such file at that commit
 * {root}/.locks/models--{org}--{name}/{etag}.lock
 * </pre>
 *
 * The root is HF_HUB_CACHE (or the older HUGGINGFACE_HUB_CACHE), else HF_HOME/hub, else
 * $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub; -Dsoftprompt.hf.cache overrides them
 * all (the tests use it so that nothing touches the user's cache).
 */
public final class HfCache {
    /** What a model folder needs (the weights are model.safetensors or a sharded index with its shards). */
    static final List<String> REQUIRED = List.of("config.json", "tokenizer.json");
    static final String WEIGHTS = "model.safetensors";
    static final String TORCH = "pytorch_model.bin";
    static final String TORCH_INDEX = "pytorch_model.bin.index.json";
    static final String INDEX = "model.safetensors.index.json";
    static final List<String> OPTIONAL = List.of("tokenizer_config.json", "special_tokens_map.json",
            "generation_config.json");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    private final Path root;

    public HfCache(Path root) {
        this.root = root;
    }

    /** The cache the environment names (see the class comment). */
    public static HfCache fromEnvironment() {
        String p = System.getProperty("softprompt.hf.cache");
        for (String v : new String[] {p, System.getenv("HF_HUB_CACHE"), System.getenv("HUGGINGFACE_HUB_CACHE")}) {
            if (v != null && !v.isBlank()) {
                return new HfCache(Path.of(v));
            }
        }
        String home = System.getenv("HF_HOME");
        if (home != null && !home.isBlank()) {
            return new HfCache(Path.of(home, "hub"));
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path cache = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return new HfCache(cache.resolve("huggingface").resolve("hub"));
    }

    public Path root() {
        return root;
    }

    /** models--org--name, the folder of one model repository. */
    public Path repoDir(String repo) {
        return root.resolve("models--" + repo.replace("/", "--"));
    }

    /** Whether a revision is a full commit hash (used as is, never looked up). */
    public static boolean isCommit(String revision) {
        return COMMIT.matcher(revision).matches();
    }

    /** The commit a revision names in the cache (a commit itself, or what refs/{revision} holds), else null. */
    public String commit(String repo, String revision) {
        if (isCommit(revision)) {
            return revision;
        }
        Path ref = repoDir(repo).resolve("refs").resolve(revision);
        try {
            if (!ref.normalize().startsWith(repoDir(repo).resolve("refs")) || !Files.isRegularFile(ref)) {
                return null;
            }
            String c = Files.readString(ref, StandardCharsets.UTF_8).strip();
            return isCommit(c) ? c : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** The snapshot folder of a commit (which may not exist). */
    public Path snapshot(String repo, String commit) {
        return repoDir(repo).resolve("snapshots").resolve(commit);
    }

    /** The model folder for repo@revision when the cache holds all of it, else null. No network. */
    public Path cached(String repo, String revision) {
        return cached(repo, revision, Kind.MODEL);
    }

    /** What a repository is downloaded for: a model, or a PEFT adapter (its config is its probe). */
    public enum Kind {
        MODEL("config.json", "a model id"),
        ADAPTER("adapter_config.json", "a PEFT adapter id");

        final String probe;
        final String noun;

        Kind(String probe, String noun) {
            this.probe = probe;
            this.noun = noun;
        }

        boolean complete(Path snap) {
            return this == MODEL ? HfCache.complete(snap) : Files.isRegularFile(snap.resolve(probe))
                    && Files.isRegularFile(snap.resolve(ADAPTER_WEIGHTS));
        }
    }

    static final String ADAPTER_WEIGHTS = "adapter_model.safetensors";

    /** The snapshot of repo@revision when the cache holds all a {@code kind} needs, else null. No network. */
    public Path cached(String repo, String revision, Kind kind) {
        String commit = commit(repo, revision);
        if (commit == null) {
            return null;
        }
        Path snap = snapshot(repo, commit);
        return kind.complete(snap) ? snap : null;
    }

    /** Whether a folder holds the config, the tokenizer and every weight file (links followed). */
    static boolean complete(Path dir) {
        for (String f : REQUIRED) {
            if (!Files.isRegularFile(dir.resolve(f))) {
                return false;
            }
        }
        for (String[] kind : new String[][] {{WEIGHTS, INDEX}, {TORCH, TORCH_INDEX}}) {
            if (Files.isRegularFile(dir.resolve(kind[0]))) {
                return true;
            }
            Path index = dir.resolve(kind[1]);
            if (Files.isRegularFile(index)) {
                return shards(index).stream().allMatch(s -> Files.isRegularFile(dir.resolve(s)));
            }
        }
        return false;
    }

    /**
     * Resolves repo@revision on the hub and brings every file the model needs into the cache; returns
     * the snapshot folder. A snapshot that is already complete for the commit the hub names costs one
     * HEAD request; an unreachable hub falls back to the cached snapshot of the revision, if any.
     */
    public Path download(HubClient hub, String repo, String revision, PrintWriter notes) {
        return download(hub, repo, revision, notes, Kind.MODEL);
    }

    /**
     * As {@link #download(HubClient, String, String, PrintWriter)} for a {@code kind} of repository: a
     * PEFT adapter is adapter_config.json, adapter_model.safetensors and, when there, softprompt.json and
     * README.md, cached as huggingface_hub caches it.
     */
    public Path download(HubClient hub, String repo, String revision, PrintWriter notes, Kind kind) {
        HubClient.Metadata config;
        try {
            config = hub.metadata(repo, revision, kind.probe);
        } catch (HubClient.Unreachable e) {
            Path cached = cached(repo, revision, kind);
            if (cached != null) {
                notes.println("note: cannot reach " + hub.endpoint() + " (" + e.getMessage() + "); using the cached "
                        + repo + "@" + revision + " (" + commit(repo, revision) + ")");
                notes.flush();
                return cached;
            }
            throw new UserException("cannot reach " + hub.endpoint() + " to download '" + repo + "' (" + e.getMessage()
                    + "); offline? put config.json, tokenizer.json and model.safetensors into a folder and pass "
                    + "{{model}} DIR");
        } catch (IOException e) {
            throw new UserException("hub: " + repo + "@" + revision + ": " + e.getMessage());
        }
        if (config == null) {
            throw new UserException("hub: " + repo + "@" + revision + " has no " + kind.probe + " (404); is '" + repo
                    + "' " + kind.noun + (revision.equals("main") ? "" : " and '" + revision + "' one of its revisions") + "?");
        }
        String commit = config.commit() != null && isCommit(config.commit()) ? config.commit()
                : isCommit(revision) ? revision : null;
        if (commit == null) {
            throw new UserException("hub: " + hub.endpoint() + " did not say which commit " + repo + "@" + revision
                    + " is (no X-Repo-Commit header)");
        }
        Path snap = snapshot(repo, commit);
        try {
            if (!kind.complete(snap) && kind == Kind.MODEL) {
                fetch(hub, repo, commit, "config.json", config, true);
                fetch(hub, repo, commit, "tokenizer.json", null, true);
                fetchWeights(hub, repo, commit, snap);
                for (String f : OPTIONAL) {
                    fetch(hub, repo, commit, f, null, false);
                }
            } else if (!kind.complete(snap)) {
                fetch(hub, repo, commit, kind.probe, config, true);
                if (!fetch(hub, repo, commit, ADAPTER_WEIGHTS, null, false)) {
                    throw new UserException("hub: " + repo + " has no " + ADAPTER_WEIGHTS + " (adapters saved as pickles, "
                            + "adapter_model.bin, are not read: save with safe_serialization=True)");
                }
                for (String f : List.of("softprompt.json", "README.md")) {
                    fetch(hub, repo, commit, f, null, false);
                }
            }
            if (!isCommit(revision) && !commit.equals(commit(repo, revision))) {
                Path ref = repoDir(repo).resolve("refs").resolve(revision);
                try {
                    Files.createDirectories(ref.getParent());
                    AtomicFiles.writeString(ref, commit);
                } catch (IOException e) { // a read-only cache that holds the files: they are used as they are
                    notes.println("note: could not record " + repo + "@" + revision + " = " + commit + " in " + ref
                            + " (" + AtomicFiles.reason(e) + "); the files are complete and used as they are");
                    notes.flush();
                }
            }
            return snap;
        } catch (HubClient.Unreachable e) {
            throw new UserException("hub: download of " + repo + " broke off (" + e.getMessage()
                    + "); run the same command again to resume");
        } catch (FileSystemException e) {
            throw new UserException("hub cache " + root + ": " + AtomicFiles.reason(e));
        } catch (IOException e) {
            throw new UserException("hub: download of " + repo + " into " + root + " failed: " + e.getMessage()
                    + "; run the same command again to resume");
        }
    }

    /** The weights: safetensors (one file, else an index and its shards), else PyTorch's checkpoint likewise. */
    private void fetchWeights(HubClient hub, String repo, String commit, Path snap) throws IOException {
        for (String[] kind : new String[][] {{WEIGHTS, INDEX}, {TORCH, TORCH_INDEX}}) {
            if (fetch(hub, repo, commit, kind[0], null, false)) {
                return;
            }
            if (fetch(hub, repo, commit, kind[1], null, false)) {
                for (String shard : shards(snap.resolve(kind[1]))) {
                    fetch(hub, repo, commit, shard, null, true);
                }
                return;
            }
        }
        throw new UserException("hub: " + repo + " has no weights (" + WEIGHTS + ", " + INDEX + ", " + TORCH + " or "
                + TORCH_INDEX + ")");
    }

    /**
     * One file of a commit: the blob (downloaded into blobs/{etag}.incomplete, resumed with a Range
     * request, size- and, for LFS files, sha256-checked, then renamed) and its snapshot link. Returns
     * false when the hub has no such file and it is not required (recorded under .no_exist).
     */
    private boolean fetch(HubClient hub, String repo, String commit, String file, HubClient.Metadata known,
            boolean required) throws IOException {
        Path snap = snapshot(repo, commit);
        Path link = snap.resolve(file);
        if (Files.isRegularFile(link)) {
            return true;
        }
        Path noExist = repoDir(repo).resolve(".no_exist").resolve(commit).resolve(file);
        if (!required && Files.exists(noExist)) {
            return false;
        }
        HubClient.Metadata meta = known != null ? known : hub.metadata(repo, commit, file);
        if (meta == null) {
            if (required) {
                throw new UserException("hub: " + repo + "/" + file + " not found (404) at " + commit);
            }
            Files.createDirectories(noExist.getParent());
            Files.write(noExist, new byte[0]);
            return false;
        }
        if (meta.etag() == null || meta.etag().isEmpty() || meta.etag().contains("/") || meta.etag().startsWith(".")) {
            throw new UserException("hub: " + repo + "/" + file + ": the hub sent no usable ETag");
        }
        Path blobs = repoDir(repo).resolve("blobs");
        Path blob = blobs.resolve(meta.etag());
        Files.createDirectories(blobs);
        Path lockDir = root.resolve(".locks").resolve(repoDir(repo).getFileName());
        Files.createDirectories(lockDir);
        try (FileChannel lockFile = FileChannel.open(lockDir.resolve(meta.etag() + ".lock"),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = lockFile.lock()) {
            if (!Files.isRegularFile(blob)) {
                Path part = blobs.resolve(meta.etag() + ".incomplete");
                long got = hub.fetchTo(repo, commit, file, part, meta.size());
                if (meta.size() >= 0 && got != meta.size()) {
                    Files.deleteIfExists(part); // what is there cannot be resumed into the file the hub named
                    throw new IOException(file + ": received " + got + " of " + meta.size() + " bytes (discarded)");
                }
                if (SHA256.matcher(meta.etag()).matches() && !meta.etag().equals(sha256(part))) {
                    Files.delete(part);
                    throw new IOException(file + ": its sha256 is not the hub's " + meta.etag() + " (deleted; try again)");
                }
                Files.move(part, blob, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
        }
        Files.createDirectories(link.getParent());
        try {
            Files.createSymbolicLink(link, link.getParent().relativize(blob));
        } catch (UnsupportedOperationException | FileSystemException e) {
            Files.copy(blob, link); // a file system without links: huggingface_hub copies too
        }
        return true;
    }

    private static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                d.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The shard file names of a sharded checkpoint's index (plain file names only). */
    static Set<String> shards(Path index) {
        JsonNode map = Json.read(index, JsonNode.class).get("weight_map");
        if (map == null) {
            throw new UserException(index + ": no 'weight_map'");
        }
        Set<String> out = new LinkedHashSet<>();
        map.elements().forEachRemaining(n -> {
            String s = n.asText();
            if (s.contains("/") || s.contains("\\") || s.startsWith(".")) {
                throw new UserException(index + ": shard name '" + s + "' must be a plain file name");
            }
            out.add(s);
        });
        return out;
    }
}
