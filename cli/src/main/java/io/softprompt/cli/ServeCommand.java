package io.softprompt.cli;

import io.softprompt.hub.ModelLocator;
import io.softprompt.loader.LoadedModel;
import io.softprompt.serve.PredictServer;
import io.softprompt.serve.ServeSettings;
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
@Command(exitCodeListHeading = ExitCodes.HEADING, exitCodeList = {ExitCodes.OK, ExitCodes.BUG, ExitCodes.BAD_INPUT},
        name = "serve", mixinStandardHelpOptions = true, sortOptions = false, defaultValueProvider = ServeFlags.Defaults.class,
        modelTransformer = ServeFlags.class,
        description = {"Serve a folder of prompts over HTTP on one frozen model.",
            "Every NAME.sp directly in the folder is task NAME. Requests of different tasks are micro-batched into "
                + "shared forward passes; new or changed .sp files are picked up within a second; a prompt that "
                + "does not fit the model is refused and logged.",
            "  POST /v1/predict  {\"task\": \"sst2\", \"text\": \"a fine film\"}  or  {\"items\": [{...}, ...]}",
            "  Items of text-to-text tasks generate; they may set max_new_tokens (at most --max-new-tokens), do_sample, "
                + "temperature, top_k, top_p, seed and stop.",
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

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "A file holding the bearer token clients must send (one line; keep it readable by you only).")
    Path tokenFile;

    @Option(names = "--no-prefix-cache", description = "Do not cache each prompt's keys and values (decoder-only models).")
    boolean noPrefixCache;

    /** The flags as the library's settings (one record validates them; its messages name keys, shown as flags). */
    ServeSettings settings(String token) {
        return ServeFlags.settings(spec.commandLine().getParseResult(), !noPrefixCache, token);
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        ServeSettings settings = settings(null); // every value checked before a model loads
        if (!Files.isDirectory(prompts)) {
            throw new UserException("--prompts " + prompts + ": " + (Files.exists(prompts) ? "not a folder" : "no such folder"));
        }
        String host = settings.host();
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
            server = new PredictServer(model, prompts, settings(token));
        } catch (BindException e) {
            model.close();
            throw new UserException("--port " + settings.port() + ": cannot bind " + host + ":" + settings.port() + ": "
                    + e.getMessage());
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
        CountDownLatch stop = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            err.printf("shutting down: no new requests; %s%n", server.summary()); // the log says when and what was done
            err.flush();
            server.close();
            model.close();
            err.println("stopped");
            err.flush();
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
