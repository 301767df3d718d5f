package io.softprompt.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.softprompt.util.UserException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hub client never hangs (issue 34): a hub that accepts the connection and never answers fails
 * the metadata request after HF_HUB_ETAG_TIMEOUT, a storage host that stalls mid-file fails the
 * download after HF_HUB_DOWNLOAD_TIMEOUT with the part kept for the next run to resume. Before the
 * timeouts both waited forever. The servers are raw sockets on loopback that hold the connection open.
 */
class HubTimeoutsTest {
    static final HubTimeouts SHORT = new HubTimeouts(Duration.ofMillis(300), Duration.ofMillis(300));

    /** A server that reads one request, writes {@code reply} (may be empty), then holds the connection until released. */
    static ServerSocket holding(byte[] reply, CountDownLatch release) throws IOException {
        ServerSocket ss = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            try (Socket s = ss.accept()) {
                BufferedReader r = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
                for (String line = r.readLine(); line != null && !line.isEmpty(); line = r.readLine()) {
                    // the request's head
                }
                OutputStream o = s.getOutputStream();
                o.write(reply);
                o.flush();
                release.await();
            } catch (IOException | InterruptedException e) {
                // the test is over
            }
        }, "holding-server");
        t.setDaemon(true);
        t.start();
        return ss;
    }

    static HubClient client(ServerSocket ss) {
        return new HubClient("http://127.0.0.1:" + ss.getLocalPort(), null, new PrintWriter(new StringWriter()), false, SHORT);
    }

    @Test
    void aHubThatNeverAnswersFailsAfterTheEtagTimeout() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (ServerSocket ss = holding(new byte[0], release)) {
            long t0 = System.nanoTime();
            IOException e = assertThrows(IOException.class, () -> client(ss).metadata("org/model", "main", "config.json"));
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.printf("TIMEOUT metadata from a silent hub: %s after %.2f s%n", e.getMessage(), secs);
            assertTrue(e instanceof HubClient.Unreachable, e.toString());
            assertTrue(secs < 5, "waited " + secs + " s");
        } finally {
            release.countDown();
        }
    }

    @Test
    void aStorageHostThatStallsMidFileFailsAfterTheDownloadTimeoutAndKeepsThePart(@TempDir Path tmp) throws Exception {
        byte[] head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
        byte[] reply = new byte[head.length + 1000];
        System.arraycopy(head, 0, reply, 0, head.length);
        CountDownLatch release = new CountDownLatch(1);
        try (ServerSocket ss = holding(reply, release)) {
            Path part = tmp.resolve("model.safetensors.incomplete");
            long t0 = System.nanoTime();
            IOException e = assertThrows(IOException.class, () -> client(ss).fetchTo("org/model", "main", "model.safetensors", part, -1));
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.printf("TIMEOUT stalled download: %s after %.2f s%n", e.getMessage(), secs);
            assertTrue(e.getMessage().contains("after 1000 of 100000 bytes") && e.getMessage().contains("HF_HUB_DOWNLOAD_TIMEOUT"),
                    e.getMessage());
            assertTrue(secs < 5, "waited " + secs + " s");
            assertEquals(1000, Files.size(part), "the part stays for the next run to resume");
        } finally {
            release.countDown();
        }
    }

    @Test
    void theTimeoutsAreReadAsHuggingFaceHubReadsThem() {
        assertEquals(Duration.ofSeconds(10), HubTimeouts.seconds("HF_HUB_ETAG_TIMEOUT", null));
        assertEquals(Duration.ofSeconds(10), HubTimeouts.seconds("HF_HUB_ETAG_TIMEOUT", " "));
        assertEquals(Duration.ofMillis(2500), HubTimeouts.seconds("HF_HUB_DOWNLOAD_TIMEOUT", "2.5"));
        for (String bad : new String[] {"ten", "0", "-1", "NaN", "1e9"}) {
            UserException e = assertThrows(UserException.class, () -> HubTimeouts.seconds("HF_HUB_DOWNLOAD_TIMEOUT", bad));
            assertTrue(e.getMessage().startsWith("HF_HUB_DOWNLOAD_TIMEOUT must be"), e.getMessage());
        }
    }
}
