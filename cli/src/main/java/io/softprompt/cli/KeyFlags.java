package io.softprompt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.softprompt.util.Json;
import io.softprompt.util.Key;
import io.softprompt.util.Keys;
import io.softprompt.util.UserException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * A settings record's flags, generated from its {@link Key} declarations: one option per key that
 * {@link Key#flag()} says is a flag ({@code max_batch} is {@code --max-batch}), with the key's type,
 * label, help and aliases; the help's defaults from the record's declared defaults; and the keys the
 * user set on the command line read back as JSON, over the defaults. The training flags
 * ({@link TrainFlags}) and serve's ({@link ServeFlags}) are made this way: a key is a flag without a
 * line of its own in a command.
 */
final class KeyFlags {
    private KeyFlags() {}

    /** The options of every flag key of {@code type}, in the declarations' order. */
    static List<OptionSpec> options(Class<? extends Record> type) {
        List<OptionSpec> out = new ArrayList<>();
        for (RecordComponent c : Keys.declarations(type)) {
            Key k = c.getAnnotation(Key.class);
            if (!k.flag()) {
                continue;
            }
            List<String> names = new ArrayList<>();
            List<String> spellings = new ArrayList<>(); // another tool's long name: its own hidden option, so that
            for (String a : k.aliases()) {             // messages about the flag name the flag itself
                (a.startsWith("--") ? spellings : names).add(a);
            }
            names.add(Flags.flag(Keys.key(c)));
            Class<?> t = c.getType();
            for (String spelling : spellings) {
                out.add(option(OptionSpec.builder(spelling).hidden(true), c, k, t));
            }
            OptionSpec.Builder b = OptionSpec.builder(names.toArray(String[]::new)).hidden(k.hidden());
            out.add(option(b, c, k, t));
        }
        return out;
    }

    /** An option of key {@code c}: its type, help and label; the key rides on it (whichever name was given). */
    private static OptionSpec option(OptionSpec.Builder b, RecordComponent c, Key k, Class<?> t) {
        b.type(t).description(Flags.render(k.help())).userObject(Keys.key(c));
        if (t == boolean.class) {
            b.arity("0");
        } else if (t == List.class) { // a repeatable option: each occurrence one string
            b.auxiliaryTypes(String.class).paramLabel(k.label().isEmpty() ? "VALUE" : k.label());
        } else {
            b.paramLabel(k.label().isEmpty() ? "VALUE" : k.label());
        }
        return b.build();
    }

    /** The keys among {@code keys} the user set on the command line (any option named like a key). */
    static ObjectNode given(ParseResult parsed, Set<String> keys) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        for (OptionSpec o : parsed.matchedOptions()) {
            String key = key(o);
            if (keys.contains(key)) {
                Object v = o.getValue();
                JsonNode value = v instanceof Path p ? Json.MAPPER.getNodeFactory().textNode(p.toString())
                        : Json.MAPPER.valueToTree(v);
                n.set(key, value);
            }
        }
        return n;
    }

    /**
     * A settings record from its defaults with {@code given} keys set over them, validated by the record
     * itself: its own refusal (a {@link UserException} naming the key) comes out as it is.
     */
    static <R extends Record> R overlay(R defaults, ObjectNode given, Class<R> type) {
        ObjectNode n = Json.MAPPER.valueToTree(defaults);
        n.setAll(given);
        try {
            return Json.MAPPER.treeToValue(n, type);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof UserException u) {
                    throw u;
                }
            }
            throw new IllegalStateException(type.getSimpleName() + ": " + e.getOriginalMessage(), e);
        }
    }

    /** --batch-size → batch_size. */
    static String key(OptionSpec o) {
        if (o.userObject() instanceof String key) {
            return key;
        }
        return o.longestName().replaceFirst("^--?", "").replace('-', '_');
    }

    /** Adds the options of every flag key of {@code type} to a command (a command's model transformer). */
    static CommandSpec addTo(CommandSpec spec, Class<? extends Record> type) {
        for (OptionSpec o : options(type)) {
            spec.addOption(o);
        }
        return spec;
    }

    /**
     * The help's defaults of a settings record, made into JSON on first use (picocli makes a provider
     * with the command tree; --version never asks it): a command's provider is a subclass naming them.
     */
    abstract static class RecordDefaults implements IDefaultValueProvider {
        private final Supplier<? extends Record> defaults;
        private JsonNode table;

        RecordDefaults(Supplier<? extends Record> defaults) {
            this.defaults = defaults;
        }

        @Override
        public synchronized String defaultValue(ArgSpec arg) {
            if (table == null) {
                table = Json.MAPPER.valueToTree(defaults.get());
            }
            return KeyFlags.defaultValue(table, arg);
        }
    }

    /** The help's default of an option, from {@code defaults} (a settings record as JSON); null: none. */
    static String defaultValue(JsonNode defaults, ArgSpec arg) {
        if (!(arg instanceof OptionSpec o)) {
            return null;
        }
        JsonNode v = defaults.get(key(o));
        return v == null || v.isNull() || v.isContainerNode() ? null : v.asText();
    }
}
