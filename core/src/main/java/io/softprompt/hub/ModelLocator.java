package io.softprompt.hub;

import io.softprompt.util.UserException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Turns what the user typed for --model into a local folder: an existing folder as is; a hub id such
 * as {@code gpt2} or {@code org/name} (optionally {@code @revision}: a branch, tag or commit) from
 * {@code models/<id>} when a folder is there, else from the Hugging Face cache ({@link HfCache}),
 * downloaded into it when missing; nothing at
 * all means gpt2 when it is on disk or the hub answers, else the embedded sentiment-lm
 * ({@link EmbeddedModel}); {@code demo} is the untrained tiny demo model.
 */
public final class ModelLocator {
    public static final String DEFAULT_MODEL = "gpt2";
    /** What every command says when it ran on the demo model. */
    public static final String DEMO_CAVEAT = "demo model: untrained, the accuracy means nothing";
    static final String MAIN = "main";
    private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9][\\w./-]{0,199}");
    private static final Pattern HUB_ID = Pattern.compile("[A-Za-z0-9][\\w.-]*(/[A-Za-z0-9][\\w.-]*)?");

    /**
     * The folder and the name to record in the prompt file; demo for the untrained demo model;
     * trainData and devData when the model ships its own data (the embedded sentiment-lm), else null.
     */
    public record Located(Path folder, String name, boolean demo, Path trainData, Path devData) {
        Located(Path folder, String name, boolean demo) {
            this(folder, name, demo, null, null);
        }

        static Located embedded(Path folder) {
            return new Located(folder, EmbeddedModel.NAME, false, EmbeddedModel.trainData(folder),
                    EmbeddedModel.devData(folder));
        }

        /** Whether it is the model shipped inside the library. */
        public boolean embedded() {
            return trainData != null;
        }
    }

    private final Path modelsDir;
    private final Path unpackDir;
    private final HfCache cache;
    private final PrintWriter err;
    private final boolean terminal;
    private final boolean explain;

    /** With the Hugging Face cache the environment names ({@link HfCache#fromEnvironment()}). */
    public ModelLocator(Path modelsDir, PrintWriter err, boolean terminal) {
        this(modelsDir, HfCache.fromEnvironment(), err, terminal);
    }

    public ModelLocator(Path modelsDir, HfCache cache, PrintWriter err, boolean terminal) {
        this(modelsDir, modelsDir, cache, err, terminal, false);
    }

    private ModelLocator(Path modelsDir, Path unpackDir, HfCache cache, PrintWriter err, boolean terminal, boolean explain) {
        this.modelsDir = modelsDir;
        this.unpackDir = unpackDir;
        this.cache = cache;
        this.err = err;
        this.terminal = terminal;
        this.explain = explain;
    }

    /**
     * This locator unpacking the built-in models into {@code dir} (the command line: the user's cache
     * unless a models folder was named, so that running it anywhere leaves no models/ folder there).
     */
    public ModelLocator unpackingInto(Path dir) {
        return new ModelLocator(modelsDir, dir, cache, err, terminal, explain);
    }

    /** This locator explaining in full why the embedded model was chosen (train); others say it in one line. */
    public ModelLocator explaining() {
        return new ModelLocator(modelsDir, unpackDir, cache, err, terminal, true);
    }

    /**
     * Where models live when the caller names no folder: -Dsoftprompt.models, else SOFTPROMPT_MODELS,
     * else {@code fallback}. The library's fallback is {@link #userCacheDir()}, never the caller's
     * working folder; the command line passes its own ({@code ./models}, as its README says).
     */
    public static Path modelsDir(Path fallback) {
        String p = System.getProperty("softprompt.models");
        if (p == null || p.isBlank()) {
            p = System.getenv("SOFTPROMPT_MODELS");
        }
        return p == null || p.isBlank() ? fallback : Path.of(p);
    }

    /** The library's default: {@link #modelsDir} over the user's cache ({@link #userCacheDir()}). */
    public static Path defaultModelsDir() {
        return modelsDir(userCacheDir());
    }

    /** $XDG_CACHE_HOME/softprompt/models, else ~/.cache/softprompt/models (the user's, not the working folder). */
    public static Path userCacheDir() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path cache = xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute() ? Path.of(xdg)
                : Path.of(System.getProperty("user.home"), ".cache");
        return cache.resolve("softprompt").resolve("models");
    }

    /**
     * Whether {@code spec} names a hub repository ({org/}name, optionally @revision) rather than a file
     * or folder that exists.
     */
    public static boolean isHubId(String spec) {
        return spec != null && !spec.isBlank() && !spec.startsWith(".") && HUB_ID.matcher(spec.split("@", 2)[0]).matches()
                && spec.contains("/") && !Files.exists(Path.of(spec.split("@", 2)[0]));
    }

    /**
     * A PEFT adapter by hub id ({@code org/name[@revision]}): brought into the Hugging Face cache as a
     * model is (the same client, timeouts and rules; offline, the cached snapshot) and its folder returned.
     *
     * @param spec the hub id
     * @return the adapter's snapshot folder
     */
    public Path adapter(String spec) {
        String[] parts = spec.split("@", 2);
        String revision = parts.length > 1 ? parts[1] : MAIN;
        if (HubClient.offline()) {
            Path cached = cache.cached(parts[0], revision, HfCache.Kind.ADAPTER);
            if (cached == null) {
                throw new UserException("adapter '" + spec + "': not in the Hugging Face cache " + cache.root()
                        + " and HF_HUB_OFFLINE is set");
            }
            return cached;
        }
        HubClient hub = new HubClient(HubClient.endpointFromEnvironment(), err, terminal);
        return cache.download(hub, parts[0], revision, err, HfCache.Kind.ADAPTER);
    }

    public Located locate(String spec) {
        if (spec == null || spec.isBlank()) {
            return locateDefault();
        }
        if (spec.equals("demo") || spec.equals(DemoModel.NAME)) {
            return new Located(DemoModel.ensure(unpackDir), DemoModel.NAME, true);
        }
        Path p;
        try {
            p = Path.of(spec);
        } catch (java.nio.file.InvalidPathException e) {
            throw new UserException("model " + UserException.quote(spec) + ": neither a folder nor a hub id (" + e.getReason() + ")");
        }
        // a folder is the model, unless it lacks config.json and the name is a built-in model or a hub id
        // (run from this repository's root, "sentiment-lm" is also the embedded model's source folder)
        boolean named = spec.equals(EmbeddedModel.NAME) || (HUB_ID.matcher(spec.split("@", 2)[0]).matches() && !spec.startsWith("."));
        if (Files.isDirectory(p) && (Files.isRegularFile(p.resolve("config.json")) || !named)) {
            if (EmbeddedModel.isEmbedded(p)) {
                return Located.embedded(p);
            }
            // a folder is recorded by its absolute path: a prompt file names its model from anywhere
            Path abs = p.toAbsolutePath().normalize();
            return new Located(p, abs.toString(), DemoModel.isDemo(abs));
        }
        if (spec.equals(EmbeddedModel.NAME)) {
            return Located.embedded(EmbeddedModel.ensure(unpackDir));
        }
        int at = spec.indexOf('@');
        String id = at < 0 ? spec : spec.substring(0, at);
        String revision = at < 0 ? MAIN : spec.substring(at + 1);
        if (!HUB_ID.matcher(id).matches() || id.startsWith(".")) {
            throw new UserException("{{model}}: model folder not found: " + spec);
        }
        if (!REVISION.matcher(revision).matches() || revision.contains("..")) {
            throw new UserException("{{revision}}: '" + revision + "' is not a branch, tag or commit name");
        }
        Path local = modelsDir.resolve(id);
        if (revision.equals(MAIN) && Files.isRegularFile(local.resolve("config.json"))) {
            return new Located(local, id, false); // a folder the user (or an older softprompt) put there
        }
        Path cached = cache.cached(id, revision);
        if (HubClient.offline()) {
            if (cached != null) {
                return new Located(cached, name(id, revision, cached), false);
            }
            throw new UserException("{{model}}: '" + spec + "' is neither in " + local + " nor in the Hugging Face cache "
                    + cache.repoDir(id) + " and downloads are off (HF_HUB_OFFLINE); download it there first, or pass a folder");
        }
        HubClient hub = new HubClient(HubClient.endpointFromEnvironment(), err, terminal);
        if (cached == null) {
            err.println("model '" + spec + "' not in the Hugging Face cache " + cache.root() + "; downloading from "
                    + hub.endpoint());
            err.flush();
        }
        Path snapshot = cache.download(hub, id, revision, err);
        return new Located(snapshot, name(id, revision, snapshot), false);
    }

    /** The name a prompt file records: the id alone for main, else the id pinned to the commit it ran on. */
    private static String name(String id, String revision, Path snapshot) {
        return revision.equals(MAIN) ? id : id + "@" + snapshot.getFileName();
    }

    private Located locateDefault() {
        Path local = modelsDir.resolve(DEFAULT_MODEL);
        if (Files.isRegularFile(local.resolve("config.json"))) {
            return new Located(local, DEFAULT_MODEL, false);
        }
        Path cached = cache.cached(DEFAULT_MODEL, MAIN);
        if (cached != null) {
            return new Located(cached, DEFAULT_MODEL, false); // the default never waits on the network
        }
        if (!HubClient.offline()) {
            HubClient hub = new HubClient(HubClient.endpointFromEnvironment(), err, terminal);
            if (hub.reachable(DEFAULT_MODEL)) {
                return locate(DEFAULT_MODEL);
            }
        }
        if (explain) {
            err.println("note: no --model given, no " + local + ", no " + DEFAULT_MODEL + " in the Hugging Face cache "
                    + cache.root() + " and no hub: using the embedded " + EmbeddedModel.CAVEAT
                    + "; with the built-in sst2 task it trains on its own SST-2 data. Pass --model DIR|HUB_ID for real work.");
        } else {
            err.println("note: no --model given: using the embedded " + EmbeddedModel.NAME + " (pass --model DIR|HUB_ID)");
        }
        err.flush();
        return Located.embedded(EmbeddedModel.ensure(unpackDir));
    }
}
