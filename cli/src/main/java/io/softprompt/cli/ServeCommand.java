package io.softprompt.cli;

import io.softprompt.hub.ModelLocator;
import io.softprompt.loader.LoadedModel;
import io.softprompt.serve.PredictServer;
import io.softprompt.util.UserException;
import java.io.PrintWriter;
import java.net.BindException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** softprompt serve: an HTTP JSON API over one frozen model and a folder of prompts. */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serve a folder of prompts over HTTP on one frozen model.",
            "Every NAME.sp in the folder is task NAME. Requests of "
                + "different tasks are micro-batched into shared forward passes; new or changed .sp files are "
                + "picked up within a second; a prompt that does not fit the model is refused and logged.",
            "  POST /v1/predict  {\"task\": \"sst2\", \"text\": \"a fine film\"}  or  {\"items\": [{...}, ...]}",
            "  GET  /v1/tasks    GET /health    GET /metrics",
            "Stop with Ctrl-C (SIGINT) or SIGTERM."})
public final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    VerboseOption verbose;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--prompts", required = true, paramLabel = "DIR", description = "Folder of .sp prompts (one per task).")
    Path prompts;

    @Option(names = "--port", defaultValue = "8080", paramLabel = "P", description = "Default: ${DEFAULT-VALUE}; 0 picks a free port.")
    int port;

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "ADDR",
            description = "Address to bind (default: ${DEFAULT-VALUE}; 0.0.0.0 for all interfaces).")
    String host;

    @Option(names = "--max-batch", defaultValue = "32", paramLabel = "B", description = "Rows per forward pass (default: ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--batch-window-ms", defaultValue = "5", paramLabel = "MS",
            description = "How long the first waiting item waits for others (default: ${DEFAULT-VALUE}).")
    long windowMs;

    @Option(names = "--queue", defaultValue = "1024", paramLabel = "ITEMS",
            description = "Items waiting at most; beyond, requests get 503 with Retry-After (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--max-items", defaultValue = "64", paramLabel = "N", description = "Items per request (default: ${DEFAULT-VALUE}).")
    int maxItems;

    @Option(names = "--max-text-chars", defaultValue = "10000", paramLabel = "N", description = "Default: ${DEFAULT-VALUE}.")
    int maxTextChars;

    @Option(names = "--token-budget", defaultValue = "0", paramLabel = "TOKENS",
            description = "At most this many batch x length tokens per forward pass (default: no limit).")
    int tokenBudget;

    @Option(names = "--no-prefix-cache", description = "Do not cache each prompt's keys and values (decoder-only models).")
    boolean noPrefixCache;

    @Option(names = "--max-length", defaultValue = "128", paramLabel = "T", description = "Longest input in tokens (default: ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(names = "--timeout-ms", defaultValue = "30000", paramLabel = "MS", description = "Default: ${DEFAULT-VALUE}.")
    long timeoutMs;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        for (var c : new Object[][] {{"--max-batch", maxBatch}, {"--queue", queue}, {"--max-items", maxItems},
            {"--max-text-chars", maxTextChars}, {"--max-length", maxLength}}) {
            if ((Integer) c[1] < 1) {
                throw new UserException(c[0] + " must be at least 1 (got " + c[1] + ")");
            }
        }
        if (port < 0 || port > 65535) {
            throw new UserException("--port must be 0..65535 (got " + port + ")");
        }
        if (windowMs < 0 || timeoutMs < 1 || tokenBudget < 0) {
            throw new UserException("--batch-window-ms and --token-budget must not be negative, --timeout-ms positive");
        }
        if (!Files.isDirectory(prompts)) {
            throw new UserException("--prompts " + prompts + ": not a folder");
        }
        ModelLocator.Located where = modelOptions.locate(null, err);
        LoadedModel model = ModelOptions.load(where);
        PredictServer server;
        try {
            server = new PredictServer(model, prompts, new PredictServer.Settings(port, host, maxBatch, windowMs, queue,
                    maxItems, maxTextChars, 1 << 20, tokenBudget, !noPrefixCache, timeoutMs, maxLength));
        } catch (BindException e) {
            model.close();
            throw new UserException("--port " + port + ": cannot bind " + host + ":" + port + " (" + e.getMessage() + ")");
        }
        CountDownLatch stop = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            server.close();
            model.close();
            stop.countDown();
        }, "softprompt-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        err.printf("serving %d task(s) %s from %s on http://%s:%d (model %s)%n", server.registry().entries().size(),
                server.registry().entries().keySet(), prompts, host, server.port(), where.name());
        err.flush();
        stop.await();
        return 0;
    }
}
