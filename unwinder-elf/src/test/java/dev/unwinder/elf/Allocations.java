package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;

/** Counts the bytes that the current thread allocates, by HotSpot's per-thread allocation counter. */
final class Allocations {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private Allocations() {}

    /**
     * The least of five counts of {@link #bytesAllocatedBy}: the JIT's own work on this thread
     * (compiling, deoptimizing) is counted once in a while, and an action that allocates does so
     * every time.
     */
    static long leastBytesAllocatedBy(Runnable action) {
        long least = Long.MAX_VALUE;
        for (int i = 0; i < 5 && least > 0; i++) {
            least = Math.min(least, bytesAllocatedBy(action));
        }
        return least;
    }

    /** The bytes {@code action} allocates on this thread; the counter must be supported and on. */
    static long bytesAllocatedBy(Runnable action) {
        assertTrue(THREADS.isThreadAllocatedMemorySupported() && THREADS.isThreadAllocatedMemoryEnabled(),
                "this JVM counts the bytes each thread allocates");
        long before = THREADS.getCurrentThreadAllocatedBytes();
        action.run();
        long after = THREADS.getCurrentThreadAllocatedBytes();
        assertTrue(before >= 0 && after >= before, "the counter counts: " + before + ", then " + after);
        return after - before;
    }
}
