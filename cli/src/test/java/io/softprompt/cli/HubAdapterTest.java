package io.softprompt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.softprompt.Fixtures;
import io.softprompt.prompt.PromptFile;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 35: {@code import org/name} answered "not found": hub ids were not read for adapters. A loopback
 * hub serves an adapter exported here; import downloads it into the Hugging Face cache (as huggingface_hub
 * lays it out) and the imported prompt equals the original; a second import makes no download.
 */
class HubAdapterTest {
    static final String COMMIT = "3333333333333333333333333333333333333333";

    @Test
    void anAdapterByHubIdIsDownloadedIntoTheCacheAndImported(@TempDir Path tmp) throws Exception {
        Path task = Fixtures.moodTask(tmp, 3);
        String gpt2 = Fixtures.of("gpt2").toString();
        Path sp = tmp.resolve("p.sp");
        assertEquals(0, Cli.run("train", "--task", task.toString(), "--model", gpt2, "--tokens", "2", "--steps", "1",
                "--depth", "input", "-o", sp.toString()).code());
        Path adapter = tmp.resolve("served");
        assertEquals(0, Cli.run("export", "--prompt", sp.toString(), "--to", "peft", adapter.toString()).code());
        List<String> requests = new CopyOnWriteArrayList<>();
        HttpServer hub = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        hub.createContext("/", ex -> {
            String path = ex.getRequestURI().getPath();
            requests.add(ex.getRequestMethod() + " " + path);
            String prefix = "/someorg/mood-adapter/resolve/";
            Path f = path.startsWith(prefix) ? adapter.resolve(path.substring(path.lastIndexOf('/') + 1)) : null;
            if (f == null || !Files.isRegularFile(f)) {
                ex.sendResponseHeaders(404, -1);
                ex.close();
                return;
            }
            byte[] b = Files.readAllBytes(f);
            ex.getResponseHeaders().add("X-Repo-Commit", COMMIT);
            ex.getResponseHeaders().add("ETag", "\"" + Fixtures.gitBlobId(b) + "\"");
            if (ex.getRequestMethod().equals("HEAD")) {
                ex.getResponseHeaders().add("Content-Length", Integer.toString(b.length));
                ex.sendResponseHeaders(200, -1);
                ex.close();
                return;
            }
            ex.sendResponseHeaders(200, b.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(b);
            }
        });
        hub.start();
        Path cache = tmp.resolve("hf-hub");
        String wasOffline = System.getProperty("softprompt.offline");
        String wasCache = System.getProperty("softprompt.hf.cache");
        System.setProperty("softprompt.hub.endpoint", "http://127.0.0.1:" + hub.getAddress().getPort());
        System.setProperty("softprompt.hf.cache", cache.toString());
        System.setProperty("softprompt.offline", "false");
        try {
            Path back = tmp.resolve("back.sp");
            Cli.Run r = Cli.run("import", "someorg/mood-adapter", "--model", gpt2, "-o", back.toString());
            assertEquals(0, r.code(), r.err());
            assertArrayEquals(PromptFile.read(sp).values(), PromptFile.read(back).values(), "the adapter's prompt, exactly");
            assertEquals("someorg/mood-adapter", PromptFile.read(back).meta(PromptFile.IMPORTED_FROM));
            Path snap = cache.resolve("models--someorg--mood-adapter/snapshots/" + COMMIT);
            assertTrue(Files.isRegularFile(snap.resolve("adapter_config.json")) && Files.isSymbolicLink(snap.resolve("adapter_config.json")),
                    "laid out as huggingface_hub lays it out");
            assertEquals(COMMIT, Files.readString(cache.resolve("models--someorg--mood-adapter/refs/main")));
            int before = requests.size();
            assertEquals(0, Cli.run("import", "someorg/mood-adapter", "--model", gpt2, "-o", tmp.resolve("again.sp").toString())
                    .code());
            assertTrue(requests.subList(before, requests.size()).stream().noneMatch(q -> q.startsWith("GET")),
                    "a cached adapter is not downloaded again: " + requests.subList(before, requests.size()));
            // --init-from takes the hub id (and an adapter folder) as it takes a .sp: the prompt starts as the adapter's
            for (String from : new String[] {"someorg/mood-adapter", adapter.toString()}) {
                Path started = tmp.resolve("started-" + Math.abs(from.hashCode()) + ".sp");
                Cli.Run t = Cli.run("train", "--task", task.toString(), "--model", gpt2, "--init-from", from, "--tokens", "2",
                        "--steps", "0", "--depth", "input", "-o", started.toString());
                assertEquals(0, t.code(), from + ": " + t.err());
                assertArrayEquals(PromptFile.read(sp).values(), PromptFile.read(started).values(), from);
            }
            Cli.Run missing = Cli.run("import", "someorg/no-such-adapter", "--model", gpt2, "-o", tmp.resolve("x.sp").toString());
            assertEquals(2, missing.code(), missing.err());
            assertTrue(missing.errLine().contains("has no adapter_config.json (404)") && missing.errLine().contains("a PEFT adapter id"),
                    missing.err());
        } finally {
            hub.stop(0);
            System.clearProperty("softprompt.hub.endpoint");
            restore("softprompt.hf.cache", wasCache);
            restore("softprompt.offline", wasOffline);
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
