package io.softprompt.prompt;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.data.Task;
import io.softprompt.loader.LoadedModel;
import io.softprompt.model.PromptSite;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A learned prompt: N×D float32 values (row-major) and the metadata that travels with it in the .sp
 * file (see {@link PromptFile} for the keys).
 *
 * @param values the prompt [N·D], row-major
 * @param tokens N
 * @param hidden D
 * @param metadata the .sp metadata (copied)
 * @serial exclude
 */
public record Prompt(float[] values, int tokens, int hidden, Map<String, String> metadata) implements Serializable {
    private static final long serialVersionUID = 1L;

    /**
     * Checks the values fit N × D and copies the metadata.
     *
     * @param values the prompt [N·D], row-major
     * @param tokens N
     * @param hidden D
     * @param metadata the .sp metadata
     */
    public Prompt {
        if (values.length != tokens * hidden) {
            throw new IllegalArgumentException("values do not match " + tokens + "x" + hidden);
        }
        metadata = Map.copyOf(metadata);
    }

    /**
     * A metadata value.
     *
     * @param key a {@link PromptFile} key
     * @return its value, or null
     */
    public String meta(String key) {
        return metadata.get(key);
    }

    /**
     * The task (template, verbalizer) the prompt was trained for, from its metadata.
     *
     * @param source how errors name the prompt
     * @return the task
     */
    public Task task(String source) {
        String name = meta(PromptFile.TASK);
        String template = meta(PromptFile.TEMPLATE);
        String verbalizer = meta(PromptFile.VERBALIZER);
        if (name == null || template == null || verbalizer == null) {
            throw new UserException(source + ": prompt file has no task metadata (task, template, verbalizer)");
        }
        try {
            LinkedHashMap<String, String> v = Json.MAPPER.readValue(verbalizer,
                    new TypeReference<LinkedHashMap<String, String>>() {});
            String textColumn = meta(PromptFile.TEXT_COLUMN);
            String labelColumn = meta(PromptFile.LABEL_COLUMN);
            String vars = meta(PromptFile.CHAT_VARIABLES);
            LinkedHashMap<String, Object> chatVars = null;
            if (vars != null) {
                try {
                    chatVars = Json.MAPPER.readValue(vars, new TypeReference<LinkedHashMap<String, Object>>() {});
                } catch (JsonProcessingException e) {
                    throw new UserException(source + ": metadata 'chat_variables' is not a JSON object");
                }
            }
            return new Task(name, template, textColumn, labelColumn, v, null, null, null, null, meta(PromptFile.TASK_TYPE),
                    meta(PromptFile.TARGET_COLUMN), "true".equals(meta(PromptFile.CHAT)), meta(PromptFile.SYSTEM), chatVars)
                    .validated(source);
        } catch (JsonProcessingException e) {
            throw new UserException(source + ": metadata 'verbalizer' is not a JSON object");
        }
    }

    /**
     * Where the prompt enters the model, as the file's {@code depth} says: a deep prompt's values are
     * [N, L·2·Hkv·K], a key/value prefix in every layer in PEFT's layout; an input prompt's N vectors in
     * front of the input [N, D] (also a file from before depth existed).
     *
     * @return the site
     */
    public PromptSite site() {
        return PromptFile.site(metadata);
    }

    /**
     * Refuses a deep prompt where only an input prompt can go, in one line.
     *
     * @param source how the prompt is named
     * @param what what cannot take it
     */
    public void requireInput(String source, String what) {
        if (site() != PromptSite.INPUT) {
            throw new UserException(source + ": a " + site().noun() + (site() == PromptSite.DEEP ? " (a key/value prefix in every layer)" : "")
                    + "; " + what + " takes input prompts only, so far");
        }
    }

    /**
     * Refuses a prompt that cannot belong to this model: hidden size always, the embedding fingerprint
     * unless {@code force}.
     *
     * @param model the model
     * @param source how errors name the prompt
     * @param force accept another model's fingerprint
     */
    public void checkFits(LoadedModel model, String source, boolean force) {
        int w = site().width(model.lm());
        if (hidden != w) {
            throw new UserException(source + (site() == PromptSite.INPUT
                    ? ": prompt hidden size " + hidden + " does not match model " + model.name() + " (hidden size " + w + ")"
                    : ": deep prompt width " + hidden + " does not match model " + model.name()
                            + " (layers·2·key/value heads·head size = " + w + ")"));
        }
        if (site() == PromptSite.DEEP) { // the layout export writes into PEFT's config: the file's word is checked
            int[] actual = {model.lm().attention().layers(), model.lm().attention().kvHeads()};
            String[] keys = {PromptFile.PREFIX_LAYERS, PromptFile.PREFIX_KV_HEADS};
            for (int i = 0; i < keys.length; i++) {
                String v = meta(keys[i]);
                if (v != null && !v.equals(Integer.toString(actual[i]))) {
                    throw new UserException(source + ": its " + keys[i] + " " + UserException.quote(v) + " is not model "
                            + model.name() + "'s " + actual[i] + " (a damaged or edited file)");
                }
            }
        }
        String fp = meta(PromptFile.MODEL_FINGERPRINT);
        if (!force && fp != null && !fp.equals(model.fingerprint())) {
            throw new UserException(source + ": prompt was trained on another base model (fingerprint " + fp
                    + ", model " + model.name() + " has " + model.fingerprint() + "); {{any_model}} to use it anyway");
        }
    }

    /**
     * The max_length recorded in the prompt's training configuration, else {@code fallback}.
     *
     * @param fallback the length when none is recorded
     * @return the length
     */
    public int trainedMaxLength(int fallback) {
        String cfg = meta(PromptFile.TRAIN_CONFIG);
        if (cfg != null) {
            try {
                JsonNode node = Json.MAPPER.readTree(cfg).get("max_length");
                if (node != null && node.canConvertToInt()) {
                    return node.asInt();
                }
            } catch (IOException ignored) {
                // an unreadable train_config: the fallback
            }
        }
        return fallback;
    }

    /**
     * A value of the prompt's training configuration (e.g. "dev"), or null.
     *
     * @param key a training key
     * @return its text value, or null
     */
    public String trainedValue(String key) {
        String cfg = meta(PromptFile.TRAIN_CONFIG);
        if (cfg == null) {
            return null;
        }
        try {
            JsonNode node = Json.MAPPER.readTree(cfg).get(key);
            return node == null || !node.isTextual() ? null : node.asText();
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * This prompt with more metadata.
     *
     * @param extra keys to add or replace
     * @return the new prompt
     */
    public Prompt withMetadata(Map<String, String> extra) {
        Map<String, String> m = new LinkedHashMap<>(metadata);
        m.putAll(extra);
        return new Prompt(values, tokens, hidden, m);
    }
}
