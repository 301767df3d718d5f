package io.softprompt.cli;

import io.softprompt.hub.ModelLocator;
import io.softprompt.loader.LoadedModel;
import io.softprompt.serve.PredictServer;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.BindException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
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
            "Every NAME.sp directly in the folder is task NAME. Requests of different tasks are micro-batched into "
                + "shared forward passes; new or changed .sp files are picked up within a second; a prompt that "
                + "does not fit the model is refused and logged.",
            "  POST /v1/predict  {\"task\": \"sst2\", \"text\": \"a fine film\"}  or  {\"items\": [{...}, ...]}",
            "  GET  /v1/tasks    GET /health    GET /metrics (JSON, or Prometheus text with ?format=prometheus)",
            "Clients that send their request slower than --read-timeout-ms are dropped; beyond --max-connections "
                + "requests get 503. With --token-file every route but /health needs 'Authorization: Bearer TOKEN'.",
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
            description = "Address to bind (default: ${DEFAULT-VALUE}; 0.0.0.0 for all interfaces: use --token-file then).")
    String host;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "A file holding the bearer token clients must send (one line; keep it readable by you only).")
    Path tokenFile;

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

    @Option(names = "--max-body-bytes", defaultValue = "1048576", paramLabel = "N",
            description = "Largest request body; a larger Content-Length is refused unread (default: ${DEFAULT-VALUE}).")
    int maxBodyBytes;

    @Option(names = "--max-connections", defaultValue = "64", paramLabel = "N",
            description = "Requests served at once; beyond, 503 (default: ${DEFAULT-VALUE}).")
    int maxConnections;

    @Option(names = "--read-timeout-ms", defaultValue = "10000", paramLabel = "MS",
            description = "A request's headers and body must arrive within this time, its answer be read within it "
                    + "(default: ${DEFAULT-VALUE}).")
    long readTimeoutMs;

    @Option(names = "--token-budget", defaultValue = "0", paramLabel = "TOKENS",
            description = "At most this many batch x length tokens per forward pass (default: no limit).")
    int tokenBudget;

    @Option(names = "--no-prefix-cache", description = "Do not cache each prompt's keys and values (decoder-only models).")
    boolean noPrefixCache;

    @Option(names = "--max-length", defaultValue = "128", paramLabel = "T", description = "Longest input in tokens (default: ${DEFAULT-VALUE}).")
    int maxLength;

    @Option(names = "--timeout-ms", defaultValue = "30000", paramLabel = "MS",
            description = "How long a request waits for its scores (default: ${DEFAULT-VALUE}).")
    long timeoutMs;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        for (var c : new Object[][] {{"--max-batch", maxBatch}, {"--queue", queue}, {"--max-items", maxItems},
            {"--max-text-chars", maxTextChars}, {"--max-length", maxLength}, {"--max-connections", maxConnections},
            {"--max-body-bytes", maxBodyBytes}}) {
            if ((Integer) c[1] < 1) {
                throw new UserException(c[0] + " must be at least 1 (got " + c[1] + ")");
            }
        }
        if (port < 0 || port > 65535) {
            throw new UserException("--port must be 0..65535 (got " + port + ")");
        }
        if (windowMs < 0 || tokenBudget < 0) {
            throw new UserException("--batch-window-ms and --token-budget must not be negative");
        }
        if (timeoutMs < 1 || readTimeoutMs < 1) {
            throw new UserException("--timeout-ms and --read-timeout-ms must be positive");
        }
        if (!Files.isDirectory(prompts)) {
            throw new UserException("--prompts " + prompts + ": " + (Files.exists(prompts) ? "not a folder" : "no such folder"));
        }
        InetAddress address = resolve(host);
        String token = tokenFile == null ? null : readToken(tokenFile, err);
        if (token == null && !address.isLoopbackAddress()) {
            err.println("warning: serving on " + host + " (not loopback) without --token-file: anyone who can reach this "
                    + "address can use the model");
        }
        ModelLocator.Located where = modelOptions.locate(null, err);
        LoadedModel model = modelOptions.load(where);
        PredictServer server;
        try {
            server = new PredictServer(model, prompts, new PredictServer.Settings(port, host, maxBatch, windowMs, queue,
                    maxItems, maxTextChars, maxBodyBytes, tokenBudget, !noPrefixCache, timeoutMs, maxLength, readTimeoutMs,
                    maxConnections, token));
        } catch (BindException e) {
            model.close();
            throw new UserException("--port " + port + ": cannot bind " + host + ":" + port + ": " + e.getMessage());
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
        CountDownLatch stop = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            server.close();
            model.close();
            stop.countDown();
        }, "softprompt-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        err.printf("serving %d task(s) %s from %s on http://%s:%d (model %s%s)%n", server.registry().entries().size(),
                server.registry().entries().keySet(), prompts, host, server.port(), where.name(),
                token == null ? "" : ", bearer token required");
        err.flush();
        stop.await();
        return 0;
    }

    /** --host as an address, or a one-line error with the resolver's reason. */
    static InetAddress resolve(String host) {
        try {
            return InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new UserException("--host " + host + ": cannot resolve it (" + e.getMessage() + ")");
        }
    }

    /** The token: the file's first line, stripped; the file must not be readable by others. */
    static String readToken(Path file, PrintWriter err) {
        String token;
        try {
            token = Files.readString(file, StandardCharsets.UTF_8).lines().findFirst().orElse("").strip();
        } catch (IOException e) {
            throw new UserException("--token-file " + file + ": cannot read: " + AtomicFiles.reason(e));
        }
        if (token.length() < 16) {
            throw new UserException("--token-file " + file + ": the token must be at least 16 characters (got "
                    + token.length() + ")");
        }
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (perms.contains(PosixFilePermission.OTHERS_READ) || perms.contains(PosixFilePermission.GROUP_READ)) {
                err.println("warning: --token-file " + file + " is readable by other users (chmod 600 it)");
            }
        } catch (IOException | UnsupportedOperationException e) {
            // not a POSIX file system: nothing to check
        }
        return token;
    }
}
