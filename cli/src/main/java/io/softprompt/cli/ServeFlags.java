package io.softprompt.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.softprompt.serve.ServeSettings;
import io.softprompt.util.Keys;
import picocli.CommandLine.IModelTransformer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParseResult;

/**
 * serve's flags, generated from {@link ServeSettings}' declarations ({@link KeyFlags}): their types,
 * labels, help and defaults are the record's, so the library and the command line cannot disagree.
 * {@code prefix_cache} and {@code token} are set by hand-written flags ({@code --no-prefix-cache},
 * {@code --token-file}, which reads the token from a file).
 */
public final class ServeFlags implements IModelTransformer {
    @Override
    public CommandSpec transform(CommandSpec spec) {
        return KeyFlags.addTo(spec, ServeSettings.class);
    }

    /**
     * The settings: the defaults, the flags the user gave over them, then the two set by hand; one
     * record validates the whole (its messages name keys, shown as flags).
     */
    static ServeSettings settings(ParseResult parsed, boolean prefixCache, String token) {
        ObjectNode given = KeyFlags.given(parsed, Keys.keys(ServeSettings.class));
        given.put("prefix_cache", prefixCache);
        given.put("token", token);
        return KeyFlags.overlay(ServeSettings.DEFAULTS, given, ServeSettings.class);
    }

    /** The help's defaults: {@link ServeSettings#DEFAULTS}. */
    public static final class Defaults extends KeyFlags.RecordDefaults {
        public Defaults() {
            super(() -> ServeSettings.DEFAULTS);
        }
    }
}
