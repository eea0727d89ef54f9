package dev.unwinder.testkit;

import static java.util.Objects.requireNonNull;

import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * A stack of N frames laid out as a plugin's {@link Unwind} describes, with the ground truth of
 * every frame, for tests and benchmarks.
 *
 * <h2>How a stack is built</h2>
 * <ul>
 *   <li>Frame sizes, the distances from one fp to the next, come from a {@link SplitMix64}
 *       sequence seeded with the size seed ({@link #SIZE_SEED}, 0x5EED, by default): the k-th
 *       output {@code x} gives frame k the size {@code 32 + 16 * (x mod 15)} (unsigned), so 32 to
 *       256 bytes in steps of 16. A layout whose link words span more than a frame (s390x keeps
 *       the return address 112 bytes above fp) gets frames at least that span, rounded up to 16.
 *   <li>Frame 0's fp lies 64 bytes above the lowest address its link words need; frame k+1's fp
 *       is frame k's fp plus frame k's size. Frame k's link holds frame k+1's fp and pc.
 *   <li>Frame N, the entry frame, is the entry fp: its fp ends a strict walk. Its own link holds
 *       a zero fp and a zero return address, as aarch64's {@code _start} leaves it, so a lenient
 *       walk without an entry fp delivers N + 1 frames and ends there.
 *   <li>pcs come from a second splitmix64 sequence seeded with {@code sizeSeed ^ PC_SEED_XOR}:
 *       {@code 0x400000 + (x mod 0x100000)}, never zero.
 * </ul>
 * The stack is the byte range from its base address up to 64 bytes past the entry frame's
 * highest link word, in the plugin's byte order.
 */
public final class SyntheticStack {
    /** The default seed of the frame-size sequence. */
    public static final long SIZE_SEED = 0x5EED;
    /** What the pc sequence's seed differs from the size seed by. */
    public static final long PC_SEED_XOR = 0x9C00_0000_0000_0000L;
    /** A base address for heap stacks: a typical x86_64 Linux stack address. */
    public static final long DEFAULT_BASE = 0x7ffd_0000_0000L;

    private static final long PADDING = 64;

    private final Unwind unwind;
    private final byte[] bytes;
    private final long baseAddress;
    private final long[] pcs;
    private final long[] fps;

    private SyntheticStack(Unwind unwind, byte[] bytes, long baseAddress, long[] pcs, long[] fps) {
        this.unwind = unwind;
        this.bytes = bytes;
        this.baseAddress = baseAddress;
        this.pcs = pcs;
        this.fps = fps;
    }

    /**
     * Builds a stack of {@code frames} frames with the default seed at {@link #DEFAULT_BASE}.
     *
     * @param unwind the layout
     * @param frames the number of frames a strict walk visits, at least 0
     * @return the stack
     */
    public static SyntheticStack generate(Unwind unwind, int frames) {
        return generate(unwind, frames, SIZE_SEED, DEFAULT_BASE);
    }

    /**
     * Builds a stack of {@code frames} frames.
     *
     * @param unwind the layout
     * @param frames the number of frames a strict walk visits, at least 0
     * @param seed the seed of the frame-size sequence
     * @param baseAddress the address of the stack's first byte, a multiple of 16; the stack must
     *     fit below 2^64
     * @return the stack
     */
    public static SyntheticStack generate(Unwind unwind, int frames, long seed, long baseAddress) {
        Plan plan = Plan.of(unwind, frames, seed, baseAddress);
        byte[] bytes = new byte[Math.toIntExact(plan.size)];
        plan.write((offset, value) -> putWord(bytes, offset, value, unwind.byteOrder()));
        return new SyntheticStack(unwind, bytes, baseAddress, plan.pcs, plan.fps);
    }

    /**
     * Returns the number of bytes a stack of these parameters occupies.
     *
     * @param unwind the layout
     * @param frames the number of frames
     * @param seed the seed of the frame-size sequence
     * @return the size in bytes
     */
    public static long sizeOf(Unwind unwind, int frames, long seed) {
        return Plan.of(unwind, frames, seed, 0).size;
    }

    /**
     * Builds the same stack as {@link #generate(Unwind, int, long, long)} in native memory
     * allocated from {@code arena}, at the address the allocation got.
     *
     * @param unwind the layout
     * @param frames the number of frames
     * @param seed the seed of the frame-size sequence
     * @param arena where to allocate
     * @return the stack in native memory
     */
    public static Native inNativeMemory(Unwind unwind, int frames, long seed, Arena arena) {
        MemorySegment segment = arena.allocate(sizeOf(unwind, frames, seed), 16);
        SyntheticStack stack = generate(unwind, frames, seed, segment.address());
        MemorySegment.copy(MemorySegment.ofArray(stack.bytes), 0, segment, 0, segment.byteSize());
        return new Native(stack, segment);
    }

    /**
     * A synthetic stack copied to native memory.
     *
     * @param stack the stack and its ground truth; its addresses are the segment's
     * @param segment the native memory holding it
     */
    public record Native(SyntheticStack stack, MemorySegment segment) {
        /**
         * Returns memory over the native copy: {@link StackMemory#ofNative} where the layout's byte
         * order is the native one, otherwise a segment read in the layout's order.
         *
         * @return the memory
         */
        public StackMemory memory() {
            ByteOrder order = stack.unwind.byteOrder();
            if (order.equals(ByteOrder.nativeOrder())) {
                return StackMemory.ofNative(segment);
            }
            return StackMemory.ofSegment(segment, segment.address(), order);
        }
    }

    /**
     * Returns memory over this stack's bytes (not a copy).
     *
     * @return heap memory in the layout's byte order
     */
    public StackMemory heapMemory() {
        return StackMemory.ofBytes(bytes, baseAddress, unwind.byteOrder());
    }

    /**
     * Returns memory over a copy of this stack with the word at {@code address} replaced.
     *
     * @param address the word's address, inside the stack
     * @param value the new value
     * @return the corrupted copy's memory
     */
    public StackMemory withWord(long address, long value) {
        byte[] copy = bytes.clone();
        putWord(copy, address - baseAddress, value, unwind.byteOrder());
        return StackMemory.ofBytes(copy, baseAddress, unwind.byteOrder());
    }

    /**
     * Returns the layout.
     *
     * @return the layout
     */
    public Unwind unwind() {
        return unwind;
    }

    /**
     * Returns the number of frames a strict walk to {@link #entryFp()} visits.
     *
     * @return the number of frames a strict walk to {@link #entryFp()} visits
     */
    public int frameCount() {
        return fps.length - 1;
    }

    /**
     * Returns the address of the first byte.
     *
     * @return the address of the first byte
     */
    public long baseAddress() {
        return baseAddress;
    }

    /**
     * Returns a copy of the bytes.
     *
     * @return a copy of the bytes
     */
    public byte[] bytes() {
        return bytes.clone();
    }

    /**
     * Returns a frame's pc.
     *
     * @param frame a frame index, 0 to {@link #frameCount()} (the entry frame)
     * @return that frame's pc
     */
    public long pc(int frame) {
        return pcs[frame];
    }

    /**
     * Returns a frame's fp.
     *
     * @param frame a frame index, 0 to {@link #frameCount()} (the entry frame)
     * @return that frame's fp
     */
    public long fp(int frame) {
        return fps[frame];
    }

    /**
     * Returns the entry frame's fp, the entry fp of a strict walk.
     *
     * @return the entry frame's fp, the entry fp of a strict walk
     */
    public long entryFp() {
        return fps[fps.length - 1];
    }

    /**
     * Returns where a frame keeps its caller's fp.
     *
     * @param frame a frame index, 0 to {@link #frameCount()}
     * @return the address of the word where that frame keeps its caller's fp
     */
    public long savedFpAddress(int frame) {
        return fps[frame] + unwind.nextOlderFpFromFpOffset();
    }

    /**
     * Returns where a frame keeps its return address.
     *
     * @param frame a frame index, 0 to {@link #frameCount()}
     * @return the address of the word where that frame keeps its return address
     */
    public long returnAddressAddress(int frame) {
        return fps[frame] + unwind.nextOlderPcFromFpOffset();
    }

    private static final VarHandle LITTLE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle BIG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private static void putWord(byte[] bytes, long offset, long value, ByteOrder order) {
        (order == ByteOrder.BIG_ENDIAN ? BIG : LITTLE).set(bytes, Math.toIntExact(offset), value);
    }

    /** Where everything goes, computed once for both the heap and the size-only uses. */
    private static final class Plan {
        final long size;
        final long[] pcs;
        final long[] fps;
        final long fpOffset;
        final long pcOffset;
        final long baseAddress;

        private Plan(long size, long[] pcs, long[] fps, long fpOffset, long pcOffset, long baseAddress) {
            this.size = size;
            this.pcs = pcs;
            this.fps = fps;
            this.fpOffset = fpOffset;
            this.pcOffset = pcOffset;
            this.baseAddress = baseAddress;
        }

        static Plan of(Unwind unwind, int frames, long seed, long baseAddress) {
            requireNonNull(unwind, "unwind");
            if (frames < 0) {
                throw new IllegalArgumentException("frames: " + frames + " (expected: >= 0)");
            }
            if ((baseAddress & 15) != 0) {
                throw new IllegalArgumentException(String.format("baseAddress: 0x%x (expected: a multiple of 16)", baseAddress));
            }
            long fpOffset = unwind.nextOlderFpFromFpOffset();
            long pcOffset = unwind.nextOlderPcFromFpOffset();
            long lowSlot = Math.min(fpOffset, pcOffset);
            long highSlot = Math.max(fpOffset, pcOffset) + 8;
            long minFrame = roundUp16(highSlot - lowSlot);
            SplitMix64 sizes = new SplitMix64(seed);
            SplitMix64 pcValues = new SplitMix64(seed ^ PC_SEED_XOR);
            long[] fps = new long[frames + 1];
            long[] pcs = new long[frames + 1];
            long fp = roundUp16(PADDING - lowSlot);
            for (int i = 0; i <= frames; i++) {
                fps[i] = baseAddress + fp;
                pcs[i] = 0x400000 + Long.remainderUnsigned(pcValues.next(), 0x100000);
                long drawn = 32 + 16 * Long.remainderUnsigned(sizes.next(), 15);
                fp += Math.max(drawn, minFrame);
            }
            long size = roundUp16(fps[frames] - baseAddress + highSlot + PADDING);
            if (Long.compareUnsigned(baseAddress + size - 1, baseAddress) < 0) {
                throw new IllegalArgumentException(String.format("baseAddress: 0x%x (expected: %d bytes to fit below 2^64)", baseAddress, size));
            }
            return new Plan(size, pcs, fps, fpOffset, pcOffset, baseAddress);
        }

        interface WordSink {
            void put(long offset, long value);
        }

        void write(WordSink sink) {
            int frames = fps.length - 1;
            for (int i = 0; i < frames; i++) {
                sink.put(fps[i] + fpOffset - baseAddress, fps[i + 1]);
                sink.put(fps[i] + pcOffset - baseAddress, pcs[i + 1]);
            }
            // The entry frame's link ends the chain, as _start leaves it on aarch64.
            sink.put(fps[frames] + fpOffset - baseAddress, 0);
            sink.put(fps[frames] + pcOffset - baseAddress, 0);
        }

        private static long roundUp16(long value) {
            return (value + 15) & -16L;
        }
    }

    @Override
    public String toString() {
        return String.format("SyntheticStack[%s, %d frames, 0x%x..0x%x]", unwind.name(), frameCount(), baseAddress,
                baseAddress + bytes.length);
    }
}
