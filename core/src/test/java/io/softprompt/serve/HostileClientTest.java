package io.softprompt.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.Fixtures;
import io.softprompt.TestPrompts;
import io.softprompt.loader.LoadedModel;
import io.softprompt.util.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * serve against clients that misbehave: slow headers, lying Content-Length, too many connections,
 * missing tokens, links out of the prompts folder, files that are not prompts. On loopback only.
 */
class HostileClientTest {
    static final long READ_TIMEOUT_MS = 1500;
    @TempDir
    static Path tmp;
    static Path prompts;
    static LoadedModel model;
    static PredictServer server;
    static final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void start() throws Exception {
        prompts = Files.createDirectories(tmp.resolve("prompts"));
        Path task = Fixtures.moodTask(tmp, 2);
        TestPrompts.initial(Fixtures.of("gpt2"), task, 3, "vocab", prompts.resolve("mood.sp"));
        model = LoadedModel.load(Fixtures.of("gpt2"), Fixtures.of("gpt2").toString());
        server = new PredictServer(model, prompts, ServeSettings.builder().port(0)
                .readTimeoutMillis(READ_TIMEOUT_MS).maxConnections(48).build());
    }

    @AfterAll
    static void stop() {
        server.close();
        model.close();
    }

    static HttpResponse<String> send(int port, String method, String path, String body, String auth) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10));
        if (auth != null) {
            b.header("Authorization", auth);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A client that opens a connection and trickles a request's headers, a byte every 100 ms, never finishing. */
    static Thread trickler(int port, AtomicBoolean stop, List<Socket> sockets) {
        Thread t = new Thread(() -> {
            try (Socket s = new Socket("127.0.0.1", port)) {
                synchronized (sockets) {
                    sockets.add(s);
                }
                OutputStream o = s.getOutputStream();
                byte[] head = ("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + "a".repeat(400)).getBytes(StandardCharsets.US_ASCII);
                for (byte b : head) {
                    if (stop.get()) {
                        return;
                    }
                    o.write(b);
                    o.flush();
                    Thread.sleep(100);
                }
            } catch (IOException | InterruptedException e) {
                // dropped by the server: what we wanted
            }
        });
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Test
    void thirtyTwoSlowClientsDoNotHoldUpTheOthers() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        List<Socket> sockets = new ArrayList<>();
        List<Thread> slow = new ArrayList<>();
        int droppedBefore = Json.MAPPER.readTree(send(server.port(), "GET", "/metrics", null, null).body())
                .get("connections_dropped_slow").asInt();
        for (int i = 0; i < 32; i++) {
            slow.add(trickler(server.port(), stop, sockets));
        }
        Thread.sleep(300); // all 32 are connected and trickling
        try {
            for (int k = 0; k < 3; k++) {
                long t0 = System.nanoTime();
                assertEquals(200, send(server.port(), "GET", "/health", null, null).statusCode());
                HttpResponse<String> p = send(server.port(), "POST", "/v1/predict", "{\"task\": \"mood\", \"text\": \"fine\"}",
                        null);
                double ms = (System.nanoTime() - t0) / 1e6;
                assertEquals(200, p.statusCode(), p.body());
                System.out.printf("SLOW CLIENTS: /health and /v1/predict answered in %.0f ms beside 32 slow clients%n", ms);
                assertTrue(ms < 1000, "answered within a second while 32 clients trickle headers: " + ms + " ms");
            }
            // the slow ones are dropped once the read timeout passes
            long deadline = System.nanoTime() + (READ_TIMEOUT_MS + 3000) * 1_000_000L;
            int dropped = 0;
            while (System.nanoTime() < deadline) {
                dropped = Json.MAPPER.readTree(send(server.port(), "GET", "/metrics", null, null).body())
                        .get("connections_dropped_slow").asInt() - droppedBefore;
                if (dropped >= 32) {
                    break;
                }
                Thread.sleep(100);
            }
            assertTrue(dropped >= 32, "all 32 slow clients dropped after the read timeout: " + dropped);
        } finally {
            stop.set(true);
        }
        for (Thread t : slow) {
            t.join(5000);
        }
    }

    @Test
    void aLyingContentLengthIsRefusedBeforeAnyBodyIsRead() throws Exception {
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(5000);
            long t0 = System.nanoTime();
            s.getOutputStream().write(("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 99999999999\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            int first = in.read();
            double ms = (System.nanoTime() - t0) / 1e6;
            String answer = (char) first + new String(in.readNBytes(4096), StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 413"), answer);
            assertTrue(answer.contains("at most 1048576"), answer);
            assertTrue(ms < 1000, "refused at once, not after reading: " + ms + " ms");
        }
        // a body shorter than its Content-Length: the client is dropped at the read timeout, nothing hangs
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout((int) READ_TIMEOUT_MS + 4000);
            long t0 = System.nanoTime();
            s.getOutputStream().write(("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{\"task\"")
                    .getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            int first = in.read(); // -1: closed by the server
            double ms = (System.nanoTime() - t0) / 1e6;
            assertEquals(-1, first, "the server closes the connection without an answer");
            assertTrue(ms >= READ_TIMEOUT_MS - 200 && ms < READ_TIMEOUT_MS + 3000, "dropped at the read timeout: " + ms);
        }
        assertEquals(200, send(server.port(), "GET", "/health", null, null).statusCode(), "still serving");
    }

    @Test
    void beyondTheConnectionCapRequestsGet503() throws Exception {
        try (PredictServer small = new PredictServer(model, prompts, ServeSettings.builder().port(0)
                .readTimeoutMillis(3000).maxConnections(2).build())) {
            AtomicBoolean stop = new AtomicBoolean();
            List<Socket> sockets = new ArrayList<>();
            trickler(small.port(), stop, sockets);
            trickler(small.port(), stop, sockets);
            Thread.sleep(300);
            try {
                long t0 = System.nanoTime();
                HttpResponse<String> r = send(small.port(), "GET", "/v1/tasks", null, null);
                assertEquals(503, r.statusCode(), r.body());
                assertTrue(r.body().contains("server busy"), r.body());
                assertEquals("1", r.headers().firstValue("Retry-After").orElse(""));
                assertTrue((System.nanoTime() - t0) / 1e6 < 1000, "answered at once");
            } finally {
                stop.set(true);
            }
        }
    }

    @Test
    void aTokenGuardsEveryRouteButHealth() throws Exception {
        String token = "0123456789abcdef-secret";
        try (PredictServer guarded = new PredictServer(model, prompts, ServeSettings.builder().port(0)
                .token(token).build())) {
            int port = guarded.port();
            HttpResponse<String> none = send(port, "GET", "/v1/tasks", null, null);
            assertEquals(401, none.statusCode());
            assertEquals("Bearer", none.headers().firstValue("WWW-Authenticate").orElse(""));
            assertEquals(401, send(port, "GET", "/v1/tasks", null, "Bearer wrong").statusCode());
            assertEquals(401, send(port, "GET", "/v1/tasks", null, "Bearer " + token + "x").statusCode());
            assertEquals(401, send(port, "POST", "/v1/predict", "{\"task\": \"mood\", \"text\": \"a\"}", null).statusCode());
            assertEquals(401, send(port, "GET", "/metrics", null, null).statusCode());
            assertEquals(200, send(port, "GET", "/v1/tasks", null, "Bearer " + token).statusCode());
            assertEquals(200, send(port, "POST", "/v1/predict", "{\"task\": \"mood\", \"text\": \"a\"}", "Bearer " + token)
                    .statusCode());
            assertEquals(200, send(port, "GET", "/health", null, null).statusCode(), "/health stays open");
        }
    }

    @Test
    void metricsInPrometheusTextFormat() throws Exception {
        send(server.port(), "POST", "/v1/predict", "{\"task\": \"mood\", \"text\": \"fine\"}", null);
        HttpResponse<String> r = send(server.port(), "GET", "/metrics?format=prometheus", null, null);
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), r.headers().toString());
        assertTrue(r.body().contains("# TYPE softprompt_requests_total counter"), r.body());
        assertTrue(r.body().matches("(?s).*\\nsoftprompt_requests_total [1-9][0-9]*\\n.*"), r.body());
        assertTrue(r.body().contains("softprompt_latency_ms{quantile=\"0.5\"}"), r.body());
        HttpResponse<String> accept = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port()
                + "/metrics")).header("Accept", "text/plain").build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(accept.body().startsWith("# HELP"), accept.body());
        JsonNode json = Json.MAPPER.readTree(send(server.port(), "GET", "/metrics", null, null).body());
        assertTrue(json.has("requests"), json.toString());
    }

    @Test
    void aClientThatGoesAwayIsOneInfoLineNotAnError() throws Exception {
        Logger log = (Logger) LoggerFactory.getLogger(PredictServer.class);
        Level level = log.getLevel();
        log.setLevel(Level.INFO); // as bin/softprompt's logback.xml has it for io.softprompt.serve
        ListAppender<ILoggingEvent> events = new ListAppender<>();
        events.start();
        log.addAppender(events);
        try {
            try (Socket s = new Socket("127.0.0.1", server.port())) {
                s.getOutputStream().write(("POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{\"task\": \"mood\"")
                        .getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                s.setSoLinger(true, 0); // reset, as a client that crashes
            }
            long deadline = System.nanoTime() + 3_000_000_000L;
            while (events.list.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertFalse(events.list.isEmpty(), "the disconnect is logged");
            for (ILoggingEvent e : events.list) {
                assertEquals(Level.INFO, e.getLevel(), e.getFormattedMessage());
                assertTrue(e.getThrowableProxy() == null, "no stack trace: " + e.getFormattedMessage());
            }
        } finally {
            log.detachAppender(events);
            log.setLevel(level);
        }
    }

    @Test
    void linksOutOfThePromptsFolderAndBadFilesAreRefusedWithoutEchoingThem() throws Exception {
        Path outside = Files.createDirectories(tmp.resolve("outside"));
        Files.copy(prompts.resolve("mood.sp"), outside.resolve("secret.sp"));
        Path junk = prompts.resolve("junk.sp");
        Files.write(junk, "\u0010\u0000\u0000\u0000\u0000\u0000\u0000\u0000{\"TOP-SECRET-BYTES\": 1}"
                .getBytes(StandardCharsets.UTF_8));
        Files.createSymbolicLink(prompts.resolve("leak.sp"), outside.resolve("secret.sp"));
        Files.createSymbolicLink(prompts.resolve("alias.sp"), prompts.resolve("mood.sp"));
        Files.createDirectories(prompts.resolve("folder.sp"));
        server.registry().refresh();
        JsonNode tasks = Json.MAPPER.readTree(send(server.port(), "GET", "/v1/tasks", null, null).body());
        List<String> served = new ArrayList<>();
        tasks.get("tasks").forEach(t -> served.add(t.get("name").asText()));
        assertTrue(served.contains("mood") && served.contains("alias"), "a link inside the folder is served: " + served);
        assertFalse(served.contains("leak"), "a link out of the folder is not: " + served);
        assertFalse(served.contains("secret") || served.contains("folder") || served.contains("junk"), served.toString());
        JsonNode refused = tasks.get("refused");
        assertTrue(refused.has("leak.sp") && refused.get("leak.sp").asText().contains("symbolic link"), refused.toString());
        assertTrue(refused.has("junk.sp"), refused.toString());
        assertFalse(tasks.toString().contains("TOP-SECRET"), "no bytes of a refused file reach a client: " + tasks);
        assertFalse(tasks.toString().contains(outside.toString()), "no path outside the folder either: " + tasks);
        assertEquals(404, send(server.port(), "POST", "/v1/predict", "{\"task\": \"leak\", \"text\": \"a\"}", null).statusCode());
    }
}
