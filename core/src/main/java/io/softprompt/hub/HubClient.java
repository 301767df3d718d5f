package io.softprompt.hub;

import com.fasterxml.jackson.databind.JsonNode;
import io.softprompt.util.AtomicFiles;
import io.softprompt.util.Json;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Downloads a model folder from the Hugging Face hub ({endpoint}/{repo}/resolve/{revision}/{file}):
 * config.json, tokenizer.json and the safetensors weights (single file or sharded index).
 *
 * <p>Resumable: each file streams into {@code <file>.part} inside a staging folder
 * {@code models/.<name>.download}; a rerun continues with an HTTP Range request. Size-checked against
 * the server's Content-Length / Content-Range. Atomic: the staging folder is renamed to
 * {@code models/<name>} only when every file is complete. HF_TOKEN, when set, is sent as a bearer token.
 */
public final class HubClient {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    private static final List<String> OPTIONAL = List.of("tokenizer_config.json", "special_tokens_map.json",
            "generation_config.json");

    private final String endpoint;
    private final String token;
    private final HttpClient http;
    private final PrintWriter progress;
    private final boolean terminal;

    public HubClient(String endpoint, PrintWriter progress, boolean terminal) {
        this(endpoint, System.getenv("HF_TOKEN"), progress, terminal);
    }

    /** With the access token given (null: none) rather than HF_TOKEN's. */
    public HubClient(String endpoint, String token, PrintWriter progress, boolean terminal) {
        this.token = token == null || token.isBlank() ? null : token.strip();
        this.endpoint = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
        this.http = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER) // followed by send(): the token must not follow them
                .connectTimeout(Duration.ofSeconds(10))
                .build();
        this.progress = progress;
        this.terminal = terminal;
    }

    /** HF_ENDPOINT, then -Dsoftprompt.hub.endpoint, then huggingface.co. */
    public static String endpointFromEnvironment() {
        String p = System.getProperty("softprompt.hub.endpoint");
        if (p != null && !p.isBlank()) {
            return p;
        }
        String e = System.getenv("HF_ENDPOINT");
        return e != null && !e.isBlank() ? e : DEFAULT_ENDPOINT;
    }

    /** HF_HUB_OFFLINE's values that mean "offline", as huggingface_hub reads them. */
    static final Set<String> TRUE = Set.of("1", "true", "yes", "on", "y", "t");

    /**
     * True when the user asked for no network: HF_HUB_OFFLINE set to a value huggingface_hub takes as
     * true (1, true, yes, on; any case), or -Dsoftprompt.offline=true.
     */
    public static boolean offline() {
        return "true".equalsIgnoreCase(System.getProperty("softprompt.offline"))
                || truthy(System.getenv("HF_HUB_OFFLINE"));
    }

    /** Whether an environment value means true (huggingface_hub's rule). */
    static boolean truthy(String value) {
        return value != null && TRUE.contains(value.strip().toLowerCase(Locale.ROOT));
    }

    public String endpoint() {
        return endpoint;
    }

    /** Whether the hub answers within a few seconds (used only to pick the default model). */
    public boolean reachable(String repo) {
        try {
            HttpResponse<Void> r = send(endpoint + "/" + repo + "/resolve/main/config.json",
                    b -> b.method("HEAD", HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(3)),
                    HttpResponse.BodyHandlers.discarding());
            return r.statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Downloads repo@revision into target (which must not exist yet). */
    public Path download(String repo, String revision, Path target) {
        Path staging = target.resolveSibling("." + target.getFileName() + ".download");
        try {
            Files.createDirectories(staging);
            fetch(repo, revision, "config.json", staging, true);
            fetch(repo, revision, "tokenizer.json", staging, true);
            if (!fetch(repo, revision, "model.safetensors", staging, false)) {
                if (!fetch(repo, revision, "model.safetensors.index.json", staging, false)) {
                    throw new UserException("hub: " + repo + " has neither model.safetensors nor "
                            + "model.safetensors.index.json (only safetensors checkpoints are supported)");
                }
                for (String shard : shards(staging.resolve("model.safetensors.index.json"))) {
                    fetch(repo, revision, shard, staging, true);
                }
            }
            for (String f : OPTIONAL) {
                fetch(repo, revision, f, staging, false);
            }
            Files.createDirectories(target.getParent() == null ? Path.of(".") : target.getParent());
            AtomicFiles.move(staging, target);
            return target;
        } catch (Unreachable e) {
            throw new UserException("cannot reach " + endpoint + " to download '" + repo + "' (" + e.getMessage()
                    + "); offline? put config.json, tokenizer.json and model.safetensors into " + target
                    + " or pass {{model}} DIR");
        } catch (IOException e) {
            throw new UserException("hub: download of " + repo + " into " + target + " failed: " + e.getMessage()
                    + "; run the same command again to resume");
        }
    }

    private static Set<String> shards(Path index) {
        JsonNode map = Json.read(index, JsonNode.class).get("weight_map");
        if (map == null) {
            throw new UserException(index + ": no 'weight_map'");
        }
        Set<String> out = new LinkedHashSet<>();
        map.elements().forEachRemaining(n -> {
            String s = n.asText();
            if (s.contains("/") || s.contains("\\") || s.startsWith(".")) {
                throw new UserException(index + ": shard name '" + s + "' must be a plain file name");
            }
            out.add(s);
        });
        return out;
    }

    /**
     * One file into staging/file via staging/file.part. Returns false on 404 when not required.
     * An interrupted transfer leaves the .part file for the next run to resume.
     */
    boolean fetch(String repo, String revision, String file, Path staging, boolean required) throws IOException {
        Path done = staging.resolve(file);
        if (Files.isRegularFile(done)) {
            return true;
        }
        Path part = staging.resolve(file + ".part");
        long have = Files.isRegularFile(part) ? Files.size(part) : 0;
        String url = endpoint + "/" + repo + "/resolve/" + revision + "/" + file;
        long from = have;
        HttpResponse<InputStream> resp;
        try {
            resp = send(url, b -> from > 0 ? b.GET().header("Range", "bytes=" + from + "-") : b.GET(),
                    HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        } catch (IOException e) {
            throw new Unreachable(describe(e));
        }
        int code = resp.statusCode();
        if (code == 404) {
            resp.body().close();
            if (required) {
                throw new UserException("hub: " + repo + "/" + file + " not found (404); is '" + repo + "' a model id?");
            }
            return false;
        }
        if (code == 401 || code == 403) {
            resp.body().close();
            throw new UserException("hub: " + repo + "/" + file + " needs authorisation (" + code
                    + "); set HF_TOKEN to an access token");
        }
        if (code == 416 && have > 0) {
            resp.body().close();
            Files.move(part, done); // already complete
            return true;
        }
        if (code != 200 && code != 206) {
            resp.body().close();
            throw new UserException("hub: " + url + " answered HTTP " + code);
        }
        long total;
        boolean append = code == 206;
        if (append) {
            total = resp.headers().firstValue("Content-Range").map(HubClient::totalFromRange).orElse(-1L);
        } else {
            have = 0;
            total = resp.headers().firstValueAsLong("Content-Length").orElse(-1L);
        }
        long received = have;
        long start = System.nanoTime();
        long lastPrint = 0;
        try (InputStream in = resp.body();
             OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
                received += n;
                long now = System.nanoTime();
                if (now - lastPrint > 250_000_000L) {
                    lastPrint = now;
                    printProgress(file, received, total, (received - have) / Math.max((now - start) / 1e9, 1e-3), false);
                }
            }
        } catch (IOException e) {
            printProgress(file, received, total, 0, true);
            throw new IOException(file + ": transfer interrupted after " + received + " of "
                    + (total < 0 ? "?" : Long.toString(total)) + " bytes (" + describe(e) + ")");
        }
        if (total >= 0 && received != total) {
            throw new IOException(file + ": received " + received + " of " + total + " bytes");
        }
        printProgress(file, received, total, (received - have) / Math.max((System.nanoTime() - start) / 1e9, 1e-3), true);
        Files.move(part, done);
        return true;
    }

    /** The hub could not be reached at all (as opposed to a transfer that broke off). */
    static final class Unreachable extends IOException {
        private static final long serialVersionUID = 1L;

        Unreachable(String message) {
            super(message);
        }
    }

    /** Redirects followed at most (the hub's file downloads take one or two). */
    static final int MAX_REDIRECTS = 10;

    /**
     * Sends a request to url and follows redirects itself, as huggingface_hub does: HF_TOKEN goes only
     * to the endpoint's own origin (scheme, host and port), so a redirect to another host (the hub's
     * file storage, or anywhere a hostile server points) never receives it; an https page never sends
     * the client on to plain http.
     */
    <T> HttpResponse<T> send(String url, java.util.function.UnaryOperator<HttpRequest.Builder> method,
            HttpResponse.BodyHandler<T> body) throws IOException, InterruptedException {
        URI uri = URI.create(url);
        for (int hop = 0; ; hop++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(uri).header("User-Agent", "softprompt");
            if (token != null && sameOrigin(uri, URI.create(endpoint))) {
                b.header("Authorization", "Bearer " + token);
            }
            HttpResponse<T> r = http.send(method.apply(b).build(), body);
            int code = r.statusCode();
            var location = r.headers().firstValue("Location");
            if (!(code == 301 || code == 302 || code == 303 || code == 307 || code == 308) || location.isEmpty()) {
                return r;
            }
            close(r);
            if (hop == MAX_REDIRECTS) {
                throw new IOException("more than " + MAX_REDIRECTS + " redirects from " + url);
            }
            URI next;
            try {
                next = uri.resolve(location.get().strip());
            } catch (IllegalArgumentException e) {
                throw new IOException("a redirect to a malformed address");
            }
            String scheme = next.getScheme() == null ? "" : next.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("https") && !(scheme.equals("http") && "http".equalsIgnoreCase(uri.getScheme()))) {
                throw new IOException("refused a redirect from " + uri.getScheme() + " to " + (scheme.isEmpty() ? "no scheme" : scheme));
            }
            uri = next;
        }
    }

    /** Same scheme, host and port (default ports made explicit). */
    static boolean sameOrigin(URI a, URI b) {
        return a.getScheme() != null && a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost() != null
                && a.getHost().equalsIgnoreCase(b.getHost()) && port(a) == port(b);
    }

    private static int port(URI u) {
        return u.getPort() >= 0 ? u.getPort() : "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
    }

    private static void close(HttpResponse<?> r) {
        if (r.body() instanceof InputStream in) {
            try {
                in.close();
            } catch (IOException ignored) {
                // a redirect's body: nothing in it is read
            }
        }
    }

    static long totalFromRange(String contentRange) {
        int slash = contentRange.lastIndexOf('/');
        if (slash < 0 || contentRange.endsWith("*")) {
            return -1;
        }
        return Long.parseLong(contentRange.substring(slash + 1).trim());
    }

    private static String describe(IOException e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    private void printProgress(String file, long received, long total, double bytesPerSec, boolean end) {
        if (progress == null || (!terminal && !end)) {
            return;
        }
        String pct = total > 0 ? String.format(Locale.ROOT, "%3d%%", received * 100 / total) : "   ?";
        String line = String.format(Locale.ROOT, "downloading %-28s %s %8.1f / %s MB  %.1f MB/s", file, pct,
                received / 1e6, total > 0 ? String.format(Locale.ROOT, "%.1f", total / 1e6) : "?", bytesPerSec / 1e6);
        progress.print(terminal ? "\r" + line + (end ? "\n" : "") : line + "\n");
        progress.flush();
    }
}
