package dev.unwinder.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.api.Registers;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

final class SyntheticStackTest {

    /**
     * The layouts of the four architectures, with the offsets of the frame-layouts reference (the
     * plugins themselves depend on this module for their tests, so they cannot be used here).
     */
    record Layout(String name, ByteOrder byteOrder, long nextOlderFpFromFpOffset, long nextOlderPcFromFpOffset,
            long nextOlderSpFromFpOffset, int fpAlignment) implements Unwind {
        @Override
        public int wordSize() {
            return 8;
        }

        @Override
        public int stackPointerRegister() {
            return 0;
        }

        @Override
        public OptionalInt linkRegister() {
            return OptionalInt.empty();
        }

        @Override
        public long startFp(Registers registers, StackMemory memory) {
            return 0;
        }
    }

    static List<Layout> layouts() {
        return List.of(
                new Layout("x86_64", ByteOrder.LITTLE_ENDIAN, 0, 8, 16, 16),
                new Layout("aarch64", ByteOrder.LITTLE_ENDIAN, 0, 8, 16, 8),
                new Layout("riscv64", ByteOrder.LITTLE_ENDIAN, -16, -8, 0, 16),
                new Layout("s390x", ByteOrder.BIG_ENDIAN, 0, 112, 0, 8));
    }

    @Test
    void splitMix64MatchesTheReferenceSequence() {
        // The first outputs of Vigna's splitmix64.c seeded with 0.
        SplitMix64 zero = new SplitMix64(0);
        assertEquals(0xE220A8397B1DCDAFL, zero.next());
        assertEquals(0x6E789E6AA1B965F4L, zero.next());
        assertEquals(0x06C45D188009454FL, zero.next());
        SplitMix64 seeded = new SplitMix64(SyntheticStack.SIZE_SEED);
        assertEquals(0x09F1FD9D03F0A9B4L, seeded.next());
        assertEquals(0x553274161BBF8475L, seeded.next());
    }

    @Test
    void frameSizesForTheDefaultSeedFollowTheDocumentedRule() {
        // 32 + 16 * (x mod 15) for the first outputs of splitmix64(0x5EED), computed independently.
        long[] expected = {144, 112, 208, 144, 80, 112, 240, 32};
        SyntheticStack stack = SyntheticStack.generate(layouts().get(0), expected.length);
        for (int k = 0; k < expected.length; k++) {
            assertEquals(expected[k], stack.fp(k + 1) - stack.fp(k), "size of frame " + k);
        }
        assertEquals(0x4d3d65L, stack.pc(0));
        assertEquals(0x45520fL, stack.pc(1));
    }

    @Test
    void everySizeIsOneOfTheFifteenSteps() {
        SyntheticStack stack = SyntheticStack.generate(layouts().get(0), 10_000);
        boolean[] seen = new boolean[15];
        for (int k = 0; k < stack.frameCount(); k++) {
            long size = stack.fp(k + 1) - stack.fp(k);
            assertTrue(size >= 32 && size <= 256 && size % 16 == 0, "size " + size);
            seen[(int) (size - 32) / 16] = true;
        }
        for (boolean step : seen) {
            assertTrue(step, "every size from 32 to 256 occurs in 10,000 frames");
        }
    }

    @ParameterizedTest
    @MethodSource("layouts")
    void eachFrameLinksToItsCallerInTheLayoutsOffsetsAndByteOrder(Layout layout) {
        int frames = 300;
        SyntheticStack stack = SyntheticStack.generate(layout, frames, 42, 0x7fff_0000_0000L);
        StackMemory memory = stack.heapMemory();
        assertEquals(layout.byteOrder(), memory.byteOrder());
        long minFrame = ((Math.max(layout.nextOlderFpFromFpOffset(), layout.nextOlderPcFromFpOffset()) + 8
                - Math.min(layout.nextOlderFpFromFpOffset(), layout.nextOlderPcFromFpOffset())) + 15) & -16L;
        for (int k = 0; k < frames; k++) {
            assertEquals(stack.fp(k + 1), memory.readLong(stack.fp(k) + layout.nextOlderFpFromFpOffset()), "saved fp " + k);
            assertEquals(stack.pc(k + 1), memory.readLong(stack.fp(k) + layout.nextOlderPcFromFpOffset()), "saved pc " + k);
            assertEquals(stack.savedFpAddress(k), stack.fp(k) + layout.nextOlderFpFromFpOffset());
            assertEquals(stack.returnAddressAddress(k), stack.fp(k) + layout.nextOlderPcFromFpOffset());
            assertEquals(0, stack.fp(k) % layout.fpAlignment(), "fp alignment " + k);
            long size = stack.fp(k + 1) - stack.fp(k);
            assertTrue(size >= Math.max(32, minFrame) && size <= Math.max(256, minFrame) && size % 16 == 0,
                    "size " + size + " of frame " + k);
        }
        assertEquals(0, memory.readLong(stack.savedFpAddress(frames)), "the entry frame ends the chain");
        assertEquals(0, memory.readLong(stack.returnAddressAddress(frames)));
        assertEquals(SyntheticStack.sizeOf(layout, frames, 42), memory.size());
        assertTrue(memory.contains(stack.fp(frames) + layout.nextOlderPcFromFpOffset(), 8));
        // Bytes in the layout's order: the first saved fp's bytes, read back by hand.
        byte[] bytes = stack.bytes();
        int at = (int) (stack.savedFpAddress(0) - stack.baseAddress());
        long assembled = 0;
        for (int i = 0; i < 8; i++) {
            int b = bytes[at + (layout.byteOrder() == ByteOrder.BIG_ENDIAN ? i : 7 - i)] & 0xff;
            assembled = assembled << 8 | b;
        }
        assertEquals(stack.fp(1), assembled);
    }

    @ParameterizedTest
    @MethodSource("layouts")
    void theNativeCopyHoldsTheSameStackAtItsOwnAddress(Layout layout) {
        try (Arena arena = Arena.ofConfined()) {
            SyntheticStack.Native copy = SyntheticStack.inNativeMemory(layout, 100, SyntheticStack.SIZE_SEED, arena);
            MemorySegment segment = copy.segment();
            SyntheticStack stack = copy.stack();
            assertEquals(segment.address(), stack.baseAddress());
            assertArrayEquals(stack.bytes(), segment.toArray(ValueLayout.JAVA_BYTE));
            SyntheticStack onHeap = SyntheticStack.generate(layout, 100, SyntheticStack.SIZE_SEED, stack.baseAddress());
            assertArrayEquals(onHeap.bytes(), stack.bytes());
            StackMemory memory = copy.memory();
            assertEquals(stack.fp(1), memory.readLong(stack.savedFpAddress(0)));
        }
    }

    @Test
    void rejectsBadArguments() {
        Layout x86 = layouts().get(0);
        IllegalArgumentException frames = assertThrows(IllegalArgumentException.class,
                () -> SyntheticStack.generate(x86, -1));
        assertEquals("frames: -1 (expected: >= 0)", frames.getMessage());
        IllegalArgumentException base = assertThrows(IllegalArgumentException.class,
                () -> SyntheticStack.generate(x86, 1, 1, 0x1008));
        assertEquals("baseAddress: 0x1008 (expected: a multiple of 16)", base.getMessage());
    }
}
