package dev.unwinder.api;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Stack memory over a memory segment: live native memory or a mapped file. */
final class SegmentStackMemory implements StackMemory {
    // Constant layouts: C2 folds a read through a static final layout into one load. A layout held in
    // an instance field is not a constant, and each read then goes through an un-inlined var handle call.
    private static final ValueLayout.OfLong LITTLE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong BIG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final MemorySegment segment;
    private final long base;
    private final long size;
    private final ByteOrder order;
    private final boolean bigEndian;

    SegmentStackMemory(MemorySegment segment, long base, ByteOrder order) {
        this.segment = segment;
        this.base = base;
        this.size = segment.byteSize();
        this.order = order;
        this.bigEndian = order == ByteOrder.BIG_ENDIAN;
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
        return order;
    }

    @Override
    public long readLong(long address) {
        long offset = address - base;
        try {
            return bigEndian ? segment.get(BIG, offset) : segment.get(LITTLE, offset);
        } catch (IndexOutOfBoundsException e) {
            throw outOfBounds(address, base, size);
        }
    }

    @Override
    public String toString() {
        return describe(segment.isNative() ? "native" : "segment", base, size, order);
    }

    static UnwindException outOfBounds(long address, long base, long size) {
        return new UnwindException(UnwindException.Reason.OUTSIDE_MEMORY, UnwindException.NO_FRAME, address,
                String.format("8-byte read at 0x%x is outside the stack memory [0x%x, 0x%x)", address, base, base + size));
    }

    static String describe(String kind, long base, long size, ByteOrder order) {
        return String.format("StackMemory[%s, 0x%x..0x%x, %s]", kind, base, base + size, order);
    }
}
