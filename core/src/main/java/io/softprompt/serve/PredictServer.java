package io.softprompt.serve;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.softprompt.infer.Member;
import io.softprompt.infer.MultiTask;
import io.softprompt.infer.PromptRegistry;
import io.softprompt.loader.LoadedModel;
import io.softprompt.scoring.Generator;
import io.softprompt.scoring.Scorer;
import io.softprompt.util.Json;
import io.softprompt.util.Redaction;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedByInterruptException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP JSON API of {@code softprompt serve}: one frozen model, every prompt in a folder.
 *
 * <pre>
 *   POST /v1/predict   {"task": T, "text": X [, "id": I]}  or  {"items": [{...}, ...]}; items of
 *                      text-to-text tasks generate (max_new_tokens, do_sample, temperature, top_k,
 *                      top_p, seed, stop) and answer {"generated", "finish_reason", "tokens"}
 *   GET  /v1/tasks     the served tasks, and the prompt files refused with their reasons
 *   GET  /health       {"status": "ok", ...}  (never needs the token)
 *   GET  /metrics      requests, items, errors, batch sizes, latency percentiles; Prometheus text
 *                      with Accept: text/plain or ?format=prometheus
 * </pre>
 *
 * Built on the JDK's own HTTP server (com.sun.net.httpserver): four JSON routes need no framework.
 * Every client is treated as hostile: requests must arrive within the read timeout (a
 * {@link ConnectionGuard} drops slow ones without holding up the others), at most
 * {@code maxConnections} are served at once (503 beyond), a Content-Length over the limit is refused
 * before a byte of the body is read, and with a token every route but /health needs
 * {@code Authorization: Bearer <token>} (compared in constant time). The model runs on the
 * {@link MicroBatcher}'s one thread.
 */
public final class PredictServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PredictServer.class);

    private final LoadedModel model;
    private final ServeSettings settings;
    private final PromptRegistry registry;
    private final Scorer scorer;
    private final MicroBatcher batcher;
    private final ServeMetrics metrics = new ServeMetrics();
    private final HttpServer http;
    private final ConnectionGuard guard;
    private final ScheduledExecutorService watcher;
    private final byte[] expectedAuth;

    public PredictServer(LoadedModel model, Path promptDir, ServeSettings s) throws IOException {
        this.model = model;
        this.settings = s;
        this.expectedAuth = s.token() == null ? null : ("Bearer " + Redaction.secret(s.token())).getBytes(StandardCharsets.UTF_8);
        this.scorer = new Scorer(model.lm(), s.prefixCache());
        boolean generates = model.lm().kind() != io.softprompt.model.LanguageModel.Kind.MASKED;
        this.registry = new PromptRegistry(promptDir, model, s.maxLength(), scorer::forget, generates);
        registry.refresh();
        this.batcher = new MicroBatcher(scorer, generates ? new Generator(model.lm(), model.tokenizer(), true) : null,
                s.queueCapacity(), s.maxBatch(), s.windowMillis(), s.tokenBudget(), metrics);
        this.guard = new ConnectionGuard(s.maxConnections(), s.readTimeoutMillis());
        this.http = HttpServer.create(new InetSocketAddress(s.host(), s.port()), 128);
        http.setExecutor(guard);
        http.createContext("/v1/predict", ex -> handle(ex, "POST", true, this::predict));
        http.createContext("/v1/tasks", ex -> handle(ex, "GET", true, this::tasks));
        http.createContext("/health", ex -> handle(ex, "GET", false, e -> new Reply(200, health())));
        http.createContext("/metrics", ex -> handle(ex, "GET", true, this::metrics));
        http.createContext("/", ex -> handle(ex, null, true, e -> error(404, "no such route: " + e.getRequestURI().getPath()
                + " (POST /v1/predict, GET /v1/tasks, GET /health, GET /metrics)")));
        this.watcher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "softprompt-watch");
            t.setDaemon(true);
            return t;
        });
        watcher.scheduleWithFixedDelay(() -> {
            try {
                registry.refresh();
            } catch (RuntimeException e) {
                LOG.warn("refreshing prompts failed: {}", e.toString());
            }
        }, 1, 1, TimeUnit.SECONDS);
        http.start();
    }

    /** The port actually bound (useful with port 0). */
    public int port() {
        return http.getAddress().getPort();
    }

    public PromptRegistry registry() {
        return registry;
    }

    record Reply(int status, Object body, Map<String, String> headers) {
        Reply(int status, Object body) {
            this(status, body, Map.of());
        }
    }

    /** A client mistake: answered with its status and a JSON error, never thrown further. */
    static final class BadRequest extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int status;
        final boolean close;

        BadRequest(int status, String message) {
            this(status, message, false);
        }

        /** close: the connection is closed after the answer (an unread body must not be drained). */
        BadRequest(int status, String message, boolean close) {
            super(message);
            this.status = status;
            this.close = close;
        }
    }

    /** The client went away or was too slow: nothing to answer. */
    static final class ClientGone extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ClientGone(String why) {
            super(why, null, false, false);
        }
    }

    interface Route {
        Reply apply(HttpExchange ex) throws Exception;
    }

    private void handle(HttpExchange ex, String method, boolean needsToken, Route route) {
        long t0 = System.nanoTime();
        Reply reply;
        boolean close = false;
        try {
            if (ConnectionGuard.overloaded()) {
                reply = error(503, "server busy: " + guard.maxConnections() + " connections are being served; retry shortly");
                close = true;
            } else if (needsToken && expectedAuth != null && !authorized(ex)) {
                reply = new Reply(401, errorBody(401, "missing or wrong bearer token (Authorization: Bearer <token>)"),
                        Map.of("WWW-Authenticate", "Bearer"));
            } else if (method != null && !method.equals(ex.getRequestMethod())) {
                reply = error(405, ex.getRequestMethod() + " is not allowed here; use " + method);
            } else {
                reply = route.apply(ex);
            }
        } catch (BadRequest e) {
            reply = error(e.status, e.getMessage());
            close = e.close;
        } catch (ClientGone e) {
            LOG.info("client {} dropped: {}", ex.getRemoteAddress(), e.getMessage());
            ex.close();
            return;
        } catch (Throwable e) { // the server never dies on a request
            LOG.error("request {} failed", ex.getRequestURI(), e);
            reply = error(500, "internal error: " + Redaction.describe(e));
        }
        count(ex, reply, t0);
        guard.rearm();
        try {
            byte[] body = reply.body() instanceof String text ? text.getBytes(StandardCharsets.UTF_8)
                    : Json.write(reply.body()).getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", reply.body() instanceof String
                    ? "text/plain; version=0.0.4; charset=utf-8" : "application/json");
            reply.headers().forEach((k, v) -> ex.getResponseHeaders().set(k, v));
            if (close) {
                ex.getResponseHeaders().set("Connection", "close");
            }
            ex.sendResponseHeaders(reply.status(), body.length);
            try (OutputStream os = ex.getResponseBody()) {
                os.write(body);
            }
        } catch (IOException e) {
            LOG.info("client {} went away before its answer was sent ({})", ex.getRemoteAddress(), e.toString());
        } finally {
            ex.close();
        }
    }

    private boolean authorized(HttpExchange ex) {
        String got = ex.getRequestHeaders().getFirst("Authorization");
        return got != null && MessageDigest.isEqual(got.getBytes(StandardCharsets.UTF_8), expectedAuth);
    }

    private void count(HttpExchange ex, Reply reply, long t0) {
        if (reply.status() >= 500 && reply.status() != 503) {
            metrics.serverErrors.incrementAndGet();
        } else if (reply.status() == 503) {
            metrics.rejected.incrementAndGet();
        } else if (reply.status() >= 400) {
            metrics.clientErrors.incrementAndGet();
        }
        if (ex.getRequestURI().getPath().equals("/v1/predict")) {
            metrics.requests.incrementAndGet();
            if (reply.status() == 200) {
                metrics.latency((System.nanoTime() - t0) / 1e6);
            }
        }
    }

    static Reply error(int status, String message) {
        return new Reply(status, errorBody(status, message), status == 503 ? Map.of("Retry-After", "1") : Map.of());
    }

    private static Map<String, Object> errorBody(int status, String message) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", message);
        m.put("status", status);
        return m;
    }

    private Map<String, Object> health() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", "ok");
        m.put("model", model.name());
        m.put("model_fingerprint", model.fingerprint());
        m.put("tasks", registry.entries().size());
        m.put("prefix_cache", scorer.cached());
        return m;
    }

    private Reply metrics(HttpExchange ex) {
        String accept = ex.getRequestHeaders().getFirst("Accept");
        String query = ex.getRequestURI().getQuery();
        boolean text = (query != null && query.contains("format=prometheus"))
                || (accept != null && accept.contains("text/plain") && !accept.contains("application/json"));
        if (text) {
            return new Reply(200, metrics.prometheus(batcher.queued(), guard.inFlight(), guard.dropped()));
        }
        Map<String, Object> m = metrics.snapshot(batcher.queued());
        m.put("connections", guard.inFlight());
        m.put("connections_dropped_slow", guard.dropped());
        return new Reply(200, m);
    }

    private Reply tasks(HttpExchange ex) {
        List<Map<String, Object>> list = new ArrayList<>();
        for (PromptRegistry.Entry e : registry.entries().values()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", e.name());
            m.put("file", e.file().getFileName().toString());
            m.put("task", e.task().name());
            m.put("tokens", e.prompt().tokens());
            m.put("depth", e.prompt().site().depth()); // input, deep (a key/value prefix in every layer), partial or late
            if (e.prompt().site().layers() > 0) {
                m.put("prompt_layers", e.prompt().site().layers()); // the top layers a partial or late prompt reaches
            }
            if (e.task().textToText()) {
                m.put("generates", true);
            } else {
                m.put("labels", e.task().labels());
            }
            list.add(m);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("tasks", list);
        out.put("refused", registry.refused());
        return new Reply(200, out);
    }

    /**
     * The request body, at most maxBodyBytes: a larger Content-Length is refused before anything is
     * read; the read runs under the read deadline (a client that stalls is dropped).
     */
    private byte[] readBody(HttpExchange ex) {
        String length = ex.getRequestHeaders().getFirst("Content-Length");
        if (length != null) {
            long n;
            try {
                n = Long.parseLong(length.trim());
            } catch (NumberFormatException e) {
                throw new BadRequest(400, "Content-Length '" + length + "' is not a number", true);
            }
            if (n > settings.maxBodyBytes()) {
                throw new BadRequest(413, "request body of " + n + " bytes; at most " + settings.maxBodyBytes(), true);
            }
        }
        try (InputStream in = ex.getRequestBody()) {
            byte[] b = in.readNBytes(settings.maxBodyBytes() + 1);
            if (b.length > settings.maxBodyBytes()) {
                throw new BadRequest(413, "request body over " + settings.maxBodyBytes() + " bytes", true);
            }
            return b;
        } catch (IOException e) {
            throw new ClientGone(Thread.interrupted() || e instanceof ClosedByInterruptException
                    ? "body not sent within " + settings.readTimeoutMillis() + " ms" : "while sending its body: " + e);
        } finally {
            ConnectionGuard.disarm(); // the request is read: what follows may take as long as scoring takes
        }
    }

    private Reply predict(HttpExchange ex) throws Exception {
        byte[] body = readBody(ex);
        Map<String, PromptRegistry.Entry> served = registry.entries();
        List<Pending> pending = new ArrayList<>();
        List<Object> ids = new ArrayList<>();
        java.util.Set<String> textToText = new java.util.HashSet<>();
        served.forEach((name, e) -> {
            if (e.member().task().textToText()) {
                textToText.add(name);
            }
        });
        Requests.Request request = Requests.read(body, served.keySet(), textToText, settings.maxItems(),
                settings.maxTextChars(), settings.maxNewTokens());
        boolean many = request.batch();
        int k = 0;
        for (Requests.Item it : request.items()) {
            PromptRegistry.Entry e = served.get(it.task());
            ids.add(it.id());
            try { // an item refused here fails its own request, before anything of it reaches a batch
                pending.add(it.decoding() != null ? new Pending.Generate(e, e.member().request(it.text(), it.decoding()))
                        : new Pending.Classify(e, e.encoder().encode(it.text(), -1)));
            } catch (UserException bad) {
                throw new BadRequest(400, (many ? "item " + k + ": " : "") + bad.getMessage(), false);
            }
            k++;
        }
        metrics.items.addAndGet(pending.size());
        if (!batcher.offerAll(pending)) {
            return error(503, "queue full (" + batcher.queued() + " items waiting); retry shortly");
        }
        List<Map<String, Object>> results = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(settings.timeoutMillis());
        for (int i = 0; i < pending.size(); i++) {
            Pending p = pending.get(i);
            Map<String, Object> r = new LinkedHashMap<>();
            if (ids.get(i) != null) {
                r.put("id", ids.get(i));
            }
            r.put("task", p.entry().name());
            try {
                r.putAll(p.await(Math.max(1, deadline - System.nanoTime())));
            } catch (TimeoutException e) {
                return error(504, "timed out after " + settings.timeoutMillis() + " ms");
            } catch (ExecutionException e) {
                return error(500, p.work() + " failed: " + e.getCause());
            }
            results.add(r);
        }
        if (!many) {
            return new Reply(200, results.get(0));
        }
        return new Reply(200, Map.of("results", results));
    }

    /** What the server has done so far, in one line (for the shutdown log). */
    public String summary() {
        return metrics.requests.get() + " request(s), " + metrics.items.get() + " item(s), " + metrics.clientErrors.get()
                + " refused, " + metrics.serverErrors.get() + " failed";
    }

    @Override
    public void close() {
        http.stop(0);
        watcher.shutdownNow();
        batcher.close();
        guard.close();
        scorer.close();
    }
}
