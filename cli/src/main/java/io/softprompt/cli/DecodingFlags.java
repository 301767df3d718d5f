package io.softprompt.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.softprompt.scoring.Decoding;
import io.softprompt.util.Keys;
import io.softprompt.util.UserException;
import java.security.SecureRandom;
import java.util.List;
import picocli.CommandLine.IModelTransformer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParseResult;

/**
 * How infer generates, as flags generated from {@link Decoding}'s declarations ({@link KeyFlags}):
 * greedy by default, or sampled; transformers' names ({@code --do-sample}, {@code --top-k}). The same
 * declarations name a serve item's fields and give Spark its default, so the three cannot disagree.
 */
public final class DecodingFlags implements IModelTransformer {
    @Override
    public CommandSpec transform(CommandSpec spec) {
        return KeyFlags.addTo(spec, Decoding.class);
    }

    /** The settings, checked: the defaults with the flags given over them; a fresh seed when sampling without --seed. */
    static Decoding decoding(ParseResult parsed) {
        ObjectNode given = KeyFlags.given(parsed, Keys.keys(Decoding.class));
        if (given.path("do_sample").asBoolean(false) && !given.has("seed")) {
            given.put("seed", new SecureRandom().nextLong());
        }
        Decoding d = KeyFlags.overlay(Decoding.DEFAULTS, given, Decoding.class);
        if (!d.sample() && List.of("seed", "temperature", "top_k", "top_p").stream().anyMatch(given::has)) {
            throw new UserException("--temperature, --top-k, --top-p and --seed apply to sampling: add --do-sample");
        }
        return d;
    }

    /** Whether any decoding flag was given (they apply when generating). */
    static boolean anyGiven(ParseResult parsed) {
        return !KeyFlags.given(parsed, Keys.keys(Decoding.class)).isEmpty();
    }

    /** The help's defaults: {@link Decoding#DEFAULTS}. */
    public static final class Defaults extends KeyFlags.RecordDefaults {
        public Defaults() {
            super(() -> Decoding.DEFAULTS);
        }
    }
}
