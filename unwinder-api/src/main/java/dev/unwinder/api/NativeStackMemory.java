package dev.unwinder.api;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Native memory of a caller's global-scope segment, {@link StackMemory#ofNative}, read at its
 * absolute addresses through one constant segment over the address space after this memory's own
 * bounds check. A walk's loop then keeps two values for its reads (the base and the last word's
 * offset) instead of the segment's address, size and lifetime, which leaves C2 room to keep the
 * fp chain in general registers. A global-scope segment is never closed, so no lifetime check is
 * lost; any other native segment is read through itself ({@link SegmentStackMemory}).
 */
final class NativeStackMemory implements StackMemory {
    // Static finals: C2 folds the segment and the layout, and the segment's own bounds check
    // becomes a compare with a constant.
    private static final MemorySegment ADDRESS_SPACE = NativeAccess.ADDRESS_SPACE;
    private static final ValueLayout.OfLong NATIVE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.nativeOrder());

    private final long base;
    private final long size;
    /** The offset from base of the last word, size - 8; at least 0. */
    private final long lastWord;

    /**
     * Tells whether a native segment can be read this way: this module has native access, the
     * segment is of the global scope (never closed), holds a word, and lies below 2^63.
     */
    static boolean fits(MemorySegment segment) {
        long base = segment.address();
        long size = segment.byteSize();
        return ADDRESS_SPACE != null && segment.scope().equals(MemorySegment.NULL.scope())
                && size >= 8 && base >= 0 && size <= Long.MAX_VALUE - base;
    }

    NativeStackMemory(MemorySegment segment) {
        this.base = segment.address();
        this.size = segment.byteSize();
        this.lastWord = size - 8;
    }

    @Override
    public long baseAddress() {
        return base;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public ByteOrder byteOrder() {
        return ByteOrder.nativeOrder();
    }

    @Override
    public long readLong(long address) {
        if (Long.compareUnsigned(address - base, lastWord) > 0) {
            throw SegmentStackMemory.outOfBounds(address, base, size);
        }
        return ADDRESS_SPACE.get(NATIVE, address);
    }

    @Override
    public String toString() {
        return SegmentStackMemory.describe("native", base, size, ByteOrder.nativeOrder());
    }
}
