package dev.unwinder.api;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Live memory of this process, {@link StackMemory#ofNative}, read at its absolute addresses
 * through one segment over the whole address space below 2^63, after this memory's own bounds
 * check. A walk's loop then keeps two values for its reads (the base and the last word's offset)
 * instead of three (the base, and the address and size of a segment over the range), which leaves
 * C2 room to keep the fp chain in general registers.
 */
final class NativeStackMemory implements StackMemory {
    // A static final segment and layout: C2 folds both, and the segment's own bounds check becomes
    // a compare with a constant.
    private static final MemorySegment EVERYTHING = NativeAccess.segment(0, Long.MAX_VALUE);
    private static final ValueLayout.OfLong NATIVE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.nativeOrder());

    private final long base;
    private final long size;
    /** The offset from base of the last word, size - 8; at least 0. */
    private final long lastWord;

    /** Returns whether memory of {@code size} bytes from {@code base} can be read this way. */
    static boolean fits(long base, long size) {
        return size >= 8 && base >= 0 && size <= Long.MAX_VALUE - base;
    }

    NativeStackMemory(long base, long size) {
        this.base = base;
        this.size = size;
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
        return EVERYTHING.get(NATIVE, address);
    }

    @Override
    public String toString() {
        return SegmentStackMemory.describe("native", base, size, ByteOrder.nativeOrder());
    }
}
