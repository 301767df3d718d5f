package io.softprompt.data;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A classification task: how to turn a row into text, and which word stands for each label.
 * Defined in JSON (configs/sst2.json is the built-in one):
 *
 * <pre>{"name": "sst2", "template": "{sentence} It was", "text_column": "sentence",
 *  "label_column": "label", "verbalizer": {"0": " negative", "1": " positive"},
 *  "train": "../data/samples/sst2/train.tsv", "dev": "../data/samples/sst2/dev.tsv"}</pre>
 *
 * Class order is the verbalizer's key order. Data paths are relative to the task file.
 *
 * <p>A text-to-text task ({@code "type": "text-to-text"}) has no verbalizer: each row has an input
 * ({@code text_column}, default "input") and a target ({@code target_column}, default "target"), in
 * JSON lines ({@code .jsonl}) or TSV; the model learns to generate the target and is scored by exact
 * match.
 *
 * <p>A task may ask for the model's chat template ({@code "chat": true}, or {@code --chat}): the
 * template's text becomes the user message (after {@code "system"} when given), the assistant's turn is
 * opened, and the label word or the target is what follows. {@code "chat_variables"} are further template
 * variables ({@code {"enable_thinking": false}}).
 */
public record Task(
        @JsonProperty(value = "name", required = true) String name,
        @JsonProperty(value = "template", required = true) String template,
        @JsonProperty("text_column") String textColumn,
        @JsonProperty("label_column") String labelColumn,
        @JsonProperty("verbalizer") LinkedHashMap<String, String> verbalizer,
        @JsonProperty("train") String train,
        @JsonProperty("dev") String dev,
        @JsonProperty("description") String description,
        @JsonIgnore Path baseDir,
        @JsonProperty("type") String type,
        @JsonProperty("target_column") String targetColumn,
        @JsonProperty("chat") Boolean chat,
        @JsonProperty("system") String system,
        @JsonProperty("chat_variables") LinkedHashMap<String, Object> chatVariables) {

    public static final String CLASSIFICATION = "classification";
    public static final String TEXT_TO_TEXT = "text-to-text";

    public Task {
        type = type == null ? CLASSIFICATION : type;
        boolean t2t = TEXT_TO_TEXT.equals(type);
        textColumn = textColumn == null ? (t2t ? "input" : "sentence") : textColumn;
        labelColumn = labelColumn == null ? "label" : labelColumn;
        targetColumn = targetColumn == null ? "target" : targetColumn;
        verbalizer = verbalizer == null ? new LinkedHashMap<>() : verbalizer;
        chat = Boolean.TRUE.equals(chat);
        chatVariables = chatVariables == null ? new LinkedHashMap<>() : chatVariables;
    }

    /** A task of either type without chat framing. */
    public Task(String name, String template, String textColumn, String labelColumn, LinkedHashMap<String, String> verbalizer,
            String train, String dev, String description, Path baseDir, String type, String targetColumn) {
        this(name, template, textColumn, labelColumn, verbalizer, train, dev, description, baseDir, type, targetColumn,
                null, null, null);
    }

    /** A classification task (the common case) without the text-to-text fields. */
    public Task(String name, String template, String textColumn, String labelColumn,
            LinkedHashMap<String, String> verbalizer, String train, String dev, String description, Path baseDir) {
        this(name, template, textColumn, labelColumn, verbalizer, train, dev, description, baseDir, null, null);
    }

    /**
     * This task reading other columns: {@code text} (its template's placeholder renamed with it) and
     * {@code label} (a text-to-text task's target column); null keeps the task's own.
     *
     * @param text the text column, or null
     * @param label the label (or target) column, or null
     * @return the task with those columns
     */
    public Task withColumns(String text, String label) {
        if (text == null && label == null) {
            return this;
        }
        String t = text == null ? textColumn : text;
        String tpl = template == null ? null : template.replace("{" + textColumn + "}", "{" + t + "}");
        boolean t2t = textToText();
        return new Task(name, tpl, t, !t2t && label != null ? label : labelColumn, verbalizer, train, dev, description, baseDir,
                type, t2t && label != null ? label : targetColumn, chat, system, chatVariables)
                .validated("task " + name + " with its columns");
    }

    /**
     * This task framed by the model's chat template ({@code --chat}): its template becomes the user
     * message, after the system message when one is given.
     *
     * @param systemMessage the system message, or null to keep the task's own
     * @return the task, framed as a chat
     */
    public Task withChat(String systemMessage) {
        return new Task(name, template, textColumn, labelColumn, verbalizer, train, dev, description, baseDir, type,
                targetColumn, true, systemMessage != null ? systemMessage : system, chatVariables).validated("task " + name);
    }

    /**
     * This task as the {@code chat} and {@code system} settings frame it: a chat when either asks for
     * one or the task is one; a system message without a chat is refused.
     *
     * @param chat whether {@code chat} is set
     * @param systemMessage the {@code system} setting, or null
     * @return the task
     */
    public Task framed(boolean chat, String systemMessage) {
        if (systemMessage != null && !chat && !chatFramed()) {
            throw new UserException("{{system}} is a chat's system message: add {{chat}} (or use a task with \"chat\": true)");
        }
        return chat || systemMessage != null ? withChat(systemMessage) : this;
    }

    /** Whether rows are framed by the model's chat template (the template is the user message). */
    public boolean chatFramed() {
        return Boolean.TRUE.equals(chat);
    }

    /** Whether the task maps input text to target text (metric: exact match) rather than to a label. */
    public boolean textToText() {
        return TEXT_TO_TEXT.equals(type);
    }

    /** Names of the built-in tasks shipped in configs/ (and on the classpath). */
    public static final List<String> BUILT_IN = List.of("sst2");

    /** A task by built-in name or JSON path. Built-ins are read from ./configs first, then the jar. */
    public static Task resolve(String nameOrPath) {
        Path p = Path.of(nameOrPath);
        if (nameOrPath.endsWith(".json") || Files.isRegularFile(p)) {
            if (!Files.isRegularFile(p)) {
                throw new UserException("{{task}}: file not found: " + UserException.quote(nameOrPath));
            }
            return load(p);
        }
        Path local = Path.of("configs", nameOrPath + ".json");
        if (Files.isRegularFile(local)) {
            return load(local);
        }
        if (BUILT_IN.contains(nameOrPath)) {
            return BuiltIn.task(nameOrPath);
        }
        throw new UserException("{{task}}: unknown task " + UserException.quote(nameOrPath) + " (built-in: " + String.join(", ", BUILT_IN)
                + "; or a path to a task .json)");
    }

    public static Task load(Path file) {
        Task t = Json.read(Json.STRICT, file, Task.class);
        return t.withBaseDir(file.toAbsolutePath().getParent()).validated(file.toString());
    }

    static Task parse(InputStream in, String source, Path baseDir) throws IOException {
        Task t = Json.STRICT.readValue(in, Task.class);
        return t.withBaseDir(baseDir).validated(source);
    }

    Task withBaseDir(Path dir) {
        return new Task(name, template, textColumn, labelColumn, verbalizer, train, dev, description, dir, type,
                targetColumn, chat, system, chatVariables);
    }

    /** A name that becomes a file name (the default output, run folders, served task names) as it is. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    /**
     * Checks the name is a plain file-name-safe identifier (it becomes {@code NAME.sp} and
     * {@code NAME.run/}: no '/', no "..", no control characters), the template names the text column
     * and the verbalizer has at least two non-empty words.
     */
    public Task validated(String source) {
        if (name == null || !NAME.matcher(name).matches() || name.contains("..")) {
            throw new UserException(source + ": task name " + (name == null ? "null" : Json.write(name.length() > 60 ? name.substring(0, 60) + "…" : name)) + " is not a plain "
                    + "name (letters, digits, '.', '_' or '-', at most 128, no '..'): it becomes a file name");
        }
        if (template == null) {
            throw new UserException(source + ": no template");
        }
        if (textColumn.isEmpty() || labelColumn.isEmpty() || targetColumn.isEmpty()) {
            throw new UserException(source + ": column names must not be empty");
        }
        if (!template.contains("{" + textColumn + "}")) {
            throw new UserException(source + ": template " + UserException.quote(template) + " has no "
                    + UserException.quote("{" + textColumn + "}") + " placeholder");
        }
        if (!chatFramed() && (system != null || !chatVariables.isEmpty())) {
            throw new UserException(source + ": " + (system != null ? "system" : "chat_variables")
                    + " frames a chat: it needs \"chat\": true (or --chat)");
        }
        for (String reserved : List.of("messages", "add_generation_prompt", "bos_token", "eos_token", "tools")) {
            if (chatVariables.containsKey(reserved)) {
                throw new UserException(source + ": chat_variables cannot set " + reserved + ": softprompt sets it");
            }
        }
        if (!CLASSIFICATION.equals(type) && !TEXT_TO_TEXT.equals(type)) {
            throw new UserException(source + ": type " + UserException.quote(type) + " is not one of " + CLASSIFICATION + ", " + TEXT_TO_TEXT);
        }
        if (textToText()) {
            if (!verbalizer.isEmpty()) {
                throw new UserException(source + ": a text-to-text task has targets, not a verbalizer");
            }
            return this;
        }
        if (verbalizer.size() < 2) {
            throw new UserException(source + ": verbalizer needs at least two labels");
        }
        for (var e : verbalizer.entrySet()) {
            if (e.getValue() == null || e.getValue().isBlank()) {
                throw new UserException(source + ": verbalizer word for label " + UserException.quote(e.getKey()) + " is empty");
            }
        }
        return this;
    }

    public List<String> labels() {
        return new ArrayList<>(verbalizer.keySet());
    }

    public List<String> words() {
        return new ArrayList<>(verbalizer.values());
    }

    /** Class index of a label string, or -1. */
    public int classOf(String label) {
        int i = 0;
        for (String k : verbalizer.keySet()) {
            if (k.equals(label)) {
                return i;
            }
            i++;
        }
        return -1;
    }

    /** Text before the placeholder. */
    public String prefix() {
        return template.substring(0, template.indexOf("{" + textColumn + "}"));
    }

    /** Text after the placeholder. */
    public String suffix() {
        return template.substring(template.indexOf("{" + textColumn + "}") + textColumn.length() + 2);
    }

    /** The train or dev data source named in the task file, or null. */
    public DataSource defaultData(boolean trainSplit) {
        String rel = trainSplit ? train : dev;
        if (rel == null) {
            return null;
        }
        if (baseDir == null) {
            return BuiltIn.data(name, rel);
        }
        return DataSource.file(baseDir.resolve(rel).normalize());
    }

    /** The task as it goes into .sp metadata. */
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("template", template);
        m.put("text_column", textColumn);
        m.put("label_column", labelColumn);
        m.put("verbalizer", verbalizer);
        m.put("type", type);
        m.put("target_column", targetColumn);
        if (chatFramed()) {
            m.put("chat", true);
            if (system != null) {
                m.put("system", system);
            }
            if (!chatVariables.isEmpty()) {
                m.put("chat_variables", chatVariables);
            }
        }
        return m;
    }
}
