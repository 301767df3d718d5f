package io.softprompt.prompt;

import io.softprompt.data.Task;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.DeepSite;
import io.softprompt.model.PromptSite;
import io.softprompt.safetensors.SafetensorsFile;
import io.softprompt.safetensors.SafetensorsWriter;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import io.softprompt.util.Version;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The .sp prompt file: a safetensors file holding one float32 tensor {@code prompt_embeddings} [N, D]
 * (the name PEFT uses; a deep prompt's is PEFT's prefix table [N, L·2·Hkv·K], format 1.1) and string
 * metadata. Readers refuse a newer major format version.
 *
 * <p>Dimensions (docs/ARCHITECTURE.md): N prompt tokens, D hidden size, L layers, Hkv key/value heads, K head size.
 */
public final class PromptFile {
    public static final String TENSOR = "prompt_embeddings";
    public static final String FORMAT_NAME = "softprompt";
    public static final int MAJOR = 1;
    public static final String VERSION = MAJOR + ".0";

    // metadata keys (all values are strings; JSON where noted)
    public static final String FORMAT = "format";
    public static final String FORMAT_VERSION = "format_version";
    public static final String MODEL_TYPE = "model_type";
    public static final String MODEL_NAME = "model_name";
    public static final String HIDDEN_SIZE = "hidden_size";
    public static final String VOCAB_SIZE = "vocab_size";
    public static final String NUM_TOKENS = "num_virtual_tokens";
    public static final String MODEL_FINGERPRINT = "model_fingerprint";
    public static final String TOKENIZER = "tokenizer";
    public static final String INIT = "init";
    public static final String TASK = "task";
    public static final String TEMPLATE = "template";
    public static final String TEXT_COLUMN = "text_column";
    public static final String LABEL_COLUMN = "label_column";
    public static final String VERBALIZER = "verbalizer";       // JSON object label → word
    public static final String TASK_TYPE = "task_type";         // classification | text-to-text
    public static final String TARGET_COLUMN = "target_column";
    /** "true" when rows are framed by the model's chat template; its system message and variables (JSON object). */
    public static final String CHAT = "chat";
    public static final String SYSTEM = "system";
    public static final String CHAT_VARIABLES = "chat_variables";
    public static final String TRAIN_CONFIG = "train_config";   // JSON object
    public static final String METRICS = "metrics";             // JSON object
    public static final String CREATED = "created";             // ISO-8601 UTC
    public static final String SOFTWARE = "software";
    public static final String IMPORTED_FROM = "imported_from";
    /** input (absent: input) or deep: a per-layer key/value prefix in PEFT's layout (format 1.1). */
    public static final String DEPTH = "prompt_depth";
    public static final String DEEP = "deep";
    /** A deep prompt's tensor width L·2·Hkv·K (its hidden_size stays the model's D). */
    public static final String PREFIX_WIDTH = "prefix_width";
    /** A deep prompt's layers L and key/value heads Hkv (its rows are L·2·Hkv·K wide): what a PEFT prefix adapter states. */
    public static final String PREFIX_LAYERS = "prefix_layers";
    public static final String PREFIX_KV_HEADS = "prefix_kv_heads";
    /** The version a deep prompt is written with: readers of 1.0 refuse it in one line (hidden_size ≠ width). */
    public static final String DEEP_VERSION = MAJOR + ".1";
    /**
     * The top layers a partial-depth deep prompt ({@code prompt_depth} {@code partial}) or a late prompt
     * ({@code late}) reaches (format 1.2; readers of 1.0 and 1.1 refuse those depths in one line).
     */
    public static final String LAYERS = "prompt_layers";
    public static final String LAYERS_VERSION = MAJOR + ".2";

    private PromptFile() {}

    /**
     * The site a file's metadata names: its {@code prompt_depth} and {@code prompt_layers}.
     *
     * @param meta the metadata
     * @return the site (an input prompt when no depth is given)
     */
    public static PromptSite site(Map<String, String> meta) {
        String layers = meta.get(LAYERS);
        return PromptSite.of(meta.get(DEPTH), layers == null || !layers.matches("[0-9]{1,9}") ? 0 : Integer.parseInt(layers));
    }

    /** The task's keys (task, template, columns, verbalizer, type), the inverse of {@link Prompt#task}. */
    public static Map<String, String> taskMetadata(Task t) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(TASK, t.name());
        m.put(TEMPLATE, t.template());
        m.put(TEXT_COLUMN, t.textColumn());
        m.put(LABEL_COLUMN, t.labelColumn());
        m.put(VERBALIZER, Json.write(t.verbalizer()));
        m.put(TASK_TYPE, t.type());
        m.put(TARGET_COLUMN, t.targetColumn());
        if (t.chatFramed()) {
            m.put(CHAT, "true");
            m.put(SYSTEM, t.system());
            m.put(CHAT_VARIABLES, t.chatVariables().isEmpty() ? null : Json.write(t.chatVariables()));
        }
        m.values().removeIf(Objects::isNull);
        return m;
    }

    /**
     * The metadata every .sp carries about its base model, task and initialisation, assembled here for
     * every writer (train, import): model type, name, vocabulary size, fingerprint, tokenizer, init,
     * the task's keys, the time and the software. Writers add their own keys (train_config, metrics,
     * imported_from) to it.
     */
    public static Map<String, String> metadata(LoadedModel model, String modelName,
            Task task, String init) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(MODEL_TYPE, model.lm().modelType());
        m.put(MODEL_NAME, modelName);
        m.put(VOCAB_SIZE, Integer.toString(model.lm().vocabSize()));
        m.put(MODEL_FINGERPRINT, model.fingerprint());
        m.put(TOKENIZER, model.tokenizer().identity());
        m.put(INIT, init);
        m.putAll(taskMetadata(task));
        m.put(CREATED, Instant.now().toString());
        m.put(SOFTWARE, Version.software());
        m.values().removeIf(Objects::isNull);
        return m;
    }

    /**
     * Marks {@code meta} with the prompt's site: a deep prompt's depth, hidden size, layers and key/value
     * heads for this model (an input prompt's file needs none of these).
     */
    public static void markSite(Map<String, String> meta, PromptSite site, LoadedModel model) {
        if (site == PromptSite.INPUT) {
            return;
        }
        meta.put(DEPTH, site.depth());
        if (site.layers() > 0) {
            meta.put(LAYERS, Integer.toString(site.layers()));
        }
        if (!(site instanceof DeepSite)) {
            return;
        }
        meta.put(HIDDEN_SIZE, Integer.toString(model.lm().hiddenSize()));
        meta.put(PREFIX_LAYERS, Integer.toString(model.lm().attention().layers()));
        meta.put(PREFIX_KV_HEADS, Integer.toString(model.lm().attention().kvHeads()));
    }

    /**
     * A prompt to start from ({@code init_from}): a .sp file, or a PEFT adapter folder (a hub adapter's
     * cached snapshot included) read as the prompt it holds, a prefix adapter as a deep prompt.
     *
     * @param source the file or folder
     * @return the prompt
     */
    public static Prompt readSource(Path source) {
        if (!Files.isDirectory(source)) {
            return read(source);
        }
        if (!PeftAdapter.isAdapter(source)) {
            throw new UserException(source + ": a folder that is not a PEFT adapter (no " + PeftAdapter.CONFIG + ")");
        }
        PeftAdapter.Adapter a = PeftAdapter.read(source);
        Map<String, String> meta = new LinkedHashMap<>(a.metadata());
        if (a.deep()) {
            meta.put(DEPTH, DEEP);
        } else {
            meta.remove(DEPTH);
        }
        return new Prompt(a.values(), a.tokens(), a.dim(), meta);
    }

    /** Writes atomically: temp file + rename. The "format" and "format_version" keys are set here. */
    public static void write(Path file, Prompt prompt) throws IOException {
        AtomicFiles.write(file, writer(prompt));
    }

    /** The whole .sp file of a prompt, for a writer that makes the write atomic ({@code Outputs}). */
    public static AtomicFiles.Writer writer(Prompt prompt) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(FORMAT, FORMAT_NAME);
        meta.put(FORMAT_VERSION, VERSION);
        meta.putAll(prompt.metadata());
        meta.put(FORMAT, FORMAT_NAME);
        meta.put(FORMAT_VERSION, VERSION);
        meta.put(NUM_TOKENS, Integer.toString(prompt.tokens()));   // the tensor's shape, whatever a source said
        PromptSite site = prompt.site();
        meta.remove(LAYERS);
        if (site.layers() > 0) {
            meta.put(FORMAT_VERSION, LAYERS_VERSION);
            meta.put(DEPTH, site.depth());
            meta.put(LAYERS, Integer.toString(site.layers()));
        }
        if (site instanceof DeepSite) {
            meta.put(FORMAT_VERSION, site.layers() > 0 ? LAYERS_VERSION : DEEP_VERSION);
            meta.put(PREFIX_WIDTH, Integer.toString(prompt.hidden()));
        } else {
            if (site == PromptSite.INPUT) {
                meta.remove(DEPTH);
            }
            meta.remove(PREFIX_WIDTH);
            meta.remove(PREFIX_LAYERS);
            meta.remove(PREFIX_KV_HEADS);
            meta.put(HIDDEN_SIZE, Integer.toString(prompt.hidden()));
        }
        Map<String, SafetensorsWriter.Tensor> tensors = new LinkedHashMap<>();
        tensors.put(TENSOR, SafetensorsWriter.Tensor.f32(prompt.values(), prompt.tokens(), prompt.hidden()));
        return out -> SafetensorsWriter.write(out, tensors, meta);
    }

    /** A required decimal-integer key that must equal a dimension of the tensor. */
    private static void requireDimension(Path file, Map<String, String> meta, String key, long dim, long[] shape) {
        String v = meta.get(key);
        if (v == null) {
            throw new UserException(file + ": no '" + key + "' metadata key (docs/FORMAT.md)");
        }
        if (!v.matches("[0-9]{1,9}")) {
            throw new UserException(file + ": metadata " + key + " is not a decimal integer");
        }
        if (Long.parseLong(v) != dim) {
            throw new UserException(file + ": metadata " + key + " " + v + " contradicts the tensor's shape "
                    + Arrays.toString(shape));
        }
    }

    /**
     * Reads and checks a .sp file against docs/FORMAT.md: the container (header, offsets, string
     * metadata), the format key and major version, the tensor's rank and values, and the metadata that
     * must agree with its shape. The task and the model it fits are checked where it is used.
     */
    public static Prompt read(Path file) {
        SafetensorsFile f = SafetensorsFile.open(file);
        Map<String, String> meta = f.metadata();
        String format = meta.get(FORMAT);
        if (format == null) {
            throw new UserException(file + ": not a softprompt file (no 'format' metadata key; docs/FORMAT.md)");
        }
        if (!FORMAT_NAME.equals(format)) {
            throw new UserException(file + ": not a softprompt file (format '" + format + "'"
                    + ("pt".equals(format) ? ": PEFT adapter weights? softprompt import reads the adapter folder" : "") + ")");
        }
        String version = meta.get(FORMAT_VERSION);
        if (version != null) {
            int major;
            try {
                major = Integer.parseInt(version.split("\\.")[0]);
            } catch (NumberFormatException e) {
                throw new UserException(file + ": malformed format_version " + UserException.quote(version));
            }
            if (major > MAJOR) {
                throw new UserException(file + ": format version " + UserException.quote(version) + " is newer than this softprompt reads ("
                        + VERSION + "); upgrade softprompt");
            }
        }
        if (!f.contains(TENSOR)) {
            throw new UserException(file + ": no '" + TENSOR + "' tensor (tensors: " + f.names() + ")");
        }
        long[] shape = f.info(TENSOR).shape();
        if (shape.length != 2 || shape[0] < 1 || shape[1] < 1) {
            throw new UserException(file + ": '" + TENSOR + "' must be 2-D [N, D], found " + Arrays.toString(shape));
        }
        float[] values = f.readFloats(TENSOR);
        for (float v : values) {
            if (!Float.isFinite(v)) {
                throw new UserException(file + ": '" + TENSOR + "' holds non-finite values (NaN or Inf)");
            }
        }
        requireDimension(file, meta, NUM_TOKENS, shape[0], shape);
        String depth = meta.getOrDefault(DEPTH, "input");
        if (depth.equals("partial") || depth.equals("late")) { // the top layers it reaches
            String k = meta.get(LAYERS);
            if (k == null || !k.matches("[0-9]{1,9}") || Integer.parseInt(k) < 1) {
                throw new UserException(file + ": a " + depth + " prompt needs '" + LAYERS + "', a positive decimal integer");
            }
        }
        if (depth.equals(DEEP) || depth.equals("partial")) { // [N, L·2·Hkv·K]; hidden_size is the model's D
            requireDimension(file, meta, PREFIX_WIDTH, shape[1], shape);
            String d = meta.get(HIDDEN_SIZE);
            if (d == null || !d.matches("[0-9]{1,9}")) {
                throw new UserException(file + ": a deep prompt needs the model's hidden_size as a decimal integer");
            }
        } else if (depth.equals("input") || depth.equals("late")) {
            requireDimension(file, meta, HIDDEN_SIZE, shape[1], shape);
        } else {
            throw new UserException(file + ": prompt_depth " + UserException.quote(depth) + " is not input, deep, partial or late");
        }
        return new Prompt(values, (int) shape[0], (int) shape[1], meta);
    }
}
