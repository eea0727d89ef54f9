package dev.unwinder.benchmarks;

import dev.unwinder.api.Unwind;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteOrder;

/**
 * The physical floor: {@code bench_floor.c}'s walk, compiled by gcc -O2 when the benchmarks are
 * built, over the same stack bytes as the Java walks, with the checks of the seed's walk and no
 * bounds checks. One downcall makes many walks, so that its own cost is spread over them.
 *
 * <p>The downcall is critical ({@link Linker.Option#critical(boolean)} with heap access), so a
 * stack in a Java array is walked in place, as the heap benchmarks' walks read it; a native stack
 * is walked at its own addresses.
 */
final class Floor {
    private static final MethodHandle LITTLE;
    private static final MethodHandle BIG;

    static {
        Linker linker = Linker.nativeLinker();
        SymbolLookup bench = NativeSegments.library(NativeSegments.benchLibrary());
        FunctionDescriptor walk = FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS,
                ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                ValueLayout.ADDRESS, ValueLayout.JAVA_LONG);
        Linker.Option critical = Linker.Option.critical(true);
        LITTLE = NativeSegments.downcall(linker, bench.findOrThrow("bench_floor_walk_le"), walk, critical);
        BIG = NativeSegments.downcall(linker, bench.findOrThrow("bench_floor_walk_be"), walk, critical);
    }

    private final MethodHandle handle;
    /** struct floor_layout: fp_offset, pc_offset, align_mask, strip_mask. */
    private final MemorySegment layout;
    private final MemorySegment bytes;
    private final long base;

    /**
     * Prepares walks over {@code bytes}, whose byte {@code i} is at address {@code base + i}.
     *
     * @param unwind the layout
     * @param bytes a heap or native segment over the stack
     * @param base the address of the stack's first byte
     * @param arena where the layout struct lives
     */
    Floor(Unwind unwind, MemorySegment bytes, long base, Arena arena) {
        this.handle = unwind.byteOrder() == ByteOrder.BIG_ENDIAN ? BIG : LITTLE;
        this.layout = arena.allocate(4 * Long.BYTES, Long.BYTES);
        layout.setAtIndex(ValueLayout.JAVA_LONG, 0, unwind.nextOlderFpFromFpOffset());
        layout.setAtIndex(ValueLayout.JAVA_LONG, 1, unwind.nextOlderPcFromFpOffset());
        layout.setAtIndex(ValueLayout.JAVA_LONG, 2, unwind.fpAlignment() - 1);
        layout.setAtIndex(ValueLayout.JAVA_LONG, 3, stripMask(unwind));
        this.bytes = bytes;
        this.base = base;
    }

    /**
     * Returns the mask of the low bits that the plugin's {@link Unwind#decodeReturnAddress} keeps of
     * a user-space return address, as {@code bench_floor.c} strips them (aarch64: the
     * virtual-address bits, the signature above them cleared), or 0 for a plugin that keeps the
     * saved word as it is. Probed with a word whose bit 55 is clear and every bit below it set: a
     * stripping decoder returns exactly its mask.
     */
    static long stripMask(Unwind unwind) {
        long probe = 0x007f_ffff_ffff_ffffL;
        long decoded = unwind.decodeReturnAddress(probe);
        if (decoded == probe) {
            return 0;
        }
        if ((decoded & (decoded + 1)) != 0) {
            throw new IllegalStateException(String.format(
                    "%s decodes 0x%x to 0x%x, not a mask of low bits: the C floor cannot decode its return addresses",
                    unwind.name(), probe, decoded));
        }
        return decoded;
    }

    /**
     * Walks {@code walks} times from (pc, fp) to the entry fp.
     *
     * @return the frames of all walks, or {@code -1 - index} of the first frame that failed a check
     */
    long walk(long pc, long fp, long entryFp, long walks) {
        try {
            return (long) handle.invokeExact(bytes, base, pc, fp, entryFp, layout, walks);
        } catch (Throwable t) {
            throw new IllegalStateException("the floor's downcall failed", t);
        }
    }
}
