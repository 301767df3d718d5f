package io.softprompt.loader;

import ai.djl.ndarray.NDManager;
import io.softprompt.model.LanguageModel;
import io.softprompt.model.ModelFolder;
import io.softprompt.model.TextTokenizer;
import io.softprompt.model.bert.BertModel;
import io.softprompt.model.gpt2.Gpt2Model;
import io.softprompt.model.llama.LlamaModel;
import io.softprompt.model.t5.T5Model;
import io.softprompt.util.UserException;
import java.util.LinkedHashMap;
import java.util.Map;

/** model_type → architecture factory. Explicit registrations, no reflection. */
public final class ModelRegistry {
    /** Builds an architecture from a model folder, loading its frozen weights into {@code manager}. */
    @FunctionalInterface
    public interface Factory {
        LanguageModel load(ModelFolder folder, NDManager manager, TextTokenizer tokenizer);
    }

    private static final Map<String, Factory> FACTORIES = new LinkedHashMap<>();

    static {
        FACTORIES.put("gpt2", Gpt2Model::load);
        FACTORIES.put("llama", LlamaModel::load);
        FACTORIES.put("mistral", LlamaModel::load);
        FACTORIES.put("qwen2", LlamaModel::load);
        FACTORIES.put("qwen3", LlamaModel::load);
        FACTORIES.put("phi3", LlamaModel::load);
        FACTORIES.put("gemma3_text", io.softprompt.model.gemma3.Gemma3Model::load);
        FACTORIES.put("gemma3", io.softprompt.model.gemma3.Gemma3Model::load);
        FACTORIES.put("modernbert", io.softprompt.model.modernbert.ModernBertModel::load);
        FACTORIES.put("bert", BertModel::load);
        FACTORIES.put("roberta", BertModel::load);
        FACTORIES.put("t5", T5Model::load);
    }

    private ModelRegistry() {}


    public static boolean supports(ModelFolder folder) {
        return FACTORIES.containsKey(folder.modelType())
                || folder.config().path("architectures").toString().contains("\"LlamaForCausalLM\"");
    }

    public static Factory factory(ModelFolder folder) {
        Factory f = FACTORIES.get(folder.modelType());
        if (f == null && folder.config().path("architectures").toString().contains("\"LlamaForCausalLM\"")) {
            f = LlamaModel::load; // a Llama-compatible checkpoint under another model_type
        }
        if (f == null) {
            throw new UserException(folder.configFile() + ": unsupported model_type '" + folder.modelType()
                    + "' (supported: " + String.join(", ", FACTORIES.keySet()) + ")");
        }
        return f;
    }
}
