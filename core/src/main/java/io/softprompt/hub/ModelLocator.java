package io.softprompt.hub;

import io.softprompt.util.UserException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Turns what the user typed for --model into a local folder: an existing folder as is; a hub id such
 * as {@code gpt2} or {@code org/name} from {@code models/<id>}, downloaded there when missing; nothing at
 * all means gpt2 when it is on disk or the hub answers, else the embedded sentiment-lm
 * ({@link EmbeddedModel}); {@code demo} is the untrained tiny demo model.
 */
public final class ModelLocator {
    public static final String DEFAULT_MODEL = "gpt2";
    /** What every command says when it ran on the demo model. */
    public static final String DEMO_CAVEAT = "demo model: untrained, the accuracy means nothing";
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
    private final PrintWriter err;
    private final boolean terminal;

    public ModelLocator(Path modelsDir, PrintWriter err, boolean terminal) {
        this.modelsDir = modelsDir;
        this.err = err;
        this.terminal = terminal;
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

    public Located locate(String spec) {
        if (spec == null || spec.isBlank()) {
            return locateDefault();
        }
        if (spec.equals("demo") || spec.equals(DemoModel.NAME)) {
            return new Located(DemoModel.ensure(modelsDir), DemoModel.NAME, true);
        }
        Path p = Path.of(spec);
        if (Files.isDirectory(p)) {
            if (EmbeddedModel.isEmbedded(p)) {
                return Located.embedded(p);
            }
            // a folder is recorded by its absolute path: a prompt file names its model from anywhere
            Path abs = p.toAbsolutePath().normalize();
            return new Located(p, abs.toString(), DemoModel.isDemo(abs));
        }
        if (spec.equals(EmbeddedModel.NAME)) {
            return Located.embedded(EmbeddedModel.ensure(modelsDir));
        }
        if (!HUB_ID.matcher(spec).matches() || spec.startsWith(".")) {
            throw new UserException("{{model}}: model folder not found: " + spec);
        }
        Path local = modelsDir.resolve(spec);
        if (Files.isRegularFile(local.resolve("config.json"))) {
            return new Located(local, spec, false);
        }
        if (HubClient.offline()) {
            throw new UserException("{{model}}: '" + spec + "' is not in " + local + " and downloads are off "
                    + "(HF_HUB_OFFLINE); put config.json, tokenizer.json and model.safetensors there");
        }
        HubClient hub = new HubClient(HubClient.endpointFromEnvironment(), err, terminal);
        err.println("model '" + spec + "' not in " + local + "; downloading from " + hub.endpoint());
        err.flush();
        return new Located(hub.download(spec, "main", local), spec, false);
    }

    private Located locateDefault() {
        Path local = modelsDir.resolve(DEFAULT_MODEL);
        if (Files.isRegularFile(local.resolve("config.json"))) {
            return new Located(local, DEFAULT_MODEL, false);
        }
        if (!HubClient.offline()) {
            HubClient hub = new HubClient(HubClient.endpointFromEnvironment(), err, terminal);
            if (hub.reachable(DEFAULT_MODEL)) {
                return locate(DEFAULT_MODEL);
            }
        }
        err.println("note: no --model given, no " + local + " and no hub: using the embedded " + EmbeddedModel.CAVEAT
                + "; with the built-in sst2 task it trains on its own SST-2 data. Pass --model DIR|HUB_ID for real work.");
        err.flush();
        return Located.embedded(EmbeddedModel.ensure(modelsDir));
    }
}
