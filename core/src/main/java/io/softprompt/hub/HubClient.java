package io.softprompt.hub;

import io.softprompt.util.Redaction;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;

/**
 * Talks to the Hugging Face hub ({endpoint}/{repo}/resolve/{revision}/{file}): a file's metadata by a
 * HEAD request (commit, ETag, size) and its bytes, resumable with an HTTP Range request and size-checked
 * against Content-Length / Content-Range. HF_TOKEN, when set, goes to the endpoint's own origin only.
 * Where the files go is {@link HfCache}'s business.
 */
public final class HubClient {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

    private final String endpoint;
    private final String token;
    private final HttpClient http;
    private final PrintWriter progress;
    private final boolean terminal;
    private final HubTimeouts timeouts;

    public HubClient(String endpoint, PrintWriter progress, boolean terminal) {
        this(endpoint, System.getenv("HF_TOKEN"), progress, terminal);
    }

    /** With the access token given (null: none) rather than HF_TOKEN's. */
    public HubClient(String endpoint, String token, PrintWriter progress, boolean terminal) {
        this(endpoint, token, progress, terminal, HubTimeouts.fromEnvironment());
    }

    /** With the timeouts given rather than the environment's. */
    public HubClient(String endpoint, String token, PrintWriter progress, boolean terminal, HubTimeouts timeouts) {
        this.token = token == null || token.isBlank() ? null : HubHeaders.checkedToken(Redaction.secret(token).strip());
        this.endpoint = HubHeaders.checkedEndpoint(endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint);
        this.timeouts = timeouts;
        this.http = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER) // followed by send(): the token must not follow them
                .connectTimeout(timeouts.download())
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

    /** What the hub says of one file at a revision, before any byte of it is sent. */
    record Metadata(String commit, String etag, long size) {
    }

    /**
     * A HEAD request for {endpoint}/{repo}/resolve/{revision}/{file}, as huggingface_hub makes it: the
     * commit from X-Repo-Commit, the blob's name from X-Linked-Etag (LFS files, answered with a redirect
     * to the storage host, which is not followed) or ETag, the size from X-Linked-Size or Content-Length.
     * Null when the hub has no such file (404).
     */
    Metadata metadata(String repo, String revision, String file) throws IOException {
        String url = url(repo, revision, file);
        HttpResponse<Void> r;
        try {
            r = send(url, b -> b.method("HEAD", HttpRequest.BodyPublishers.noBody()).header("Accept-Encoding", "identity")
                            .timeout(timeouts.etag()), HttpResponse.BodyHandlers.discarding(), false);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        } catch (IOException e) {
            throw new Unreachable(describe(e));
        }
        int code = r.statusCode();
        if (code == 404) {
            return null;
        }
        if (code == 401 || code == 403) {
            throw new UserException("hub: " + repo + "/" + file + " needs authorisation (" + code
                    + "); set HF_TOKEN to an access token");
        }
        if (code != 200 && !(code >= 300 && code < 400)) {
            throw new UserException("hub: HEAD " + url + " answered HTTP " + code);
        }
        var h = r.headers();
        String etag = h.firstValue("X-Linked-Etag").or(() -> h.firstValue("ETag")).map(HubHeaders::normalizeEtag).orElse(null);
        long size;
        try {
            size = h.firstValue("X-Linked-Size").map(Long::parseLong)
                    .orElse(code == 200 ? h.firstValueAsLong("Content-Length").orElse(-1L) : -1L);
        } catch (NumberFormatException e) {
            throw new UserException("hub: HEAD " + url + ": X-Linked-Size is not a number");
        }
        return new Metadata(h.firstValue("X-Repo-Commit").orElse(null), etag, size);
    }

    private String url(String repo, String revision, String file) {
        return endpoint + "/" + repo + "/resolve/" + URLEncoder.encode(revision, StandardCharsets.UTF_8) + "/" + file;
    }

    /**
     * Streams one file into {@code part}, continuing a partial one with an HTTP Range request; returns
     * the file's length. An interrupted transfer leaves the part for the next run to resume.
     */
    long fetchTo(String repo, String revision, String file, Path part, long size) throws IOException {
        return fetchTo(repo, revision, file, part, size, true);
    }

    /**
     * As above; a part that cannot be resumed — longer than the file, refused by the server (416) though
     * short of the size, or answered with a Content-Range that is malformed or starts elsewhere — is
     * discarded and, when {@code retry}, fetched again from its first byte.
     */
    private long fetchTo(String repo, String revision, String file, Path part, long size, boolean retry) throws IOException {
        long have = Files.isRegularFile(part) ? Files.size(part) : 0;
        if (size >= 0 && have > size) {
            Files.delete(part); // longer than the file: no range of it can continue it
            have = 0;
        }
        String url = url(repo, revision, file);
        long from = have;
        HttpResponse<InputStream> resp;
        try {
            resp = send(url, b -> (from > 0 ? b.GET().header("Range", "bytes=" + from + "-") : b.GET())
                    .timeout(timeouts.download()), HttpResponse.BodyHandlers.ofInputStream());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        } catch (IOException e) {
            throw new Unreachable(describe(e));
        }
        int code = resp.statusCode();
        if (code == 416 && have > 0) {
            resp.body().close();
            if (size < 0 || have == size) {
                return have; // already complete
            }
            return restart(repo, revision, file, part, size, retry, "the server refused to resume it");
        }
        if (code == 401 || code == 403) {
            resp.body().close();
            throw new UserException("hub: " + repo + "/" + file + " needs authorisation (" + code
                    + "); set HF_TOKEN to an access token");
        }
        if (code != 200 && code != 206) {
            resp.body().close();
            throw new UserException("hub: " + url + " answered HTTP " + code);
        }
        long total;
        boolean append = code == 206;
        if (append) {
            long[] range = HubHeaders.contentRange(resp.headers().firstValue("Content-Range").orElse(""));
            if (range == null || range[0] != from) {
                resp.body().close();
                return restart(repo, revision, file, part, size, retry, range == null
                        ? "the server's Content-Range is malformed" : "the server sent another range than asked");
            }
            total = range[1];
        } else {
            have = 0;
            total = resp.headers().firstValueAsLong("Content-Length").orElse(-1L);
        }
        long received = have;
        long start = System.nanoTime();
        long lastPrint = 0;
        try (InputStream in = resp.body();
             StallWatch watch = new StallWatch(in, timeouts.download());
             OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = watch.read(buf)) > 0) {
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
            throw new Unreachable(file + ": transfer interrupted after " + received + " of "
                    + (total < 0 ? "?" : Long.toString(total)) + " bytes (" + describe(e) + ")");
        }
        if (total >= 0 && received != total) {
            throw new Unreachable(file + ": received " + received + " of " + total + " bytes");
        }
        printProgress(file, received, total, (received - have) / Math.max((System.nanoTime() - start) / 1e9, 1e-3), true);
        return received;
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
        return send(url, method, body, true);
    }

    /**
     * As above; with {@code anywhere} false only relative redirects (a renamed repository) are followed
     * and any other is returned as it came (huggingface_hub's HEAD: an LFS file's redirect carries its
     * metadata).
     */
    <T> HttpResponse<T> send(String url, java.util.function.UnaryOperator<HttpRequest.Builder> method,
            HttpResponse.BodyHandler<T> body, boolean anywhere) throws IOException, InterruptedException {
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
            if (!anywhere && (location.get().strip().startsWith("//") || !location.get().strip().startsWith("/"))) {
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

    /** Discards a part that cannot be resumed and fetches the file from its start (once). */
    private long restart(String repo, String revision, String file, Path part, long size, boolean retry, String why)
            throws IOException {
        Files.deleteIfExists(part);
        if (!retry) {
            throw new Unreachable(file + ": " + why + " (partial download discarded)");
        }
        return fetchTo(repo, revision, file, part, size, false);
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
