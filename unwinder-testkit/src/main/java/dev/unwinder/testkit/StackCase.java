package dev.unwinder.testkit;

import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A synthetic stack in one kind of memory, which a test may corrupt word by word before walking
 * it. Heap stacks can sit at any base address; native ones sit where the allocator put them.
 */
final class StackCase implements AutoCloseable {

    /** Where a stack lives. */
    enum Placement {
        HEAP_BELOW_2_63(0x7ffd_0000_0000L, "heap below 2^63"),
        HEAP_STRADDLING_2_63(0x7fff_ffff_ffff_f000L, "heap across 2^63"),
        HEAP_ABOVE_2_63(0xffff_ff00_0000_0000L, "heap above 2^63"),
        NATIVE(0, "native");

        final long base;
        final String description;

        Placement(long base, String description) {
            this.base = base;
            this.description = description;
        }
    }

    final SyntheticStack stack;
    private final Arena arena;
    private final MemorySegment segment;

    private StackCase(SyntheticStack stack, Arena arena, MemorySegment segment) {
        this.stack = stack;
        this.arena = arena;
        this.segment = segment;
    }

    static StackCase of(Unwind unwind, int frames, Placement placement) {
        if (placement == Placement.NATIVE) {
            Arena arena = Arena.ofShared();
            SyntheticStack.Native copy = SyntheticStack.inNativeMemory(unwind, frames, SyntheticStack.SIZE_SEED, arena);
            return new StackCase(copy.stack(), arena, copy.segment());
        }
        SyntheticStack stack = SyntheticStack.generate(unwind, frames, SyntheticStack.SIZE_SEED, placement.base);
        return new StackCase(stack, null, MemorySegment.ofArray(stack.bytes()));
    }

    /** Replaces the word at {@code address} in this case's memory. */
    StackCase put(long address, long value) {
        ValueLayout.OfLong layout = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(stack.unwind().byteOrder());
        segment.set(layout, address - stack.baseAddress(), value);
        return this;
    }

    StackMemory memory() {
        return memoryUpTo(segment.byteSize());
    }

    /** The memory cut short after {@code size} bytes. */
    StackMemory memoryUpTo(long size) {
        Unwind unwind = stack.unwind();
        MemorySegment part = segment.asSlice(0, size);
        if (arena != null && unwind.byteOrder().equals(java.nio.ByteOrder.nativeOrder())) {
            return StackMemory.ofNative(part);
        }
        return StackMemory.ofSegment(part, stack.baseAddress(), unwind.byteOrder());
    }

    long endAddress() {
        return stack.baseAddress() + segment.byteSize();
    }

    @Override
    public void close() {
        if (arena != null) {
            arena.close();
        }
    }
}
