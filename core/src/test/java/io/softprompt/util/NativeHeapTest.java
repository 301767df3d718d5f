package io.softprompt.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * NativeHeap returns memory that native code freed: 64 MB of small blocks, written, freed below a block
 * still in use (so the allocator cannot give them back by shrinking its heap on free), stay resident
 * until {@link NativeHeap#release()}, and leave with it.
 */
@EnabledOnOs(OS.LINUX) // elsewhere release() does nothing by design (no /proc RSS either)
class NativeHeapTest {
    @Test
    void releaseGivesFreedNativeMemoryBackToTheSystem() {
        String allocator = System.getenv("LD_PRELOAD") != null && System.getenv("LD_PRELOAD").contains("jemalloc")
                ? "jemalloc" : "glibc";
        int blocks = 4096;
        long size = 16 * 1024; // under glibc's mmap threshold: these come from the allocator's heap
        long[] at = new long[blocks];
        for (int i = 0; i < blocks; i++) {
            at[i] = Native.malloc(size);
            new Pointer(at[i]).setMemory(0, size, (byte) 1); // resident
        }
        long pin = Native.malloc(size); // in use above the freed blocks
        try {
            for (long p : at) {
                Native.free(p);
            }
            double before = Rss.currentMb();
            String used = NativeHeap.release();
            double after = Rss.currentMb();
            System.out.printf("NativeHeap.release: %s, RSS %.1f MB -> %.1f MB after freeing 64 MB%n", used, before, after);
            assertEquals(allocator, used);
            assertTrue(before - after >= 32, "release() returned " + (before - after) + " MB of the 64 MB freed");
            assertEquals(allocator, NativeHeap.release(), "a second call works as the first");
        } finally {
            Native.free(pin);
        }
    }
}
