package io.softprompt.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jinjava.javax.el.CompositeELResolver;

/**
 * A model's own chat template ({@code chat_template.jinja}, or {@code chat_template} in
 * tokenizer_config.json) rendered as transformers renders it ({@code apply_chat_template(...,
 * tokenize=False)}: jinja2 with trim_blocks and lstrip_blocks, the special tokens' texts as variables,
 * {@code raise_exception}, {@code tojson}), by jinjava with Python's string methods and step slices
 * added ({@link PyStrings}, {@link ChatFunctions}). Messages are data: their text is never parsed as
 * template code. A template's refusal or error is one line naming where the template came from.
 *
 * @param source the template text as written
 * @param origin where it came from (a file), for messages
 * @param tokens the special tokens' texts by name (bos_token, eos_token, ...), as template variables
 */
public record ChatTemplate(String source, String origin, Map<String, String> tokens) {
    private static final int MAX_OUTPUT = 4 << 20;
    private static final List<String> TOKEN_NAMES = List.of("bos_token", "eos_token", "unk_token", "pad_token",
            "sep_token", "cls_token", "mask_token");

    public ChatTemplate {
        for (boolean filters : new boolean[] {true, false}) {
            for (String name : JinjaSource.names(source, filters)) {
                boolean known = filters ? Engine.JINJAVA.getGlobalContext().getFilter(name) != null
                        : Engine.JINJAVA.getGlobalContext().getExpTest(name) != null;
                if (!known) { // jinjava would pass the value through unchanged: a wrong rendering, never a silent one
                    throw new UserException(origin + ": the chat template uses the " + (filters ? "filter" : "test") + " '"
                            + name + "', which softprompt's Jinja engine (jinjava) does not have");
                }
            }
        }
    }

    /** One message of a conversation. */
    public record Message(String role, String content) {}

    /**
     * The chat template a model folder carries, or null when it has none: {@code chat_template.jinja}
     * first, then tokenizer_config.json's {@code chat_template} (a string, or a list of named templates
     * of which the one named "default" is taken).
     *
     * @param modelDir the model folder
     * @return the template, or null
     */
    public static ChatTemplate find(Path modelDir) {
        JsonNode cfg = Specials.tokenizerConfig(modelDir);
        Map<String, String> tokens = new LinkedHashMap<>();
        for (String name : TOKEN_NAMES) {
            String t = Specials.tokenText(cfg, name, null);
            if (t != null) {
                tokens.put(name, t);
            }
        }
        Path file = modelDir.resolve("chat_template.jinja");
        if (Files.isRegularFile(file)) {
            try {
                return new ChatTemplate(Files.readString(file, StandardCharsets.UTF_8), file.toString(), tokens);
            } catch (IOException e) {
                throw new UserException(file + ": cannot read: " + io.softprompt.util.AtomicFiles.reason(e));
            }
        }
        JsonNode t = cfg.get("chat_template");
        String origin = modelDir.resolve("tokenizer_config.json") + " (chat_template)";
        if (t != null && t.isTextual()) {
            return new ChatTemplate(t.asText(), origin, tokens);
        }
        if (t != null && t.isArray()) {
            for (JsonNode named : t) {
                if ("default".equals(named.path("name").asText()) && named.path("template").isTextual()) {
                    return new ChatTemplate(named.path("template").asText(), origin, tokens);
                }
            }
            throw new UserException(origin + ": a list of templates with none named \"default\"");
        }
        if (t != null && !t.isNull()) {
            throw new UserException(origin + ": chat_template is neither text nor a list of named templates");
        }
        return null;
    }

    /**
     * The conversation rendered as the model's template writes it.
     *
     * @param messages the conversation, in order
     * @param addGenerationPrompt whether the assistant's turn is opened at the end
     * @param extra further template variables (enable_thinking, ...)
     * @return the rendered text
     * @throws UserException the template's refusal or error, in one line naming the template
     */
    public String render(List<Message> messages, boolean addGenerationPrompt, Map<String, Object> extra) {
        List<Map<String, Object>> msgs = new ArrayList<>();
        for (Message m : messages) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("role", m.role());
            x.put("content", m.content());
            msgs.add(x);
        }
        Map<String, Object> vars = new HashMap<>(tokens);
        vars.putAll(extra);
        vars.put("messages", msgs);
        vars.put("add_generation_prompt", addGenerationPrompt);
        RenderResult r;
        try {
            r = Engine.JINJAVA.renderForResult(JinjaSource.prepared(source), vars);
        } catch (ChatFunctions.Refusal e) {
            throw refusal(e.getMessage());
        } catch (RuntimeException e) {
            throw refusal(String.valueOf(e.getMessage()));
        }
        for (TemplateError e : r.getErrors()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                Throwable cause = e.getException();
                while (cause != null && !(cause instanceof ChatFunctions.Refusal)) {
                    cause = cause.getCause();
                }
                throw refusal(cause != null ? cause.getMessage() : e.getMessage());
            }
        }
        return r.getOutput();
    }

    private UserException refusal(String why) {
        String line = why == null ? "an error" : why.replaceAll("\\s+", " ").strip();
        return new UserException(origin + ": the chat template refuses: " + line);
    }

    /** The one engine: transformers' settings, Python's string methods, its functions and filters. */
    private static final class Engine {
        static final Jinjava JINJAVA = build();

        private static Jinjava build() {
            CompositeELResolver resolver = new CompositeELResolver();
            resolver.add(new PyStrings());
            resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
            JinjavaConfig cfg = JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true)
                    .withNestedInterpretationEnabled(false).withMaxOutputSize(MAX_OUTPUT).withMaxStringLength(MAX_OUTPUT)
                    .withElResolver(resolver).withFailOnUnknownTokens(false)
                    .withLegacyOverrides(com.hubspot.jinjava.LegacyOverrides.newBuilder()
                            .withUseTrimmingForNotesAndExpressions(true).withParseWhitespaceControlStrictly(true).build())
                    .build();
            Jinjava j = new Jinjava(cfg);
            try {
                j.registerFunction(new ELFunctionDefinition("", "raise_exception",
                        ChatFunctions.class.getMethod("raiseException", Object.class)));
                j.registerFunction(new ELFunctionDefinition("", "strftime_now",
                        ChatFunctions.class.getMethod("strftimeNow", String.class)));
                j.registerFunction(new ELFunctionDefinition("", "py_slice",
                        ChatFunctions.class.getMethod("pySlice", Object.class, Object.class, Object.class, Object.class)));
            } catch (NoSuchMethodException e) {
                throw new IllegalStateException(e);
            }
            j.registerFilter(new ChatFunctions.ToJson());
            j.registerFilter(new ChatFunctions.Trim());
            return j;
        }
    }
}
