package io.softprompt.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.softprompt.Fixtures;
import io.softprompt.api.SoftPrompt;
import io.softprompt.loader.LoadedModel;
import io.softprompt.train.TrainConfig;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hub client and the Hugging Face cache against a loopback hub that serves a fixture folder as
 * repo "test-org/tiny" at two commits (branch main and branch dev), with the headers the hub sends.
 */
class HubClientTest {
    static final String REPO = "test-org/tiny";
    static final String MAIN_COMMIT = "1111111111111111111111111111111111111111";
    static final String DEV_COMMIT = "2222222222222222222222222222222222222222";
    static final List<String> FILES = Fixtures.HUB_FILES;

    @TempDir
    Path tmp;
    HttpServer server;
    Path served;
    /** How many more model.safetensors responses to cut in the middle. */
    final AtomicInteger cutsLeft = new AtomicInteger();
    volatile boolean corrupt;
    /** When set, the Content-Range every ranged answer carries instead of the right one. */
    volatile String badContentRange;
    final List<String> requests = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws IOException {
        served = Fixtures.of("gpt2");
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    static String commitOf(String revision) {
        return switch (revision) {
            case "main", MAIN_COMMIT -> MAIN_COMMIT;
            case "dev", DEV_COMMIT -> DEV_COMMIT;
            default -> null;
        };
    }

    /**
     * As the hub answers {repo}/resolve/{revision}/{file}: X-Repo-Commit always; small files with their
     * git blob id as ETag; model.safetensors (an LFS file) with a redirect to the storage address
     * (/cdn/ here) carrying X-Linked-Etag (its sha256) and X-Linked-Size.
     */
    void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        String range = ex.getRequestHeaders().getFirst("Range");
        requests.add(ex.getRequestMethod() + " " + path + (range == null ? "" : " " + range));
        String[] parts = path.split("/");
        boolean cdn = path.startsWith("/cdn/");
        Path file = null;
        if (cdn) {
            file = served.resolve(path.substring("/cdn/".length()));
        } else if (parts.length == 6 && (parts[1] + "/" + parts[2]).equals(REPO) && parts[3].equals("resolve")
                && commitOf(parts[4]) != null) {
            file = served.resolve(parts[5]);
            ex.getResponseHeaders().add("X-Repo-Commit", commitOf(parts[4]));
        }
        if (file == null || !Files.isRegularFile(file) || path.contains("..")) {
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
        }
        byte[] all = Files.readAllBytes(file);
        boolean lfs = file.getFileName().toString().equals("model.safetensors");
        if (!cdn && lfs) {
            ex.getResponseHeaders().add("X-Linked-Etag", "\"" + Fixtures.sha256(all) + "\"");
            ex.getResponseHeaders().add("X-Linked-Size", Integer.toString(all.length));
            ex.getResponseHeaders().add("Location", endpoint() + "/cdn/model.safetensors");
            ex.sendResponseHeaders(302, -1);
            ex.close();
            return;
        }
        if (!cdn) {
            ex.getResponseHeaders().add("ETag", "\"" + Fixtures.gitBlobId(all) + "\"");
        }
        int from = 0;
        if (range != null && range.startsWith("bytes=")) {
            from = Integer.parseInt(range.substring(6, range.indexOf('-')));
            if (from >= all.length) {
                ex.getResponseHeaders().add("Content-Range", "bytes */" + all.length);
                ex.sendResponseHeaders(416, -1);
                ex.close();
                return;
            }
            ex.getResponseHeaders().add("Content-Range", badContentRange != null ? badContentRange
                    : "bytes " + from + "-" + (all.length - 1) + "/" + all.length);
        }
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().add("Content-Length", Integer.toString(all.length));
            ex.sendResponseHeaders(200, -1);
            ex.close();
            return;
        }
        int len = all.length - from;
        ex.sendResponseHeaders(range != null ? 206 : 200, len);
        try (OutputStream out = ex.getResponseBody()) {
            if (lfs && cutsLeft.getAndDecrement() > 0) {
                out.write(all, from, len / 2);   // the connection drops half way
                out.flush();
                throw new IOException("cut");
            }
            if (lfs && corrupt) {
                all = all.clone();
                all[all.length - 1] ^= 1;
            }
            out.write(all, from, len);
        }
    }

    HubClient client() {
        return new HubClient(endpoint(), new PrintWriter(new StringWriter()), false);
    }

    HfCache cache() {
        return new HfCache(tmp.resolve("hf-hub"));
    }

    static PrintWriter quiet() {
        return new PrintWriter(new StringWriter());
    }

    /**
     * A cache folder as huggingface_hub lays it out: refs/{revision} holds the commit; each snapshot file
     * is a relative link ../../blobs/{name}; a blob is named by its sha256 (LFS) or git blob id and holds
     * exactly the served bytes; nothing half-downloaded is left.
     */
    void assertHfLayout(Path root, String revision, String commit) throws IOException {
        Path repo = root.resolve("models--test-org--tiny");
        if (!HfCache.isCommit(revision)) {
            assertEquals(commit, Files.readString(repo.resolve("refs").resolve(revision)).strip(), "refs/" + revision);
        }
        Path snap = repo.resolve("snapshots").resolve(commit);
        for (String f : FILES) {
            Path link = snap.resolve(f);
            assertTrue(Files.isSymbolicLink(link), f + " is a link");
            byte[] want = Files.readAllBytes(served.resolve(f));
            String blob = f.equals("model.safetensors") ? Fixtures.sha256(want) : Fixtures.gitBlobId(want);
            assertEquals(Path.of("..", "..", "blobs", blob), Files.readSymbolicLink(link), f);
            assertArrayEquals(want, Files.readAllBytes(repo.resolve("blobs").resolve(blob)), f);
        }
        try (var s = Files.list(repo.resolve("blobs"))) {
            assertTrue(s.noneMatch(p -> p.toString().endsWith(".incomplete")), "no partial blob left");
        }
    }

    @Test
    void downloadsIntoTheCacheAsHuggingFaceHubLaysItOut() throws Exception {
        Path snap = cache().download(client(), REPO, "main", quiet());
        assertEquals(cache().snapshot(REPO, MAIN_COMMIT), snap);
        assertHfLayout(cache().root(), "main", MAIN_COMMIT);
        assertEquals(snap, cache().cached(REPO, "main"), "found again without the network");
        assertTrue(Files.isDirectory(cache().root().resolve(".locks/models--test-org--tiny")),
                "locks where huggingface_hub keeps them");

        requests.clear();
        assertEquals(snap, cache().download(client(), REPO, "main", quiet()));
        assertEquals(List.of("HEAD /" + REPO + "/resolve/main/config.json"), requests,
                "a complete snapshot costs one HEAD request for the commit, no download");
    }

    @Test
    void revisionResolvesABranchToACommitAndSharesBlobs() throws Exception {
        cache().download(client(), REPO, "main", quiet());
        long blobs;
        try (var s = Files.list(cache().repoDir(REPO).resolve("blobs"))) {
            blobs = s.count();
        }
        requests.clear();
        Path dev = cache().download(client(), REPO, "dev", quiet());
        assertEquals(cache().snapshot(REPO, DEV_COMMIT), dev);
        assertHfLayout(cache().root(), "dev", DEV_COMMIT);
        assertHfLayout(cache().root(), "main", MAIN_COMMIT);
        try (var s = Files.list(cache().repoDir(REPO).resolve("blobs"))) {
            assertEquals(blobs, s.count(), "the same bytes at another commit are the same blob");
        }
        assertTrue(requests.stream().noneMatch(r -> r.startsWith("GET")), "nothing downloaded twice: " + requests);
        assertTrue(requests.stream().allMatch(r -> r.contains("/resolve/dev/config.json") || r.contains("/resolve/" + DEV_COMMIT + "/")),
                "the files come from the commit the branch named: " + requests);

        // a commit is used as it is: no refs entry is written for it
        assertEquals(dev, cache().download(client(), REPO, DEV_COMMIT, quiet()));
        assertFalse(Files.exists(cache().repoDir(REPO).resolve("refs").resolve(DEV_COMMIT)));
        assertEquals(dev, cache().cached(REPO, DEV_COMMIT));
    }

    @Test
    void readsACacheLaidOutByHuggingFaceHubWithNoDownload() throws Exception {
        // built from the layout's spec, as huggingface_hub's snapshot_download leaves it
        Path root = tmp.resolve("python-cache");
        String commit = "0123456789abcdef0123456789abcdef01234567";
        Path snap = Fixtures.hfCache(root, REPO, commit, "main", served);
        assertHfLayout(root, "main", commit);

        // the tests run with softprompt.offline=true: nothing may reach the network
        ModelLocator offline = new ModelLocator(tmp.resolve("models"), new HfCache(root), quiet(), false);
        ModelLocator.Located at = offline.locate(REPO);
        assertEquals(snap, at.folder());
        assertEquals(REPO, at.name());
        ModelLocator.Located pinned = offline.locate(REPO + "@" + commit);
        assertEquals(snap, pinned.folder(), "a commit names the same snapshot");
        assertEquals(REPO + "@" + commit, pinned.name(), "a pinned revision is recorded by its commit");
        UserException missing = assertThrows(UserException.class, () -> offline.locate(REPO + "@dev"));
        assertTrue(missing.getMessage().contains("HF_HUB_OFFLINE") && missing.getMessage().contains("models--test-org--tiny"),
                missing.getMessage());
        UserException bad = assertThrows(UserException.class, () -> offline.locate(REPO + "@../../etc"));
        assertTrue(bad.getMessage().contains("not a branch, tag or commit"), bad.getMessage());
        assertTrue(requests.isEmpty(), "no request at all: " + requests);
        try (LoadedModel m = LoadedModel.load(at.folder(), at.name(), "cpu", "auto")) {
            assertEquals(snap, m.folder(), "the model loads through the links");
        }
    }

    /**
     * A folder that happens to carry a hub id's or the embedded model's name but holds no config.json
     * (run from this repository's root, "sentiment-lm" is the embedded model's source module) is not
     * taken for the model: the name is resolved as a name.
     */
    @Test
    void aFolderWithoutConfigDoesNotShadowAModelName() {
        assertTrue(Files.isDirectory(Path.of("src")), "the test runs in the module folder, which has src/");
        ModelLocator offline = new ModelLocator(tmp.resolve("models"), cache(), quiet(), false);
        UserException e = assertThrows(UserException.class, () -> offline.locate("src"));
        assertTrue(e.getMessage().contains("Hugging Face cache"), "resolved as a hub id: " + e.getMessage());
        ModelLocator.Located embedded = offline.locate("sentiment-lm");
        assertTrue(embedded.embedded(), "the embedded model, not a folder of that name");
    }

    @Test
    void aCutTransferResumesWithARangeRequest() throws Exception {
        cutsLeft.set(1);
        UserException e = assertThrows(UserException.class, () -> cache().download(client(), REPO, "main", quiet()));
        assertTrue(e.getMessage().contains("model.safetensors") && e.getMessage().contains("again to resume"),
                e.getMessage());
        assertNull(cache().cached(REPO, "main"), "no snapshot counts as complete until every file is");
        String sha = Fixtures.sha256(Files.readAllBytes(served.resolve("model.safetensors")));
        Path part = cache().repoDir(REPO).resolve("blobs").resolve(sha + ".incomplete");
        long have = Files.size(part);
        assertTrue(have > 0, "the partial blob is kept where huggingface_hub keeps it");

        cache().download(client(), REPO, "main", quiet());
        assertHfLayout(cache().root(), "main", MAIN_COMMIT);
        assertTrue(requests.contains("GET /cdn/model.safetensors bytes=" + have + "-"),
                "resumed from byte " + have + ": " + requests);
        assertEquals(1, requests.stream().filter(r -> r.startsWith("GET") && r.endsWith("/config.json")).count(),
                "finished files are not fetched again");
    }

    /**
     * Issue 34: a partial download longer than the file (the hub's file was replaced, or another tool
     * wrote there) used to be resumed with a range past the end, answered 416, taken as complete and
     * refused for its size on every run after: "run the same command again" never helped. It is
     * discarded and the file downloaded again.
     */
    @Test
    void aPartLongerThanTheFileIsDiscardedAndDownloadedAgain() throws Exception {
        byte[] weights = Files.readAllBytes(served.resolve("model.safetensors"));
        Path part = cache().repoDir(REPO).resolve("blobs").resolve(Fixtures.sha256(weights) + ".incomplete");
        Files.createDirectories(part.getParent());
        Files.write(part, new byte[weights.length + 100]);
        cache().download(client(), REPO, "main", quiet());
        assertHfLayout(cache().root(), "main", MAIN_COMMIT);
        assertTrue(requests.contains("GET /cdn/model.safetensors"), "fetched from its first byte: " + requests);
    }

    /** A resumed download answered with a non-numeric total (was an internal error) starts the file again. */
    @Test
    void aMalformedContentRangeStartsTheFileAgain() throws Exception {
        cutsLeft.set(1);
        assertThrows(UserException.class, () -> cache().download(client(), REPO, "main", quiet()));
        badContentRange = "bytes 0-10/abc";
        requests.clear();
        cache().download(client(), REPO, "main", quiet());
        assertHfLayout(cache().root(), "main", MAIN_COMMIT);
        List<String> gets = requests.stream().filter(r -> r.startsWith("GET /cdn/")).toList();
        assertEquals(2, gets.size(), "one resume, refused, then the whole file: " + requests);
        assertTrue(gets.get(0).contains("bytes=") && gets.get(1).equals("GET /cdn/model.safetensors"), gets.toString());
    }

    /**
     * Issue 34: a cache that holds the whole model is used as it is. refs/main was rewritten on every run,
     * so a read-only cache failed whenever the hub was reachable; now nothing is written unless the
     * commit changed, and a ref that cannot be written (here: a folder where the file should be, which
     * fails for root too) is a note when every file is there.
     */
    @Test
    void aCacheThatHoldsTheModelIsUsedWithoutWritingToIt() throws Exception {
        Path snap = cache().download(client(), REPO, "main", quiet());
        Path ref = cache().repoDir(REPO).resolve("refs").resolve("main");
        java.nio.file.attribute.FileTime old = java.nio.file.attribute.FileTime.fromMillis(1_000_000_000_000L);
        Files.setLastModifiedTime(ref, old);
        assertEquals(snap, cache().download(client(), REPO, "main", quiet()));
        assertEquals(old, Files.getLastModifiedTime(ref), "refs/main is not rewritten when it already names the commit");

        Files.delete(ref);
        Files.createDirectories(ref.resolve("unwritable"));
        StringWriter notes = new StringWriter();
        assertEquals(snap, cache().download(client(), REPO, MAIN_COMMIT, new PrintWriter(notes)), "by commit: no ref needed");
        assertEquals(snap, cache().download(client(), REPO, "main", new PrintWriter(notes)));
        assertTrue(notes.toString().contains("could not record " + REPO + "@main") && notes.toString().contains("used as they are"),
                notes.toString());
    }

    @Test
    void aBlobWhoseSha256IsNotTheHubsIsRefused() {
        corrupt = true;
        UserException e = assertThrows(UserException.class, () -> cache().download(client(), REPO, "main", quiet()));
        assertTrue(e.getMessage().contains("sha256"), e.getMessage());
        assertNull(cache().cached(REPO, "main"));
    }

    /**
     * The hub's file downloads redirect to another host (its storage); the token must stay with the
     * host it was meant for, as huggingface_hub does: a loopback "storage" server on another port gets
     * the redirected requests without it, while the endpoint itself and a same-host redirect keep it.
     */
    @Test
    void theTokenNeverFollowsARedirectToAnotherHost() throws Exception {
        HttpServer storage = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        List<String> storageAuth = new CopyOnWriteArrayList<>();
        List<String> hubAuth = new CopyOnWriteArrayList<>();
        storage.createContext("/", ex -> {
            storageAuth.add(String.valueOf(ex.getRequestHeaders().getFirst("Authorization")));
            handle(ex);
        });
        storage.start();
        HttpServer hub = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        hub.createContext("/", ex -> {
            hubAuth.add(String.valueOf(ex.getRequestHeaders().getFirst("Authorization")));
            String path = ex.getRequestURI().getPath();
            if (path.startsWith("/same/")) { // a redirect within the hub's own host
                ex.getResponseHeaders().add("Location", path.substring("/same".length()));
                ex.sendResponseHeaders(302, -1);
                ex.close();
            } else if (ex.getRequestMethod().equals("GET")
                    && (path.endsWith("/model.safetensors") || path.endsWith("/config.json"))) { // to the storage host
                ex.getResponseHeaders().add("Location", "http://127.0.0.1:" + storage.getAddress().getPort() + path);
                ex.sendResponseHeaders(302, -1);
                ex.close();
            } else {
                handle(ex);
            }
        });
        hub.start();
        try {
            String hubUrl = "http://127.0.0.1:" + hub.getAddress().getPort();
            HubClient c = new HubClient(hubUrl, "hf_secret_token", quiet(), false);
            Path snap = cache().download(c, REPO, "main", quiet());
            assertArrayEquals(Files.readAllBytes(served.resolve("model.safetensors")),
                    Files.readAllBytes(snap.resolve("model.safetensors")));
            assertTrue(storageAuth.size() >= 2, "the redirected files came from the storage host: " + storageAuth);
            assertTrue(storageAuth.stream().allMatch("null"::equals), "no token to another host: " + storageAuth);
            assertTrue(hubAuth.stream().allMatch("Bearer hf_secret_token"::equals), "the hub gets it: " + hubAuth);

            hubAuth.clear();
            HubClient same = new HubClient(hubUrl + "/same", "hf_secret_token", quiet(), false);
            new HfCache(tmp.resolve("hf-hub2")).download(same, REPO, "main", quiet());
            assertTrue(hubAuth.size() >= 2 && hubAuth.stream().allMatch("Bearer hf_secret_token"::equals),
                    "a redirect within the endpoint's host keeps it: " + hubAuth);
        } finally {
            hub.stop(0);
            storage.stop(0);
        }
    }

    @Test
    void hfHubOfflineTakesHuggingFaceHubsTruthyValues() {
        for (String v : List.of("1", "true", "TRUE", "yes", "On", " y ")) {
            assertTrue(HubClient.truthy(v), v);
        }
        for (String v : new String[] {null, "", "0", "false", "no", "off", "2"}) {
            assertFalse(HubClient.truthy(v), String.valueOf(v));
        }
    }

    @Test
    void sameOriginMeansSchemeHostAndPort() {
        URI hub = URI.create("https://huggingface.co");
        assertTrue(HubClient.sameOrigin(URI.create("https://huggingface.co/gpt2/resolve/main/x"), hub));
        assertTrue(HubClient.sameOrigin(URI.create("https://HuggingFace.co:443/x"), hub));
        assertFalse(HubClient.sameOrigin(URI.create("https://cdn-lfs.huggingface.co/x"), hub));
        assertFalse(HubClient.sameOrigin(URI.create("http://huggingface.co/x"), hub), "a downgrade is another origin");
        assertFalse(HubClient.sameOrigin(URI.create("https://huggingface.co:8443/x"), hub));
        assertFalse(HubClient.sameOrigin(URI.create("https://huggingface.co.evil.example/x"), hub));
    }

    @Test
    void unknownRepoOrRevisionIs404() {
        UserException e = assertThrows(UserException.class,
                () -> cache().download(client(), "nobody/nothing", "main", quiet()));
        assertTrue(e.getMessage().contains("(404)") && e.getMessage().contains("model id"), e.getMessage());
        UserException rev = assertThrows(UserException.class,
                () -> cache().download(client(), REPO, "no-such-branch", quiet()));
        assertTrue(rev.getMessage().contains("'no-such-branch' one of its revisions"), rev.getMessage());
    }

    @Test
    void unreachableHubFallsBackToTheCacheOrSaysWhatToDo() throws IOException {
        int port;
        try (var s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort(); // closed again: nothing listens there
        }
        HubClient c = new HubClient("http://127.0.0.1:" + port, null, false);
        UserException e = assertThrows(UserException.class, () -> cache().download(c, REPO, "main", quiet()));
        assertTrue(e.getMessage().contains("cannot reach") && e.getMessage().contains("pass model DIR"), e.getMessage());
        assertFalse(c.reachable("gpt2"));

        // with the revision in the cache, an unreachable hub is a note and the cached snapshot
        Path snap = cache().download(client(), REPO, "main", quiet());
        StringWriter notes = new StringWriter();
        assertEquals(snap, cache().download(c, REPO, "main", new PrintWriter(notes)));
        assertTrue(notes.toString().contains("using the cached " + REPO + "@main (" + MAIN_COMMIT + ")"), notes.toString());
    }

    @Test
    void theLibraryDownloadsAHubIdIntoTheHuggingFaceCache() throws Exception {
        String oldOffline = System.getProperty("softprompt.offline");
        String oldCache = System.getProperty("softprompt.hf.cache");
        System.setProperty("softprompt.offline", "false");
        System.setProperty("softprompt.hub.endpoint", endpoint());
        System.setProperty("softprompt.hf.cache", tmp.resolve("hf-hub").toString());
        try {
            Path models = tmp.resolve("models");
            Path task = tmp.resolve("t.json");
            Files.writeString(task, "{\"name\":\"t\",\"template\":\"{sentence} it was\","
                    + "\"verbalizer\":{\"0\":\" bad\",\"1\":\" good\"},\"train\":\"d.tsv\"}");
            Files.writeString(tmp.resolve("d.tsv"), "sentence\tlabel\na good movie\t1\na bad plot\t0\n");
            StringWriter progress = new StringWriter();
            try (SoftPrompt sp = SoftPrompt.load(REPO, models, new PrintWriter(progress), false)) {
                sp.train(TrainConfig.builder().task(task.toString()).tokens(2).steps(2).output(tmp.resolve("t.sp").toString())
                        .build());
            }
            assertTrue(progress.toString().contains("downloading"), progress.toString());
            assertHfLayout(tmp.resolve("hf-hub"), "main", MAIN_COMMIT);
            assertFalse(Files.exists(models.resolve(REPO)), "hub models go to the Hugging Face cache, not the models folder");
            int before = requests.size();
            try (SoftPrompt sp = SoftPrompt.load(REPO + "@dev", models, quiet(), false)) {
                assertEquals(REPO + "@" + DEV_COMMIT, sp.name(), "a branch is recorded as the commit it named");
            }
            assertTrue(requests.subList(before, requests.size()).stream().noneMatch(r -> r.startsWith("GET")),
                    "a model already in the cache is not downloaded again: " + requests.subList(before, requests.size()));
        } finally {
            restore("softprompt.offline", oldOffline);
            restore("softprompt.hf.cache", oldCache);
            System.clearProperty("softprompt.hub.endpoint");
        }
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }
}
