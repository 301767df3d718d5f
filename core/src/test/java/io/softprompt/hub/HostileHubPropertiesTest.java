package io.softprompt.hub;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.softprompt.Fixtures;
import io.softprompt.Hostile;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * A hostile loopback hub (issue 34): every try answers with hostile ETag, X-Linked-Size, Location and
 * Content-Range headers and a hostile HF_ENDPOINT form. Whatever it says, a download ends in a complete
 * cache or a one-line refusal (never another exception, never a hang past the timeouts), and nothing is
 * written outside the cache folder: ETags with "..", "/" or a leading dot name no file.
 */
class HostileHubPropertiesTest {
    static HttpServer server;
    static Path served;
    static Path root;
    static volatile Headers now;

    /** What the hub says this try. */
    record Headers(String etag, String size, String location, String contentRange) {}

    @BeforeContainer
    static void start() throws IOException {
        served = Fixtures.of("gpt2");
        root = Files.createTempDirectory("softprompt-hostile-hub-");
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", HostileHubPropertiesTest::handle);
        server.start();
    }

    @AfterContainer
    static void stop() throws IOException {
        server.stop(0);
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    static void handle(HttpExchange ex) throws IOException {
        Headers h = now;
        String path = ex.getRequestURI().getPath();
        String name = path.substring(path.lastIndexOf('/') + 1);
        Path file = served.resolve(name);
        if (!Files.isRegularFile(file) || path.contains("..")) {
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
        }
        byte[] all = Files.readAllBytes(file);
        var out = ex.getResponseHeaders();
        out.add("X-Repo-Commit", "1111111111111111111111111111111111111111");
        boolean lfs = name.equals("model.safetensors");
        set(out, lfs ? "X-Linked-Etag" : "ETag", h.etag());
        if (lfs) {
            set(out, "X-Linked-Size", h.size());
        }
        if (ex.getRequestMethod().equals("HEAD")) {
            if (lfs && h.location() != null) {
                set(out, "Location", h.location());
                ex.sendResponseHeaders(302, -1);
            } else {
                out.add("Content-Length", Integer.toString(all.length));
                ex.sendResponseHeaders(200, -1);
            }
            ex.close();
            return;
        }
        boolean ranged = ex.getRequestHeaders().getFirst("Range") != null;
        if (ranged) {
            set(out, "Content-Range", h.contentRange());
        }
        ex.sendResponseHeaders(ranged ? 206 : 200, all.length);
        try (OutputStream o = ex.getResponseBody()) {
            o.write(all);
        }
    }

    private static void set(com.sun.net.httpserver.Headers out, String key, String value) {
        if (value != null && value.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
            out.add(key, value);
        }
    }

    @Provide
    Arbitrary<Headers> headers() {
        Arbitrary<String> etag = Arbitraries.of("\"abc\"", "W/\"abc\"", "..", "../../escape", "/etc/passwd", ".hidden", "a/b",
                "\"\"", "", "x".repeat(300), "%2e%2e", "C:\\\\x", null);
        Arbitrary<String> size = Arbitraries.of("1", "0", "-1", "abc", "99999999999999999999", "1221", null);
        Arbitrary<String> location = Arbitraries.of("/cdn/model.safetensors", "//evil.example/x", "http://127.0.0.1:1/x",
                "ftp://x", "javascript:alert(1)", "/../../../etc/passwd", "%zz", "", "relative", null);
        Arbitrary<String> range = Arbitraries.of("bytes 0-9/abc", "bytes */1", "bytes 5-1/10", "", "bytes 0-1220/1221", null);
        return Combinators.combine(etag, size, location, range).as(Headers::new);
    }

    @Property(tries = 60)
    void aHostileHubEndsInTheCacheOrOneLine(@ForAll("headers") Headers h) throws Exception {
        now = h;
        Path cache = Files.createTempDirectory(root, "cache-");
        HubClient client = new HubClient("http://127.0.0.1:" + server.getAddress().getPort(), "hf_secret_token",
                new PrintWriter(new StringWriter()), false, new HubTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(2)));
        Hostile.accepts(h.toString(), 0, () -> new HfCache(cache).download(client, "org/m", "main", new PrintWriter(new StringWriter())));
        try (Stream<Path> s = Files.walk(root, 1)) {
            List<Path> top = s.filter(p -> !p.equals(root)).toList();
            assertTrue(top.stream().allMatch(p -> p.getFileName().toString().startsWith("cache-")),
                    "nothing written beside the cache folders: " + top + " for " + h);
        }
        assertTrue(!Files.exists(root.resolveSibling("escape")) && !Files.exists(Path.of("/etc/passwd.incomplete")), h.toString());
    }

    @Provide
    Arbitrary<String> endpoints() {
        return Arbitraries.oneOf(
                Arbitraries.strings().ofMaxLength(40),
                Arbitraries.of("http", "https", "ftp", "", "HTTP", "file").flatMap(scheme -> Arbitraries.of("://", ":", ":///", "//")
                        .flatMap(sep -> Arbitraries.of("hub.example", "[::1]", "::1", "", "h:99999", "h:-1", "h:0", "a b", "u:p@h",
                                "h/x?y#z", "h%00").map(host -> scheme + sep + host))));
    }

    @Property(tries = 500)
    void everyEndpointIsUsableOrOneLine(@ForAll("endpoints") String endpoint) {
        boolean taken = Hostile.accepts(endpoint, 0, () -> new HubClient(endpoint, null, new PrintWriter(new StringWriter()), false));
        if (taken) {
            java.net.URI u = java.net.URI.create(endpoint);
            assertTrue(List.of("http", "https").contains(u.getScheme().toLowerCase(java.util.Locale.ROOT)) && u.getHost() != null,
                    endpoint);
        }
    }
}
