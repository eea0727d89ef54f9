package dev.unwinder.api;

import static java.util.Objects.requireNonNull;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The memory of the program being unwound: a contiguous range of unsigned 64-bit addresses whose
 * words are read in one byte order.
 *
 * <p>Every read is checked against the range. A read that is not wholly inside it touches no
 * other memory: it throws {@link UnwindException} with {@link UnwindException.Reason#READ_OUT_OF_BOUNDS}.
 * Addresses are unsigned: a range above 2^63, or one that straddles it, behaves like any other.
 * Implementations are immutable and safe to share between threads; what they read is as current
 * as the bytes underneath.
 *
 * {@snippet :
 * byte[] captured = ...;                       // stack bytes, lowest address first
 * StackMemory memory = StackMemory.ofBytes(captured, 0x7ffd_0000_0000L, ByteOrder.BIG_ENDIAN);
 * long word = memory.readLong(0x7ffd_0000_0010L);
 * }
 */
public sealed interface StackMemory permits ByteArrayStackMemory, SegmentStackMemory, NativeStackMemory {

    /**
     * Returns memory over a captured stack: byte {@code i} of {@code bytes} is at address
     * {@code baseAddress + i}. The array is not copied; do not change it during a walk.
     *
     * @param bytes the stack bytes
     * @param baseAddress the address of {@code bytes[0]}
     * @param order the byte order of the stack's words
     * @return the memory
     * @throws IllegalArgumentException if the range would run past the top of the address space
     */
    static StackMemory ofBytes(byte[] bytes, long baseAddress, ByteOrder order) {
        requireNonNull(bytes, "bytes");
        requireNonNull(order, "order");
        checkRange(baseAddress, bytes.length);
        return new ByteArrayStackMemory(bytes, baseAddress, order);
    }

    /**
     * Returns memory over the live memory of this process in {@code [lowAddress, highAddress)},
     * read through {@code java.lang.foreign} in the native byte order.
     *
     * <p>The range must be mapped and readable for as long as the memory is used, such as the part
     * of a thread's own stack between its innermost fp and an entry frame: reads stay inside it,
     * but what lies inside is the caller's promise. This method is restricted in the sense of
     * {@code java.lang.foreign}: grant {@code --enable-native-access} to this module.
     *
     * @param lowAddress the first address
     * @param highAddress the address just past the last one
     * @return the memory
     * @throws IllegalArgumentException if {@code lowAddress} is above {@code highAddress}, or the
     *     range is larger than {@code Long.MAX_VALUE} bytes
     */
    static StackMemory ofNative(long lowAddress, long highAddress) {
        if (Long.compareUnsigned(lowAddress, highAddress) > 0) {
            throw new IllegalArgumentException(String.format(
                    "highAddress: 0x%x (expected: at or above lowAddress 0x%x)", highAddress, lowAddress));
        }
        long size = highAddress - lowAddress;
        if (size < 0) {
            throw new IllegalArgumentException(String.format(
                    "highAddress - lowAddress: 0x%x (expected: at most 0x%x bytes)", size, Long.MAX_VALUE));
        }
        if (NativeStackMemory.fits(lowAddress, size)) {
            return new NativeStackMemory(lowAddress, size);
        }
        return new SegmentStackMemory(NativeAccess.segment(lowAddress, size), lowAddress, ByteOrder.nativeOrder());
    }

    /**
     * Returns memory over a memory segment, such as a file mapped with
     * {@link java.nio.channels.FileChannel#map(java.nio.channels.FileChannel.MapMode, long, long,
     * java.lang.foreign.Arena)}: byte {@code i} of the segment is at address
     * {@code baseAddress + i}. Reads fail as the segment does once its arena is closed.
     *
     * @param segment the bytes of the stack
     * @param baseAddress the address of the segment's first byte
     * @param order the byte order of the stack's words
     * @return the memory
     * @throws IllegalArgumentException if the range would run past the top of the address space
     */
    static StackMemory ofSegment(MemorySegment segment, long baseAddress, ByteOrder order) {
        requireNonNull(segment, "segment");
        requireNonNull(order, "order");
        checkRange(baseAddress, segment.byteSize());
        return new SegmentStackMemory(segment, baseAddress, order);
    }

    private static void checkRange(long baseAddress, long size) {
        if (size > 0 && Long.compareUnsigned(baseAddress + size - 1, baseAddress) < 0) {
            throw new IllegalArgumentException(String.format(
                    "baseAddress: 0x%x (expected: %d bytes to fit below 2^64)", baseAddress, size));
        }
    }

    /**
     * Returns the lowest address of this memory.
     *
     * @return an unsigned address
     */
    long baseAddress();

    /**
     * Returns the number of bytes in this memory.
     *
     * @return the size, at most {@code Long.MAX_VALUE}
     */
    long size();

    /**
     * Returns the byte order in which words are read.
     *
     * @return the byte order
     */
    ByteOrder byteOrder();

    /**
     * Tells whether the {@code length} bytes from {@code address} are all inside this memory.
     *
     * @param address the first address, unsigned
     * @param length the number of bytes, not negative
     * @return {@code true} if {@code [address, address + length)} lies within this memory
     */
    default boolean contains(long address, long length) {
        if (length < 0) {
            throw new IllegalArgumentException("length: " + length + " (expected: >= 0)");
        }
        long offset = address - baseAddress();
        return Long.compareUnsigned(offset, size()) <= 0 && length <= size() - offset;
    }

    /**
     * Reads the 8-byte word at {@code address}.
     *
     * @param address the address of the word's first byte, unsigned
     * @return the word, in this memory's byte order
     * @throws UnwindException with {@link UnwindException.Reason#READ_OUT_OF_BOUNDS} if the word
     *     is not wholly inside this memory
     */
    long readLong(long address);

    /**
     * Reads the 8-byte word at {@code address + offset}, where the sum must not wrap around the
     * 64-bit address space.
     *
     * @param address an unsigned address, such as a frame's fp
     * @param offset a signed byte offset from it
     * @return the word, in this memory's byte order
     * @throws UnwindException with {@link UnwindException.Reason#READ_OUT_OF_BOUNDS} if the sum
     *     wraps or the word is not wholly inside this memory
     */
    default long readLong(long address, long offset) {
        long target = address + offset;
        if (offset >= 0 ? Long.compareUnsigned(target, address) < 0 : Long.compareUnsigned(target, address) > 0) {
            throw new UnwindException(UnwindException.Reason.READ_OUT_OF_BOUNDS, UnwindException.NO_FRAME, address,
                    String.format("0x%x %+d wraps around the address space", address, offset));
        }
        return readLong(target);
    }
}
