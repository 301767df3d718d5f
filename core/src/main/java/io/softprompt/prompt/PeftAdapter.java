package io.softprompt.prompt;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
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
 * PEFT prompt-tuning adapter folders, the layout {@code PeftModel.from_pretrained} loads:
 *
 * <pre>
 *   adapter_config.json         PromptTuningConfig: peft_type PROMPT_TUNING, task_type,
 *                               num_virtual_tokens N, token_dim D, num_transformer_submodules S, ...
 *   adapter_model.safetensors   prompt_embeddings [N·S, D] float32, metadata {"format": "pt"}
 *   softprompt.json             (ours, ignored by PEFT) the .sp metadata: task, template, verbaliser
 * </pre>
 *
 * <p>Our prompts go in front of the input (the encoder's, for T5), so exports have S = 1. An adapter
 * with S = 2 (PEFT's default for SEQ_2_SEQ_LM) stores [2N, D], of which PEFT's prompt tuning feeds
 * only the first N rows to the model; import takes those and says so.
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
    public record Adapter(float[] values, int tokens, int dim, JsonNode config, Map<String, String> metadata, String note) {}

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

    /** The files an adapter folder written before model cards and manifests holds (known by these names alone). */
    public static final Set<String> FILES = Set.of(CONFIG, WEIGHTS, OURS);

    /**
     * Writes the folder through {@link Outputs#folder}: staged beside it, then swapped into place; an
     * existing folder is replaced only with force, and only when it holds nothing but an adapter we wrote.
     */
    public static void write(Path dir, Prompt sp, String modelKind, boolean force) {
        write("OUT", dir, sp, modelKind, force);
    }

    public static void write(String label, Path dir, Prompt sp, String modelKind, boolean force) {
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("peft_type", "PROMPT_TUNING");
        cfg.put("task_type", taskType(modelKind));
        cfg.put("auto_mapping", null);
        cfg.put("base_model_name_or_path", sp.meta(PromptFile.MODEL_NAME));
        cfg.put("revision", null);
        cfg.put("inference_mode", true);
        cfg.put("num_virtual_tokens", sp.tokens());
        cfg.put("token_dim", sp.hidden());
        cfg.put("num_transformer_submodules", 1);
        cfg.put("num_attention_heads", null);
        cfg.put("num_layers", null);
        cfg.put("prompt_tuning_init", PEFT_INIT);
        cfg.put("prompt_tuning_init_text", null);
        cfg.put("tokenizer_name_or_path", null);
        cfg.put("tokenizer_kwargs", null);
        Map<String, AtomicFiles.Writer> files = new LinkedHashMap<>();
        files.put(CONFIG, out -> out.write((Json.pretty(cfg) + "\n").getBytes(StandardCharsets.UTF_8)));
        Map<String, SafetensorsWriter.Tensor> t = new LinkedHashMap<>();
        t.put(PromptFile.TENSOR, SafetensorsWriter.Tensor.f32(sp.values(), sp.tokens(), sp.hidden()));
        files.put(WEIGHTS, out -> SafetensorsWriter.write(out, t, Map.of("format", "pt")));
        files.put(OURS, out -> out.write((Json.pretty(sp.metadata()) + "\n").getBytes(StandardCharsets.UTF_8)));
        files.put(CARD, out -> out.write(ModelCard.of(sp, modelKind).getBytes(StandardCharsets.UTF_8)));
        // a manifest lists these four: an older export (the first three) is recognised by their names alone
        Outputs.folder(label, dir, force, FILES, files);
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
        if (!type.equals("PROMPT_TUNING")) {
            throw new UserException(cfgFile + ": peft_type is " + (type.isEmpty() ? "missing"
                    : type.matches("[A-Z_]{1,40}") ? type : UserException.quote(type))
                    + ", not PROMPT_TUNING (only prompt-tuning adapters hold a soft prompt)");
        }
        int n = positive(cfgFile, cfg, "num_virtual_tokens");
        int dim = positive(cfgFile, cfg, "token_dim");
        int sub = cfg.path("num_transformer_submodules").isNull() || !cfg.has("num_transformer_submodules")
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
                    + " but " + CONFIG + " says [" + n * sub + ", " + dim + "]");
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
