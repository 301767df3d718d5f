package io.softprompt.cli;

import io.softprompt.scoring.Decoding;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** How infer generates: greedy by default, or sampled; transformers' names for the same settings. */
public final class GenerationOptions {
    @Option(names = "--max-new-tokens", defaultValue = "32", paramLabel = "K",
            description = "When generating: stop after K tokens or at end-of-sequence (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--do-sample", description = "Sample the next token (softmax of logits / temperature, after top-k "
            + "and top-p) instead of taking the most likely one.")
    boolean doSample;

    @Option(names = "--temperature", paramLabel = "T",
            description = "With --do-sample: divides the logits; lower is more conservative, 0 is greedy (default: "
                    + Decoding.DEFAULT_TEMPERATURE + ").")
    Double temperature;

    @Option(names = "--top-k", paramLabel = "K",
            description = "With --do-sample: draw from the K most likely tokens only; 0 keeps all (default: "
                    + Decoding.DEFAULT_TOP_K + ", as transformers).")
    Integer topK;

    @Option(names = "--top-p", paramLabel = "P",
            description = "With --do-sample: draw from the smallest set of most likely tokens whose probability reaches P "
                    + "(default: " + Decoding.DEFAULT_TOP_P + ": all).")
    Double topP;

    @Option(names = "--seed", paramLabel = "N",
            description = "With --do-sample: the random seed; the same seed, prompt and input give the same text "
                    + "(default: a fresh one, printed with --json).")
    Long seed;

    @Option(names = "--stop", paramLabel = "STRING",
            description = "End the text where STRING appears (not included); repeatable.")
    List<String> stop = new ArrayList<>();

    /** The settings, checked; a fresh seed when sampling without --seed. */
    Decoding decoding() {
        long s = seed != null ? seed : doSample ? new SecureRandom().nextLong() : 0;
        return new Decoding(maxNewTokens, doSample, temperature != null ? temperature : Decoding.DEFAULT_TEMPERATURE,
                topK != null ? topK : Decoding.DEFAULT_TOP_K, topP != null ? topP : Decoding.DEFAULT_TOP_P, s, stop);
    }

    /** Whether a sampling flag was given (they need --do-sample). */
    boolean samplingFlagsWithoutSample() {
        return !doSample && (seed != null || temperature != null || topK != null || topP != null);
    }
}
