package io.softprompt.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.softprompt.Fixtures;
import io.softprompt.api.SoftPrompt;
import io.softprompt.train.TrainConfig;
import io.softprompt.util.UserException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The hub downloader against a loopback server that serves a fixture folder as repo "test-org/tiny". */
class HubClientTest {
    static final String REPO = "test-org/tiny";

    @TempDir
    Path tmp;
    HttpServer server;
    Path served;
    /** How many more model.safetensors responses to cut in the middle. */
    final AtomicInteger cutsLeft = new AtomicInteger();
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

    void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        String range = ex.getRequestHeaders().getFirst("Range");
        requests.add(ex.getRequestMethod() + " " + path + (range == null ? "" : " " + range));
        String prefix = "/" + REPO + "/resolve/main/";
        Path file = path.startsWith(prefix) ? served.resolve(path.substring(prefix.length())) : null;
        if (file == null || !Files.isRegularFile(file) || path.contains("..")) {
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
        }
        byte[] all = Files.readAllBytes(file);
        int from = 0;
        if (range != null && range.startsWith("bytes=")) {
            from = Integer.parseInt(range.substring(6, range.indexOf('-')));
            ex.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + (all.length - 1) + "/" + all.length);
        }
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(200, -1);
            ex.close();
            return;
        }
        int len = all.length - from;
        ex.sendResponseHeaders(range != null ? 206 : 200, len);
        try (OutputStream out = ex.getResponseBody()) {
            if (file.getFileName().toString().equals("model.safetensors") && cutsLeft.getAndDecrement() > 0) {
                out.write(all, from, len / 2);   // the connection drops half way
                out.flush();
                ex.getHttpContext().getServer(); // keep the exchange referenced
                throw new IOException("cut");
            }
            out.write(all, from, len);
        }
    }

    HubClient client() {
        return new HubClient(endpoint(), new PrintWriter(new StringWriter()), false);
    }

    @Test
    void downloadsAFolderAtomically() throws Exception {
        Path target = tmp.resolve("models").resolve(REPO);
        client().download(REPO, "main", target);
        for (String f : List.of("config.json", "tokenizer.json", "model.safetensors", "tokenizer_config.json")) {
            assertArrayEquals(Files.readAllBytes(served.resolve(f)), Files.readAllBytes(target.resolve(f)), f);
        }
        assertFalse(Files.exists(target.resolveSibling(".tiny.download")), "staging folder renamed away");
        try (var s = Files.list(target)) {
            assertTrue(s.noneMatch(p -> p.toString().endsWith(".part")));
        }
    }

    @Test
    void aCutTransferResumesWithARangeRequest() throws Exception {
        Path target = tmp.resolve("models").resolve(REPO);
        cutsLeft.set(1);
        UserException e = assertThrows(UserException.class, () -> client().download(REPO, "main", target));
        assertTrue(e.getMessage().contains("model.safetensors") && e.getMessage().contains("again to resume"),
                e.getMessage());
        assertFalse(Files.exists(target), "nothing appears at the target until every file is complete");
        Path part = target.resolveSibling(".tiny.download").resolve("model.safetensors.part");
        long have = Files.size(part);
        assertTrue(have > 0, "the partial file is kept");

        client().download(REPO, "main", target);
        assertArrayEquals(Files.readAllBytes(served.resolve("model.safetensors")),
                Files.readAllBytes(target.resolve("model.safetensors")));
        assertTrue(requests.contains("GET /" + REPO + "/resolve/main/model.safetensors bytes=" + have + "-"),
                "resumed from byte " + have + ": " + requests);
        assertEquals(1, requests.stream().filter(r -> r.endsWith("/config.json")).count(), "finished files are not fetched again");
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
            } else if (path.endsWith("/model.safetensors") || path.endsWith("/config.json")) { // to the storage host
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
            HubClient c = new HubClient(hubUrl, "hf_secret_token", new PrintWriter(new StringWriter()), false);
            Path target = tmp.resolve("models").resolve(REPO);
            c.download(REPO, "main", target);
            assertArrayEquals(Files.readAllBytes(served.resolve("model.safetensors")),
                    Files.readAllBytes(target.resolve("model.safetensors")));
            assertTrue(storageAuth.size() >= 2, "the redirected files came from the storage host: " + storageAuth);
            assertTrue(storageAuth.stream().allMatch("null"::equals), "no token to another host: " + storageAuth);
            assertTrue(hubAuth.stream().allMatch("Bearer hf_secret_token"::equals), "the hub gets it: " + hubAuth);

            hubAuth.clear();
            HubClient same = new HubClient(hubUrl + "/same", "hf_secret_token", new PrintWriter(new StringWriter()), false);
            Path again = tmp.resolve("models2").resolve(REPO);
            same.download(REPO, "main", again);
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
    void unknownRepoIs404() {
        UserException e = assertThrows(UserException.class,
                () -> client().download("nobody/nothing", "main", tmp.resolve("models/nobody/nothing")));
        assertTrue(e.getMessage().contains("not found (404)"), e.getMessage());
    }

    @Test
    void unreachableHubSaysWhereToPutTheFiles() throws IOException {
        int port;
        try (var s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort(); // closed again: nothing listens there
        }
        Path target = tmp.resolve("models/gpt2");
        HubClient c = new HubClient("http://127.0.0.1:" + port, null, false);
        UserException e = assertThrows(UserException.class, () -> c.download("gpt2", "main", target));
        assertTrue(e.getMessage().contains("cannot reach") && e.getMessage().contains(target.toString()), e.getMessage());
        assertFalse(c.reachable("gpt2"));
    }

    @Test
    void theLibraryDownloadsAHubIdIntoItsModelsFolder() throws Exception {
        String oldOffline = System.getProperty("softprompt.offline");
        System.setProperty("softprompt.offline", "false");
        System.setProperty("softprompt.hub.endpoint", endpoint());
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
            assertTrue(Files.isRegularFile(models.resolve(REPO).resolve("model.safetensors")));
            int before = requests.size();
            try (SoftPrompt sp = SoftPrompt.load(REPO, models, new PrintWriter(new StringWriter()), false)) {
                sp.train(TrainConfig.builder().task(task.toString()).tokens(2).steps(2).output(tmp.resolve("t2.sp").toString())
                        .build());
            }
            assertEquals(before, requests.size(), "a model already in the models folder is not downloaded again");
        } finally {
            if (oldOffline == null) {
                System.clearProperty("softprompt.offline");
            } else {
                System.setProperty("softprompt.offline", oldOffline);
            }
            System.clearProperty("softprompt.hub.endpoint");
        }
    }
}
