package io.softprompt.model;

import ai.djl.ndarray.NDManager;
import io.softprompt.model.gpt2.Gpt2Model;
import io.softprompt.util.UserException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** model_type → architecture factory. Explicit registrations, no reflection. */
public final class ModelRegistry {
    /** Builds an architecture from a model folder, loading its frozen weights into {@code manager}. */
    @FunctionalInterface
    public interface Factory {
        LanguageModel load(ModelFolder folder, NDManager manager);
    }

    private static final Map<String, Factory> FACTORIES = new LinkedHashMap<>();

    static {
        FACTORIES.put("gpt2", Gpt2Model::load);
    }

    private ModelRegistry() {}

    public static Map<String, Factory> factories() {
        return Collections.unmodifiableMap(FACTORIES);
    }

    public static boolean supports(String modelType) {
        return FACTORIES.containsKey(modelType);
    }

    public static Factory factory(ModelFolder folder) {
        Factory f = FACTORIES.get(folder.modelType());
        if (f == null) {
            throw new UserException(folder.configFile() + ": unsupported model_type '" + folder.modelType()
                    + "' (supported: " + String.join(", ", FACTORIES.keySet()) + ")");
        }
        return f;
    }
}
