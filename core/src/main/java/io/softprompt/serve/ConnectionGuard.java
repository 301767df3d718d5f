package io.softprompt.serve;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The executor the JDK's HTTP server runs exchanges on, with the protections a server facing hostile
 * clients needs and com.sun.net.httpserver does not have per server:
 *
 * <ul>
 *   <li>A read deadline: the server reads a request's line and headers on the exchange's thread, so a
 *       client that trickles them holds that thread. Each exchange starts with a deadline; a
 *       watchdog interrupts a thread still reading when it passes (socket channels are
 *       interruptible: the read fails, the connection is closed, the thread is free again). The
 *       handler keeps the deadline while it reads the body, disarms it while it works, re-arms it
 *       while it writes the answer.
 *   <li>A cap: at most {@code maxConnections} exchanges at once; beyond it an exchange runs on a small
 *       overflow pool where the handler only answers 503 ({@link #overloaded()}).
 * </ul>
 */
final class ConnectionGuard implements Executor, AutoCloseable {
    /** One exchange's deadline; the watchdog interrupts its thread once, and only while armed. */
    static final class Deadline {
        private final Thread thread;
        private long until;
        private boolean armed = true;

        Deadline(Thread thread, long until) {
            this.thread = thread;
            this.until = until;
        }

        synchronized void disarm() {
            armed = false;
        }

        synchronized void arm(long nanos) {
            until = System.nanoTime() + nanos;
            armed = true;
        }

        synchronized boolean expire(long now) {
            if (armed && now > until) {
                armed = false;
                thread.interrupt();
                return true;
            }
            return false;
        }
    }

    private static final ThreadLocal<Deadline> CURRENT = new ThreadLocal<>();
    private static final ThreadLocal<Boolean> OVERLOADED = new ThreadLocal<>();

    private final int maxConnections;
    private final long timeoutNanos;
    private final ThreadPoolExecutor pool;
    private final ExecutorService overflow;
    private final ScheduledExecutorService watchdog;
    private final Map<Deadline, Boolean> live = new ConcurrentHashMap<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger dropped = new AtomicInteger();

    ConnectionGuard(int maxConnections, long readTimeoutMillis) {
        this.maxConnections = maxConnections;
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(readTimeoutMillis);
        this.pool = new ThreadPoolExecutor(maxConnections, maxConnections, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                daemon("softprompt-http"));
        pool.allowCoreThreadTimeOut(true);
        this.overflow = Executors.newFixedThreadPool(2, daemon("softprompt-http-overflow"));
        this.watchdog = Executors.newSingleThreadScheduledExecutor(daemon("softprompt-http-watchdog"));
        long tick = Math.max(10, Math.min(100, readTimeoutMillis / 10));
        watchdog.scheduleAtFixedRate(this::expire, tick, tick, TimeUnit.MILLISECONDS);
    }

    private static ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public void execute(Runnable exchange) {
        if (inFlight.incrementAndGet() > maxConnections) {
            inFlight.decrementAndGet();
            overflow.execute(() -> guarded(exchange, true));
            return;
        }
        try {
            pool.execute(() -> {
                try {
                    guarded(exchange, false);
                } finally {
                    inFlight.decrementAndGet();
                }
            });
        } catch (RuntimeException e) {
            inFlight.decrementAndGet();
            throw e;
        }
    }

    private void guarded(Runnable exchange, boolean overloaded) {
        Deadline d = new Deadline(Thread.currentThread(), System.nanoTime() + (overloaded ? Math.min(timeoutNanos,
                TimeUnit.SECONDS.toNanos(1)) : timeoutNanos));
        live.put(d, Boolean.TRUE);
        CURRENT.set(d);
        OVERLOADED.set(overloaded);
        try {
            exchange.run();
        } finally {
            d.disarm();
            live.remove(d);
            CURRENT.remove();
            OVERLOADED.remove();
            Thread.interrupted(); // an interrupt that came for this exchange must not reach the next one
        }
    }

    private void expire() {
        long now = System.nanoTime();
        for (Deadline d : live.keySet()) {
            if (d.expire(now)) {
                dropped.incrementAndGet();
            }
        }
    }

    /** Whether the exchange on this thread came past the cap: answer 503 and nothing else. */
    static boolean overloaded() {
        return Boolean.TRUE.equals(OVERLOADED.get());
    }

    /** Stops the read deadline of the exchange on this thread (it has read its request). */
    static void disarm() {
        Deadline d = CURRENT.get();
        if (d != null) {
            d.disarm();
        }
    }

    /** Arms it again for writing the answer: a client that does not read it is dropped too. */
    void rearm() {
        Deadline d = CURRENT.get();
        if (d != null) {
            d.arm(timeoutNanos);
        }
    }

    /** Exchanges running now. */
    int inFlight() {
        return inFlight.get();
    }

    /** Connections dropped for passing their deadline. */
    int dropped() {
        return dropped.get();
    }

    int maxConnections() {
        return maxConnections;
    }

    @Override
    public void close() {
        watchdog.shutdownNow();
        pool.shutdownNow();
        overflow.shutdownNow();
    }
}
