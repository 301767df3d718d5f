package io.softprompt.spark;

import io.softprompt.infer.Member;
import io.softprompt.loader.LoadedModel;
import io.softprompt.prompt.Prompt;
import io.softprompt.util.UserException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The frozen model of this JVM, loaded once per executor (never shipped): a lazy holder keyed by the
 * model's folder and device, checked against the fingerprint the driver saw, so an executor that
 * finds another model at that path fails its task with a clear message instead of scoring with it.
 * Members (prompts made ready on the model) are cached per broadcast. Gradient work is serialised
 * per JVM: DJL allows one gradient collector at a time.
 */
public final class ModelHolder {
    /** Which model: a folder every executor can read, the device to place it on, and its fingerprint (null: any). */
    public record Key(String folder, String device, String fingerprint) implements Serializable {
        private static final long serialVersionUID = 1L;

        Key withoutFingerprint() {
            return new Key(folder, device, null);
        }
    }

    private static final Map<Key, LoadedModel> MODELS = new ConcurrentHashMap<>();
    private static final Map<String, List<Member>> MEMBERS = new ConcurrentHashMap<>();
    private static final Object GRADIENTS = new Object();

    private ModelHolder() {}

    /** This JVM's model for {@code key}, loading it on first use (float32; the key's device). */
    public static LoadedModel get(Key key) {
        LoadedModel m = MODELS.computeIfAbsent(key.withoutFingerprint(), k -> {
            if (System.getProperty("ai.djl.offline") == null) { // executors never download: natives come in the jars
                System.setProperty("ai.djl.offline", "true");
            }
            Path folder = Path.of(k.folder());
            return LoadedModel.load(folder, folder.getFileName().toString(), k.device(), "float32");
        });
        if (key.fingerprint() != null && !key.fingerprint().equals(m.fingerprint())) {
            throw new UserException("the model at " + key.folder() + " on this executor has fingerprint " + m.fingerprint()
                    + ", the driver's has " + key.fingerprint() + ": every executor must see the same model files");
        }
        return m;
    }

    /**
     * The prompts of broadcast {@code id} made ready on this JVM's model (each checked once per JVM
     * for fit and finite output, as on the driver), in the broadcast's order.
     */
    static List<Member> members(Key key, long id, Map<String, Prompt> prompts, Integer maxLength) {
        return MEMBERS.computeIfAbsent(key.folder() + "#" + id, k -> {
            LoadedModel m = get(key);
            List<Member> out = new ArrayList<>();
            prompts.forEach((name, p) -> out.add(Member.of(m, name, name + ".sp", p, maxLength, false)));
            return List.copyOf(out);
        });
    }

    /** Runs gradient work alone in this JVM (several tasks of one executor share the model). */
    static <T> T withGradients(Supplier<T> work) {
        synchronized (GRADIENTS) {
            return work.get();
        }
    }

    /** Closes every model of this JVM (tests; executors simply exit). */
    public static synchronized void closeAll() {
        MEMBERS.clear();
        MODELS.values().forEach(LoadedModel::close);
        MODELS.clear();
    }
}
