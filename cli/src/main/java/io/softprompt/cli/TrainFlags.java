package io.softprompt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.softprompt.train.Key;
import io.softprompt.train.TrainConfig;
import io.softprompt.util.Json;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.IModelTransformer;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * The training flags, generated: one option per {@link TrainConfig} key that {@link Key#flag()} says is
 * a flag ({@code batch_size} is {@code --batch-size}), with the key's type, label, help and aliases,
 * added to the train command's model when picocli builds it. Their defaults are
 * {@link TrainConfig#defaults()} (shown in the help by {@link Defaults}), so the library and the
 * command line cannot disagree; only the flags the user gave are read back ({@link #given}), over the
 * defaults and any --config file. A key declared in TrainConfig is a flag without a line here.
 */
public final class TrainFlags implements IModelTransformer {
    @Override
    public CommandSpec transform(CommandSpec spec) {
        for (OptionSpec o : options()) {
            spec.addOption(o);
        }
        return spec;
    }

    /** The options of every flag key, in the declarations' order. */
    static List<OptionSpec> options() {
        List<OptionSpec> out = new ArrayList<>();
        for (RecordComponent c : TrainConfig.declarations()) {
            Key k = c.getAnnotation(Key.class);
            if (!k.flag()) {
                continue;
            }
            List<String> names = new ArrayList<>(List.of(k.aliases()));
            names.add(Flags.flag(TrainConfig.key(c)));
            Class<?> type = c.getType();
            OptionSpec.Builder b = OptionSpec.builder(names.toArray(String[]::new)).type(type).description(Flags.render(k.help()))
                    .hidden(k.hidden());
            if (type == boolean.class) {
                b.arity("0");
            } else {
                b.paramLabel(k.label().isEmpty() ? "VALUE" : k.label());
            }
            out.add(b.build());
        }
        return out;
    }

    /** The training keys the user set on the command line (any mixin's option named like a key, --model too). */
    static ObjectNode given(ParseResult parsed) {
        ObjectNode n = Json.MAPPER.createObjectNode();
        Set<String> keys = TrainConfig.keys();
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

    /** --batch-size → batch_size. */
    static String key(OptionSpec o) {
        return o.longestName().replaceFirst("^--?", "").replace('-', '_');
    }

    /** The help's defaults, from {@link TrainConfig#defaults()}. */
    public static final class Defaults implements IDefaultValueProvider {
        /** Built on first use (picocli makes the provider with the command tree; --version never asks it). */
        private static final class Table {
            static final JsonNode DEFAULTS = Json.MAPPER.valueToTree(TrainConfig.defaults());
        }

        @Override
        public String defaultValue(ArgSpec arg) {
            if (!(arg instanceof OptionSpec o)) {
                return null;
            }
            JsonNode v = Table.DEFAULTS.get(key(o));
            return v == null || v.isNull() ? null : v.asText();
        }
    }
}
