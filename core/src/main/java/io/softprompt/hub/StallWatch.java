package io.softprompt.hub;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A read timeout for a response body: java.net.http has none once the headers have come, so a storage
 * host that stops sending mid-file would block a read forever. The watch closes the stream when no
 * byte has come for {@code limit}, which ends the blocked read with an IOException; {@link #read} then
 * says how long it waited.
 */
final class StallWatch implements AutoCloseable {
    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "softprompt-download-watch");
        t.setDaemon(true);
        return t;
    });

    private final InputStream in;
    private final long limitNanos;
    private final ScheduledFuture<?> check;
    private volatile long last = System.nanoTime();
    private volatile boolean stalled;

    StallWatch(InputStream in, Duration limit) {
        this.in = in;
        this.limitNanos = limit.toNanos();
        long every = Math.max(10, Math.min(1000, limit.toMillis() / 4));
        this.check = TIMER.scheduleAtFixedRate(this::check, every, every, TimeUnit.MILLISECONDS);
    }

    private void check() {
        if (System.nanoTime() - last > limitNanos && !stalled) {
            stalled = true;
            try {
                in.close(); // ends the blocked read
            } catch (IOException e) {
                // closing a stream that failed already: nothing more to do
            }
        }
    }

    /** As InputStream.read(byte[]); a stall is an IOException naming the wait and the setting. */
    int read(byte[] buf) throws IOException {
        try {
            int n = in.read(buf);
            last = System.nanoTime();
            return n;
        } catch (IOException e) {
            if (stalled) {
                throw new IOException("no data for " + limitNanos / 1_000_000 + " ms (HF_HUB_DOWNLOAD_TIMEOUT)");
            }
            throw e;
        }
    }

    @Override
    public void close() {
        check.cancel(false);
    }
}
