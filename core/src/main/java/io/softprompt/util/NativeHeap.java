package io.softprompt.util;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.NativeLong;
import com.sun.jna.Platform;

/**
 * Gives the memory that native code has freed back to the operating system, at moments the caller
 * picks (training calls it after each evaluation). The launcher runs jemalloc with its decay off, so
 * freed pages are kept for reuse and a training step never pays page faults to get them back; the
 * price was that memory freed once and never needed again stayed resident: above all the JIT's (C2's
 * compilation memory, tens of MB, freed by the JVM when a compilation ends, kept by jemalloc in the
 * compiler thread's arena; docs/memcheck-20k.md). {@link #release()} purges every jemalloc arena
 * ({@code mallctl("arena.4096.purge")}, 4096 being MALLCTL_ARENAS_ALL) when jemalloc is in the process,
 * else calls glibc's {@code malloc_trim(0)}; pages still in use are untouched, and those the next step
 * needs again come back as page faults once (milliseconds, beside an evaluation's seconds).
 * Off Linux, or when neither function is found, it does nothing. Calls go through JNA, which DJL
 * already loads.
 */
public final class NativeHeap {
    /** What {@link #release()} calls: jemalloc's mallctl, glibc's malloc_trim, or nothing. */
    private enum Way { JEMALLOC, GLIBC, NONE }

    private static volatile Way way;
    private static Function function;

    private NativeHeap() {}

    /**
     * Returns freed native memory to the operating system.
     *
     * @return what was used: "jemalloc", "glibc" or "none" (nothing to call, or the call failed)
     */
    public static synchronized String release() {
        if (way == null) {
            find();
        }
        try {
            switch (way) {
                case JEMALLOC -> {
                    int rc = function.invokeInt(new Object[] {"arena.4096.purge", null, null, null, new NativeLong(0)});
                    return rc == 0 ? "jemalloc" : "none";
                }
                case GLIBC -> {
                    function.invokeInt(new Object[] {new NativeLong(0)});
                    return "glibc";
                }
                default -> {
                    return "none";
                }
            }
        } catch (RuntimeException | LinkageError e) {
            way = Way.NONE; // never again: a failed call is not worth a second try each evaluation
            return "none";
        }
    }

    private static void find() {
        way = Way.NONE;
        if (!Platform.isLinux()) {
            return;
        }
        try {
            NativeLibrary process = NativeLibrary.getProcess(); // the symbols already loaded: LD_PRELOAD's first
            for (String[] candidate : new String[][] {{"mallctl", "JEMALLOC"}, {"malloc_trim", "GLIBC"}}) {
                try {
                    function = process.getFunction(candidate[0]);
                    way = Way.valueOf(candidate[1]);
                    return;
                } catch (UnsatisfiedLinkError absent) {
                    // try the next
                }
            }
        } catch (RuntimeException | LinkageError e) {
            way = Way.NONE; // no JNA native support here: nothing to release with
        }
    }
}
