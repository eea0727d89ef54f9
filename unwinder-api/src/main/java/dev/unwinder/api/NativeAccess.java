package dev.unwinder.api;

import java.lang.foreign.MemorySegment;

/**
 * The one place where the API makes a restricted {@code java.lang.foreign} call, and only if this
 * module has been granted native access: a segment over the address space below 2^63, through
 * which {@link NativeStackMemory} reads a caller's global-scope segment at its absolute addresses.
 * It never reads anything the caller's segment does not cover, so the grant hands nobody new
 * reach; without it, the API makes no restricted call and reads through the caller's segment.
 */
final class NativeAccess {
    /** The address space below 2^63 at its own addresses, or null without native access. */
    static final MemorySegment ADDRESS_SPACE = addressSpace();

    private NativeAccess() {}

    private static MemorySegment addressSpace() {
        if (!NativeAccess.class.getModule().isNativeAccessEnabled()) {
            return null;
        }
        try {
            return reinterpret();
        } catch (IllegalCallerException e) {
            return null;
        }
    }

    @SuppressWarnings("restricted")
    private static MemorySegment reinterpret() {
        return MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    }
}
