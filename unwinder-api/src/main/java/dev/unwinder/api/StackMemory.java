package dev.unwinder.api;

import static java.util.Objects.requireNonNull;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The memory of the program being unwound: a contiguous range of unsigned 64-bit addresses whose
 * words are read in one byte order.
 *
 * <p>Every read is checked against the range. A read that is not wholly inside it touches no
 * other memory: it throws {@link UnwindException} with {@link UnwindException.Reason#OUTSIDE_MEMORY}.
 * Addresses are unsigned: a range above 2^63, or one that straddles it, behaves like any other.
 * Implementations are immutable and safe to share between threads; what they read is as current
 * as the bytes underneath. Memory over a segment whose arena has been closed throws
 * {@link IllegalStateException} from every read, as the segment does.
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
     * Returns memory over native memory that the caller has made into a segment, such as the part
     * of a thread's own stack between its innermost fp and an entry frame: byte {@code i} of the
     * segment is at address {@code segment.address() + i}, and words are read in the native byte
     * order.
     *
     * <p>A segment over memory that this process did not allocate through an arena, such as a
     * thread's stack, is made with {@link MemorySegment#reinterpret(long)}, which is restricted in
     * the sense of {@code java.lang.foreign}: the caller's module needs native access, and with it
     * makes the promise that the memory is mapped. This library reads only inside the segment it
     * is given, and makes no restricted call unless it has native access itself (below).
     * {@link #ofLiveFrames} cuts the part a live walk needs out of a larger segment, such as one
     * over the thread's whole stack.
     *
     * <p>The segment's lifetime holds: once its arena is closed, reads throw
     * {@link IllegalStateException}, as the segment's own reads do, and never touch the freed
     * memory. Segments of the global scope (those of {@link MemorySegment#ofAddress} and
     * {@code reinterpret}, and of the global arena) are never closed; when this module, too, has
     * native access ({@code --enable-native-access=dev.unwinder.api}, or {@code ALL-UNNAMED} on the
     * class path), they are read at their absolute addresses after one bounds check, the fastest
     * path. Without it, reads go through the segment, which costs a little more per word.
     *
     * {@snippet :
     * MemorySegment stack = MemorySegment.ofAddress(low).reinterpret(high - low); // restricted: the caller's
     * StackMemory memory = StackMemory.ofNative(stack);
     * }
     *
     * @param segment a native segment over the memory
     * @return the memory
     * @throws IllegalArgumentException if the segment is a heap segment ({@link #ofBytes} and
     *     {@link #ofSegment} read those)
     */
    static StackMemory ofNative(MemorySegment segment) {
        requireNonNull(segment, "segment");
        if (!segment.isNative()) {
            throw new IllegalArgumentException(
                    "segment: a heap segment (expected: a native segment; use ofBytes or ofSegment for heap memory)");
        }
        if (NativeStackMemory.fits(segment)) {
            return new NativeStackMemory(segment);
        }
        return new SegmentStackMemory(segment, segment.address(), ByteOrder.nativeOrder());
    }

    /**
     * Returns the memory that a strict walk reads from a live innermost frame up to an entry frame,
     * and no more, cut out of a native segment that holds it, such as one over the thread's whole
     * stack: {@code [innermostFp + low, entryFp + low)}, where {@code low} is the layout's lowest
     * link offset if it is negative, and 0 otherwise. On x86_64 and aarch64 that is
     * {@code [innermostFp, entryFp)}; on riscv64, whose links sit at {@code fp - 16} and
     * {@code fp - 8}, {@code [innermostFp - 16, entryFp - 16)}: the window starts at the innermost
     * frame's lowest link word and ends where the entry frame's begin, which a walk to the entry fp
     * never reads.
     *
     * <p>The upper end assumes what every supported ABI guarantees: a frame's links lie below its
     * caller's fp. A lenient walk over this memory without the entry fp ends at the entry frame
     * with {@code OUTSIDE_MEMORY} rather than reading on.
     *
     * {@snippet :
     * // in a callback from native code that recorded entryFp, while the frames are live
     * StackMemory frames = StackMemory.ofLiveFrames(unwind, threadStack, fp, entryFp);
     * StackWalk.visitFrames(unwind, frames, pc, fp, entryFp, visitor);
     * }
     *
     * @param unwind the frame layout of the live frames
     * @param stack a native segment that holds the window, at its own addresses
     * @param innermostFp the innermost frame's fp
     * @param entryFp the entry frame's fp
     * @return the memory of the window, read through {@code stack}
     * @throws IllegalArgumentException if {@code innermostFp} is 0 or not below {@code entryFp},
     *     if {@code stack} is a heap segment, or if the window is not inside {@code stack}
     */
    static StackMemory ofLiveFrames(Unwind unwind, MemorySegment stack, long innermostFp, long entryFp) {
        requireNonNull(unwind, "unwind");
        requireNonNull(stack, "stack");
        if (innermostFp == 0) {
            throw new IllegalArgumentException("innermostFp: 0x0 (expected: not 0)");
        }
        if (Long.compareUnsigned(innermostFp, entryFp) >= 0) {
            throw new IllegalArgumentException(String.format(
                    "innermostFp: 0x%x (expected: below entryFp 0x%x)", innermostFp, entryFp));
        }
        long low = Math.min(0, Math.min(unwind.nextOlderFpFromFpOffset(), unwind.nextOlderPcFromFpOffset()));
        long first = innermostFp + low;
        long end = entryFp + low;
        long offset = first - stack.address();
        if (Long.compareUnsigned(first, innermostFp) > 0 || Long.compareUnsigned(offset, stack.byteSize()) > 0
                || Long.compareUnsigned(end - first, stack.byteSize() - offset) > 0) {
            throw new IllegalArgumentException(String.format(
                    "stack: [0x%x, 0x%x) (expected: to hold the frames' window [0x%x, 0x%x))", stack.address(),
                    stack.address() + stack.byteSize(), first, end));
        }
        return ofNative(stack.asSlice(offset, end - first));
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
     * @throws UnwindException with {@link UnwindException.Reason#OUTSIDE_MEMORY} if the word
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
     * @throws UnwindException with {@link UnwindException.Reason#OUTSIDE_MEMORY} if the sum
     *     wraps or the word is not wholly inside this memory
     */
    default long readLong(long address, long offset) {
        long target = address + offset;
        if (offset >= 0 ? Long.compareUnsigned(target, address) < 0 : Long.compareUnsigned(target, address) > 0) {
            throw new UnwindException(UnwindException.Reason.OUTSIDE_MEMORY, UnwindException.NO_FRAME, address,
                    String.format("0x%x %+d wraps around the address space", address, offset));
        }
        return readLong(target);
    }
}
