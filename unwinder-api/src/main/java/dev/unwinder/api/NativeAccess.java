package dev.unwinder.api;

import java.lang.foreign.MemorySegment;

/** The one place where the API makes restricted {@code java.lang.foreign} calls. */
final class NativeAccess {
    private NativeAccess() {}

    /** A segment over {@code size} bytes of this process's memory from {@code address}, in the global arena. */
    @SuppressWarnings("restricted")
    static MemorySegment segment(long address, long size) {
        return MemorySegment.ofAddress(address).reinterpret(size);
    }
}
