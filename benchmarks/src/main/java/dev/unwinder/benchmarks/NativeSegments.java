package dev.unwinder.benchmarks;

import java.lang.foreign.MemorySegment;

/** The benchmarks' one restricted {@code java.lang.foreign} call. */
final class NativeSegments {
    private NativeSegments() {}

    /** The same memory as {@code segment}, as a global-scope segment: how {@code StackMemory.ofNative} sees memory. */
    @SuppressWarnings("restricted")
    static MemorySegment global(MemorySegment segment) {
        return MemorySegment.ofAddress(segment.address()).reinterpret(segment.byteSize());
    }
}
