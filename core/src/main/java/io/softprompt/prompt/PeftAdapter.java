package io.softprompt.prompt;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.model.PromptSite;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.safetensors.SafetensorsWriter;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import io.softprompt.util.Outputs;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * PEFT prompt-learning adapter folders, the layout {@code PeftModel.from_pretrained} loads:
 *
 * <pre>
 *   adapter_config.json         PromptTuningConfig (peft_type PROMPT_TUNING), PromptEncoderConfig (P_TUNING, for a
 *                               prompt trained through the MLP of --reparam mlp) or PrefixTuningConfig
 *                               (PREFIX_TUNING, a deep prompt): task_type, num_virtual_tokens N, token_dim,
 *                               num_transformer_submodules S, num_layers, num_attention_heads, ...
 *   adapter_model.safetensors   prompt_embeddings [N·S, D] float32 (a deep prompt: [N, L·2·Hkv·K], token_dim Hkv·K),
 *                               metadata {"format": "pt"}
 *   softprompt.json             (ours, ignored by PEFT) the .sp metadata: task, template, verbaliser
 * </pre>
 *
 * <p>Every adapter is written with inference_mode true and the prompt folded: PEFT then feeds
 * prompt_embeddings to the model as they are (P-tuning's MLP and the prefix projection are not built in
 * inference mode), so the adapter computes what the .sp computes. Our input prompts go in front of the
 * input (the encoder's, for T5), so exports have S = 1. An adapter with S = 2 (PEFT's default for
 * SEQ_2_SEQ_LM) stores [2N, D], of which PEFT's prompt tuning feeds only the first N rows to the model;
 * import takes those and says so. A T5 deep prompt (encoder only) has no PEFT equivalent: PEFT puts a
 * seq2seq prefix in the decoder too.
 */
public final class PeftAdapter {
    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";
    public static final String OURS = "softprompt.json";
    /** The model card the hub shows (front matter: base_model, library_name peft, tags, pipeline_tag). */
    public static final String CARD = "README.md";

    /**
     * What an adapter folder holds: the prompt the model is fed [tokens, dim], the config, our metadata
     * (softprompt.json) and a note when only part of the stored tensor is that prompt.
     */
    public record Adapter(float[] values, int tokens, int dim, JsonNode config, Map<String, String> metadata, String note) {
        /** Whether it is a prefix-tuning adapter (a deep prompt [N, L·2·token_dim]). */
        public boolean deep() {
            return "PREFIX_TUNING".equals(config.path("peft_type").asText());
        }
    }

    private PeftAdapter() {}

    /** PEFT's task type for a model kind. */
    public static String taskType(String modelKind) {
        return switch (modelKind) {
            case "SEQ2SEQ" -> "SEQ_2_SEQ_LM";
            case "MASKED" -> "FEATURE_EXTRACTION";
            default -> "CAUSAL_LM";
        };
    }

    /**
     * What adapter_config.json says for prompt_tuning_init, whatever the prompt's real init: RANDOM.
     * PEFT 0.17.1 knows only RANDOM and TEXT, TEXT needs tokenizer_name_or_path and re-embeds the
     * text at load, and the saved weights overwrite the initial values either way. The real init
     * stays in softprompt.json.
     */
    static final String PEFT_INIT = "RANDOM";

    /** The widest prompt row read: a Java array's limit, far past any model's L·2·Hkv·K. */
    static final int MAX_ROW = Integer.MAX_VALUE - 8;

    /** The files an adapter folder written before model cards and manifests holds (known by these names alone). */
    public static final Set<String> FILES = Set.of(CONFIG, WEIGHTS, OURS);

    /** Such a folder is ours when it holds softprompt.json: PEFT's own adapters have the other two alone. */
    static final Outputs.Legacy LEGACY = new Outputs.Legacy(FILES, Set.of(OURS));

    /**
     * Writes the folder through {@link Outputs#folder}: staged beside it, then swapped into place; an
     * existing folder is replaced only with force, and only when it holds nothing but an adapter we wrote.
     */
    public static String write(Path dir, Prompt sp, String modelKind, boolean force) {
        return write("OUT", dir, sp, modelKind, force);
    }

    public static String write(String label, Path dir, Prompt sp, String modelKind, boolean force) {
        Map<String, Object> cfg = config(sp, modelKind);
        Map<String, AtomicFiles.Writer> files = new LinkedHashMap<>();
        files.put(CONFIG, out -> out.write((Json.pretty(cfg) + "\n").getBytes(StandardCharsets.UTF_8)));
        Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        t.put(PromptFile.TENSOR, SafetensorsWriter.Tensor.f32(sp.values(), sp.tokens(), sp.hidden()));
        files.put(WEIGHTS, out -> SafetensorsWriter.write(out, t, Map.of("format", "pt")));
        files.put(OURS, out -> out.write((Json.pretty(ModelCard.portable(sp.metadata())) + "\n").getBytes(StandardCharsets.UTF_8)));
        String card = ModelCard.of(sp, modelKind, (String) cfg.get("peft_type"));
        files.put(CARD, out -> out.write(card.getBytes(StandardCharsets.UTF_8)));
        // a manifest lists these four: an older export (the first three) is recognised by their names alone
        Outputs.folder(label, dir, force, LEGACY, files);
        return (String) cfg.get("peft_type");
    }

    /**
     * adapter_config.json for the prompt: PREFIX_TUNING for a deep prompt, P_TUNING after reparam mlp, else
     * PROMPT_TUNING.
     *
     * @param sp the prompt
     * @param modelKind DECODER, MASKED or SEQ2SEQ
     * @return the config, in PEFT's key order
     */
    static Map<String, Object> config(Prompt sp, String modelKind) {
        if (sp.site().layers() > 0) { // PEFT's prefix covers every layer, its prompt tuning enters at the input
            throw new UserException("a " + sp.site().noun() + " (top " + sp.site().layers() + " layers) has no PEFT "
                    + "equivalent: PEFT's prefix tuning puts a prefix in every layer and its prompt tuning enters at the input");
        }
        Map<String, Object> cfg = new LinkedHashMap<>();
        String reparam = trainKey(sp, "reparam");
        String type = sp.site() == PromptSite.DEEP ? "PREFIX_TUNING" : "mlp".equals(reparam) ? "P_TUNING" : "PROMPT_TUNING";
        cfg.put("peft_type", type);
        cfg.put("task_type", taskType(modelKind));
        cfg.put("auto_mapping", null);
        cfg.put("base_model_name_or_path", sp.meta(PromptFile.MODEL_NAME));
        cfg.put("revision", null);
        cfg.put("inference_mode", true);
        cfg.put("num_virtual_tokens", sp.tokens());
        if (sp.site() == PromptSite.DEEP) {
            if ("SEQ2SEQ".equals(modelKind)) {
                throw new UserException("a T5 deep prompt sits in the encoder only; PEFT's prefix tuning puts a seq2seq "
                        + "prefix in the decoder too (num_transformer_submodules 2), so no PEFT adapter computes the same");
            }
            int layers = metaInt(sp, PromptFile.PREFIX_LAYERS);
            int heads = metaInt(sp, PromptFile.PREFIX_KV_HEADS);
            if (sp.hidden() % (2 * layers) != 0 || sp.hidden() / (2 * layers) % heads != 0) {
                throw new UserException("the deep prompt's width " + sp.hidden() + " is not L·2·Hkv·K for "
                        + PromptFile.PREFIX_LAYERS + " " + layers + " and " + PromptFile.PREFIX_KV_HEADS + " " + heads);
            }
            int tokenDim = sp.hidden() / (2 * layers); // Hkv·K: PEFT's token_dim under grouped-query attention
            cfg.put("token_dim", tokenDim);
            cfg.put("num_transformer_submodules", 1);
            cfg.put("num_attention_heads", heads);
            cfg.put("num_layers", layers);
            cfg.put("modules_to_save", null);
            cfg.put("encoder_hidden_size", tokenDim);
            cfg.put("prefix_projection", false); // folded: the table itself
            return cfg;
        }
        cfg.put("token_dim", sp.hidden());
        cfg.put("num_transformer_submodules", 1);
        cfg.put("num_attention_heads", null);
        cfg.put("num_layers", null);
        if (type.equals("P_TUNING")) {
            String hidden = trainKey(sp, "reparam_hidden");
            cfg.put("modules_to_save", null);
            cfg.put("encoder_reparameterization_type", "MLP");
            cfg.put("encoder_hidden_size", hidden == null ? sp.hidden() : wholeNumber(hidden, "train_config's reparam_hidden"));
            cfg.put("encoder_num_layers", 2);
            cfg.put("encoder_dropout", 0.0);
            return cfg;
        }
        cfg.put("prompt_tuning_init", PEFT_INIT);
        cfg.put("prompt_tuning_init_text", null);
        cfg.put("tokenizer_name_or_path", null);
        cfg.put("tokenizer_kwargs", null);
        return cfg;
    }

    /** A key of the .sp's train_config (null when absent, null, or the prompt was not trained here). */
    private static String trainKey(Prompt sp, String key) {
        String json = sp.meta(PromptFile.TRAIN_CONFIG);
        if (json == null) {
            return null;
        }
        try {
            JsonNode v = Json.MAPPER.readTree(json).get(key);
            return v == null || v.isNull() ? null : v.asText();
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    /** A positive whole number of at most 7 digits from a .sp's text, else a one-line refusal naming it. */
    private static int wholeNumber(String v, String what) {
        if (v == null || !v.matches("[1-9][0-9]{0,6}")) {
            throw new UserException("the prompt's " + what + " is " + (v == null ? "missing" : UserException.quote(v))
                    + " (a positive whole number, written by train and import)");
        }
        return Integer.parseInt(v);
    }

    private static int metaInt(Prompt sp, String key) {
        return wholeNumber(sp.meta(key), key);
    }

    /** A whole number of at least 1 under key (PEFT writes ints: 5.7, "5" or 1e9 are refused, never rounded). */
    private static int positive(Path file, JsonNode cfg, String key) {
        JsonNode v = cfg.get(key);
        if (v == null || v.isNull()) {
            throw new UserException(file + ": no " + key);
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 1) {
            throw new UserException(file + ": " + key + " must be a whole number of at least 1 (got "
                    + (v.isNumber() ? v.asText() : v.getNodeType().toString().toLowerCase(java.util.Locale.ROOT)) + ")");
        }
        return v.asInt();
    }

    /**
     * Refuses a prefix adapter that does not fit the model: its num_layers, num_attention_heads (PEFT's
     * key/value heads) and token_dim (Hkv·K) must be the model's; T5 (PEFT puts a seq2seq prefix in the
     * decoder too) takes none.
     *
     * @param a a PREFIX_TUNING adapter
     * @param lm the model
     * @param name how the model is named
     * @param source how errors name the adapter
     */
    public static void requireFits(Adapter a, io.softprompt.model.LanguageModel lm, String name, String source) {
        if (lm.kind() == io.softprompt.model.LanguageModel.Kind.SEQ2SEQ) {
            throw new UserException(source + ": a prefix adapter for " + name + " (" + lm.modelType() + "): PEFT puts a "
                    + "seq2seq prefix in the decoder too, softprompt's T5 deep prompts sit in the encoder only");
        }
        io.softprompt.model.LanguageModel.Attention at = lm.attention();
        int layers = a.config().path("num_layers").asInt();
        int heads = a.config().path("num_attention_heads").asInt();
        int tokenDim = a.config().path("token_dim").asInt();
        if (layers != at.layers() || heads != at.kvHeads() || tokenDim != at.kvHeads() * at.headSize()) {
            throw new UserException(source + ": a prefix adapter of num_layers " + layers + ", num_attention_heads " + heads
                    + ", token_dim " + tokenDim + " but model " + name + " has " + at.layers() + " layers and "
                    + at.kvHeads() + " key/value heads of " + at.headSize());
        }
    }

    public static boolean isAdapter(Path dir) {
        return Files.isDirectory(dir) && Files.isRegularFile(dir.resolve(CONFIG));
    }

    public static Adapter read(Path dir) {
        Path cfgFile = dir.resolve(CONFIG);
        JsonNode cfg;
        try {
            cfg = Json.MAPPER.readTree(cfgFile.toFile());
        } catch (JsonProcessingException e) {
            throw new UserException(cfgFile + ": " + Json.describe(e));
        } catch (IOException e) {
            throw new UserException(cfgFile + ": cannot read: " + AtomicFiles.reason(e));
        }
        if (cfg == null || !cfg.isObject()) {
            throw new UserException(cfgFile + ": not a JSON object");
        }
        String type = cfg.path("peft_type").isTextual() ? cfg.path("peft_type").asText() : "";
        if (!type.equals("PROMPT_TUNING") && !type.equals("P_TUNING") && !type.equals("PREFIX_TUNING")) {
            throw new UserException(cfgFile + ": peft_type is " + (type.isEmpty() ? "missing"
                    : type.matches("[A-Z_]{1,40}") ? type : UserException.quote(type))
                    + ", not PROMPT_TUNING, P_TUNING or PREFIX_TUNING (the adapters that hold a soft prompt)");
        }
        int n = positive(cfgFile, cfg, "num_virtual_tokens");
        int dim = positive(cfgFile, cfg, "token_dim");
        if (type.equals("PREFIX_TUNING")) {
            int layers = positive(cfgFile, cfg, "num_layers");
            positive(cfgFile, cfg, "num_attention_heads");
            if (cfg.has("num_transformer_submodules") && !cfg.path("num_transformer_submodules").isNull()
                    && positive(cfgFile, cfg, "num_transformer_submodules") != 1
                    || "SEQ_2_SEQ_LM".equals(cfg.path("task_type").asText())) {
                throw new UserException(cfgFile + ": a seq2seq prefix adapter (PEFT puts its prefix in the decoder too); "
                        + "softprompt's T5 deep prompts sit in the encoder only");
            }
            long width = 2L * layers * dim; // each row: L·2·token_dim, counted in long: the file's numbers may be anything
            if (width > MAX_ROW) {
                throw new UserException(cfgFile + ": num_layers " + layers + " × 2 × token_dim " + dim + " = " + width
                        + " values a row, beyond any model (at most " + MAX_ROW + ")");
            }
            dim = (int) width;
        }
        int sub = type.equals("PREFIX_TUNING") ? 1
                : cfg.path("num_transformer_submodules").isNull() || !cfg.has("num_transformer_submodules")
                ? ("SEQ_2_SEQ_LM".equals(cfg.path("task_type").asText()) ? 2 : 1)
                : positive(cfgFile, cfg, "num_transformer_submodules");
        if (sub != 1 && sub != 2) {
            throw new UserException(cfgFile + ": num_transformer_submodules is " + sub + " (PEFT writes 1 or 2)");
        }
        Path wFile = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(wFile)) {
            if (Files.isRegularFile(dir.resolve("adapter_model.bin"))) {
                throw new UserException(dir + ": holds adapter_model.bin (a pickle); softprompt reads only "
                        + WEIGHTS + " (save with safe_serialization=True)");
            }
            throw new UserException(dir + ": no " + WEIGHTS);
        }
        SafetensorsFile f = SafetensorsFile.open(wFile);
        if (!f.contains(PromptFile.TENSOR)) {
            throw new UserException(wFile + ": no '" + PromptFile.TENSOR + "' tensor (tensors: " + f.names() + ")");
        }
        long[] shape = f.info(PromptFile.TENSOR).shape();
        if (shape.length != 2 || shape[0] != (long) n * sub || shape[1] != dim) {
            throw new UserException(wFile + ": '" + PromptFile.TENSOR + "' has shape " + Arrays.toString(shape)
                    + " but " + CONFIG + " says [" + (long) n * sub + ", " + dim + "]");
        }
        float[] values = f.readFloats(PromptFile.TENSOR);
        String note = null;
        if (sub == 2) {
            // PEFT's default for SEQ_2_SEQ_LM: the tensor has 2N rows, but prompt tuning feeds only the first N
            // to the model (measured against peft 0.17.1: changing rows N..2N changes no output)
            values = Arrays.copyOf(values, n * dim);
            note = dir + ": a two-submodule adapter [" + 2 * n + ", " + dim + "]; PEFT's prompt tuning feeds only its "
                    + "first " + n + " rows to the model, so those are the prompt";
        }
        Map<String, String> meta = new LinkedHashMap<>();
        Path ours = dir.resolve(OURS);
        if (Files.isRegularFile(ours)) {
            try {
                JsonNode m = Json.MAPPER.readTree(ours.toFile());
                if (m == null || !m.isObject()) {
                    throw new UserException(ours + ": not a JSON object");
                }
                m.fields().forEachRemaining(e -> meta.put(e.getKey(), e.getValue().asText()));
            } catch (IOException e) {
                throw new UserException(ours + ": not valid JSON");
            }
        }
        return new Adapter(values, n, dim, cfg, meta, note);
    }
}
