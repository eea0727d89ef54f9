package dev.unwinder.api;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Native memory, {@link StackMemory#ofNative}, read through the caller's segment in the native
 * byte order after this memory's own bounds check, which the segment's then repeats. The own
 * check comes first so that a read outside the memory is an {@link UnwindException} without an
 * exception to catch and convert, and so that C2 can see the segment's check is implied by it.
 */
final class NativeStackMemory implements StackMemory {
    // A static final layout: C2 folds a read through it into one load.
    private static final ValueLayout.OfLong NATIVE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.nativeOrder());

    private final MemorySegment segment;
    private final long base;
    private final long size;
    /** The offset from base of the last word, size - 8; at least 0. */
    private final long lastWord;

    /** Returns whether a segment can be read this way: it holds at least one word. */
    static boolean fits(MemorySegment segment) {
        return segment.byteSize() >= 8;
    }

    NativeStackMemory(MemorySegment segment) {
        this.segment = segment;
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
        long offset = address - base;
        if (Long.compareUnsigned(offset, lastWord) > 0) {
            throw SegmentStackMemory.outOfBounds(address, base, size);
        }
        return segment.get(NATIVE, offset);
    }

    @Override
    public String toString() {
        return SegmentStackMemory.describe("native", base, size, ByteOrder.nativeOrder());
    }
}
