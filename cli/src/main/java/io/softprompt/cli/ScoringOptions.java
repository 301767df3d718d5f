package io.softprompt.cli;

import picocli.CommandLine.Option;

/** How the scorer batches, shared by eval and infer: rows per forward pass and the prefix cache. */
public final class ScoringOptions {
    @Option(names = "--batch-size", defaultValue = "32", paramLabel = "B",
            description = "Rows per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--no-prefix-cache", description = "Run each prompt with every batch instead of caching its keys and "
            + "values once (decoder-only models; the answers are the same).")
    boolean noPrefixCache;

    int batchSize() {
        return batchSize;
    }

    boolean prefixCache() {
        return !noPrefixCache;
    }
}
