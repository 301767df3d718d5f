package io.softprompt.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.softprompt.train.TrainConfig;
import io.softprompt.util.Key;
import java.util.List;
import picocli.CommandLine.IModelTransformer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * The training flags, generated ({@link KeyFlags}): one option per {@link TrainConfig} key that
 * {@link Key#flag()} says is a flag ({@code batch_size} is {@code --batch-size}), with the key's type,
 * label, help and aliases, added to the train command's model when picocli builds it. Their defaults are
 * {@link TrainConfig#defaults()} (shown in the help by {@link Defaults}), so the library and the
 * command line cannot disagree; only the flags the user gave are read back ({@link #given}), over the
 * defaults and any --config file. A key declared in TrainConfig is a flag without a line here.
 */
public final class TrainFlags implements IModelTransformer {
    @Override
    public CommandSpec transform(CommandSpec spec) {
        return KeyFlags.addTo(spec, TrainConfig.class);
    }

    /** The options of every flag key, in the declarations' order. */
    static List<OptionSpec> options() {
        return KeyFlags.options(TrainConfig.class);
    }

    /** The training keys the user set on the command line (any mixin's option named like a key, --model too). */
    static ObjectNode given(ParseResult parsed) {
        return KeyFlags.given(parsed, TrainConfig.keys());
    }

    /** --batch-size → batch_size. */
    static String key(OptionSpec o) {
        return KeyFlags.key(o);
    }

    /** The help's defaults, from {@link TrainConfig#defaults()}. */
    public static final class Defaults extends KeyFlags.RecordDefaults {
        public Defaults() {
            super(() -> TrainConfig.defaults());
        }
    }
}
