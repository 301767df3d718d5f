package io.softprompt.util;

/**
 * Ends this JVM when a given parent process is gone, so a child that a sweep started never keeps
 * writing a run folder after the sweep was killed. Checkpoints are atomic, so halting at any moment
 * leaves nothing half-written.
 */
public final class ParentWatch {
    private ParentWatch() {}

    /** Starts a daemon thread that halts the JVM (exit 137) within 200 ms of {@code pid} ending. */
    public static void start(long pid) {
        Thread t = new Thread(() -> {
            while (true) {
                if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                    Runtime.getRuntime().halt(137);
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "softprompt-parent-watch");
        t.setDaemon(true);
        t.start();
    }
}
