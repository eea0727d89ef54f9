package dev.unwinder.api;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** Stack memory over a byte array, read through a byte-array view var handle. */
final class ByteArrayStackMemory implements StackMemory {
    private static final VarHandle LITTLE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle BIG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private final byte[] bytes;
    private final long base;
    private final ByteOrder order;
    private final boolean bigEndian;

    ByteArrayStackMemory(byte[] bytes, long base, ByteOrder order) {
        this.bytes = bytes;
        this.base = base;
        this.order = order;
        this.bigEndian = order == ByteOrder.BIG_ENDIAN;
    }

    @Override
    public long baseAddress() {
        return base;
    }

    @Override
    public long size() {
        return bytes.length;
    }

    @Override
    public ByteOrder byteOrder() {
        return order;
    }

    @Override
    public long readLong(long address) {
        long offset = address - base;
        int index = (int) offset;
        if (index != offset) {
            throw SegmentStackMemory.outOfBounds(address, base, bytes.length);
        }
        // The var handle's own bounds check is the only one: a negative index, or a word that runs
        // past the end, throws IndexOutOfBoundsException before anything is read.
        try {
            return bigEndian ? (long) BIG.get(bytes, index) : (long) LITTLE.get(bytes, index);
        } catch (IndexOutOfBoundsException e) {
            throw SegmentStackMemory.outOfBounds(address, base, bytes.length);
        }
    }

    @Override
    public String toString() {
        return SegmentStackMemory.describe("bytes", base, bytes.length, order);
    }
}
