package dev.unwinder.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.testing.NullPointerTester;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

final class StackMemoryTest {

    private static byte[] words(ByteOrder order, long... values) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 8).order(order);
        for (long value : values) {
            buffer.putLong(value);
        }
        return buffer.array();
    }

    /** The three kinds of memory over the same words, at the same base address. */
    private static List<StackMemory> kinds(byte[] bytes, long base, ByteOrder order, Arena arena) {
        MemorySegment offHeap = arena.allocate(bytes.length, 16);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, offHeap, 0, bytes.length);
        return List.of(
                StackMemory.ofBytes(bytes, base, order),
                StackMemory.ofSegment(MemorySegment.ofArray(bytes), base, order),
                StackMemory.ofSegment(offHeap, base, order));
    }

    @ParameterizedTest
    @ValueSource(longs = {0x1000L, 0x7fff_ffff_ffff_fff0L, 0x8000_0000_0000_0000L, 0xffff_ffff_ffff_ffe8L})
    void readsEveryWordInEitherByteOrderAtAnyBase(long base) {
        try (Arena arena = Arena.ofConfined()) {
            for (ByteOrder order : List.of(ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN)) {
                byte[] bytes = words(order, 0x1122334455667788L, -2L, 0x8000_0000_0000_0001L);
                for (StackMemory memory : kinds(bytes, base, order, arena)) {
                    assertEquals(0x1122334455667788L, memory.readLong(base));
                    assertEquals(-2L, memory.readLong(base + 8));
                    assertEquals(0x8000_0000_0000_0001L, memory.readLong(base + 16));
                    // An unaligned word across two values.
                    assertEquals(ByteBuffer.wrap(bytes, 4, 8).order(order).getLong(), memory.readLong(base + 4));
                    assertEquals(base, memory.baseAddress());
                    assertEquals(24, memory.size());
                    assertEquals(order, memory.byteOrder());
                }
            }
        }
    }

    @Test
    void readsOutsideTheRangeFailWithTheAddressInHex() {
        try (Arena arena = Arena.ofConfined()) {
            long base = 0xffff_8000_0000_1000L;
            for (StackMemory memory : kinds(new byte[32], base, ByteOrder.LITTLE_ENDIAN, arena)) {
                // Offsets of 2^32 and -2^32 truncate to the int index 0: they must not read byte 0.
                for (long address : new long[] {base - 1, base - 8, base + 25, base + 32, 0, -1,
                        base + 0x8000_0000_0000_0000L, base + (1L << 32), base - (1L << 32), base + (1L << 31)}) {
                    UnwindException e = assertThrows(UnwindException.class, () -> memory.readLong(address));
                    assertEquals(UnwindException.Reason.OUTSIDE_MEMORY, e.reason());
                    assertEquals(UnwindException.NO_FRAME, e.frameIndex());
                    assertEquals(address, e.address());
                    assertEquals(String.format(
                                    "OUTSIDE_MEMORY, address 0x%x: 8-byte read at 0x%x is outside the stack memory"
                                            + " [0xffff800000001000, 0xffff800000001020)", address, address),
                            e.getMessage());
                }
                assertEquals(0L, memory.readLong(base + 24));
            }
        }
    }

    @Test
    void memoryEndingAtTheTopOfTheAddressSpaceReadsItsLastWord() {
        StackMemory memory = StackMemory.ofBytes(words(ByteOrder.BIG_ENDIAN, 7, 9), -16L, ByteOrder.BIG_ENDIAN);
        assertEquals(9, memory.readLong(-8L));
        assertEquals(7, memory.readLong(-16L));
        assertThrows(UnwindException.class, () -> memory.readLong(-4L));
        assertTrue(memory.contains(-16L, 16));
        assertFalse(memory.contains(-16L, 17));
    }

    @Test
    void rangesThatWouldWrapPast2To64AreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StackMemory.ofBytes(new byte[32], -16L, ByteOrder.LITTLE_ENDIAN));
        assertEquals("baseAddress: 0xfffffffffffffff0 (expected: 32 bytes to fit below 2^64)", e.getMessage());
    }

    @Test
    void nativeMemoryIsMadeOfNativeSegmentsOnly() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StackMemory.ofNative(MemorySegment.ofArray(new byte[32])));
        assertEquals("segment: a heap segment (expected: a native segment; use ofBytes or ofSegment for heap memory)",
                e.getMessage());
    }

    /** A segment over memory this test did not allocate: the restricted call is the caller's, as the API intends. */
    @SuppressWarnings("restricted")
    private static MemorySegment unmapped(long address, long size) {
        return MemorySegment.ofAddress(address).reinterpret(size);
    }

    @Test
    void memorySmallerThanAWordRejectsEveryRead() {
        StackMemory memory = StackMemory.ofBytes(new byte[7], 0x1000, ByteOrder.LITTLE_ENDIAN);
        assertThrows(UnwindException.class, () -> memory.readLong(0x1000));
        StackMemory empty = StackMemory.ofBytes(new byte[0], 0x1000, ByteOrder.LITTLE_ENDIAN);
        assertThrows(UnwindException.class, () -> empty.readLong(0x1000));
        assertTrue(empty.contains(0x1000, 0));
        assertFalse(empty.contains(0x1000, 1));
    }

    @Test
    void offsetReadsThatWrapAroundTheAddressSpaceFail() {
        // Memory at the bottom of the address space: fp + offset wrapping past 2^64 would land inside it.
        StackMemory memory = StackMemory.ofBytes(new byte[64], 0, ByteOrder.LITTLE_ENDIAN);
        UnwindException e = assertThrows(UnwindException.class, () -> memory.readLong(-8L, 16));
        assertEquals(UnwindException.Reason.OUTSIDE_MEMORY, e.reason());
        assertEquals("OUTSIDE_MEMORY, address 0xfffffffffffffff8: 0xfffffffffffffff8 +16 wraps around the address space",
                e.getMessage());
        StackMemory top = StackMemory.ofBytes(new byte[64], -64L, ByteOrder.LITTLE_ENDIAN);
        e = assertThrows(UnwindException.class, () -> top.readLong(8, -16));
        assertEquals("OUTSIDE_MEMORY, address 0x8: 0x8 -16 wraps around the address space", e.getMessage());
        assertEquals(0, memory.readLong(32, -16));
        assertEquals(0, top.readLong(-32L, 16));
    }

    @Test
    void containsIsUnsignedAndExact() {
        long base = 0x7fff_ffff_ffff_fff0L; // straddles 2^63
        StackMemory memory = StackMemory.ofBytes(new byte[32], base, ByteOrder.LITTLE_ENDIAN);
        assertTrue(memory.contains(base, 32));
        assertTrue(memory.contains(0x8000_0000_0000_0008L, 8));
        assertFalse(memory.contains(0x8000_0000_0000_0008L, 9));
        assertFalse(memory.contains(base - 1, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> memory.contains(base, -1));
        assertEquals("length: -1 (expected: >= 0)", e.getMessage());
    }

    @Test
    void nativeMemoryReadsLiveBytesInNativeOrder() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(64, 16);
            segment.set(ValueLayout.JAVA_LONG, 8, 0x0123_4567_89ab_cdefL);
            long low = segment.address();
            StackMemory memory = StackMemory.ofNative(segment);
            assertEquals(ByteOrder.nativeOrder(), memory.byteOrder());
            assertEquals(0x0123_4567_89ab_cdefL, memory.readLong(low + 8));
            segment.set(ValueLayout.JAVA_LONG, 8, 42);
            assertEquals(42, memory.readLong(low + 8), "reads see the live bytes");
            assertThrows(UnwindException.class, () -> memory.readLong(low + 57));
            assertThrows(UnwindException.class, () -> memory.readLong(low - 8));
        }
    }

    @Test
    void nativeMemoryRejectsReadsOutsideItsRangeBeforeTouchingThem() {
        // Unmapped ranges, low and just below 2^63: a read that reached memory would crash the JVM, so
        // each of these must fail on the range check alone, with the same message as other memory.
        for (long low : new long[] {0x1000, 0x7fff_ffff_ffff_ff00L}) {
            StackMemory memory = StackMemory.ofNative(unmapped(low, 32));
            assertEquals(String.format("StackMemory[native, 0x%x..0x%x, %s]", low, low + 32, ByteOrder.nativeOrder()),
                    memory.toString());
            for (long address : new long[] {low - 8, low - 1, low + 25, low + 32, 0, -8, low + (1L << 32)}) {
                UnwindException e = assertThrows(UnwindException.class, () -> memory.readLong(address));
                assertEquals(String.format("OUTSIDE_MEMORY, address 0x%x: 8-byte read at 0x%x is outside the stack"
                        + " memory [0x%x, 0x%x)", address, address, low, low + 32), e.getMessage());
            }
        }
        for (int size = 0; size < 8; size++) {
            StackMemory tooSmall = StackMemory.ofNative(unmapped(0x1000, size));
            assertThrows(UnwindException.class, () -> tooSmall.readLong(0x1000));
        }
    }

    @Test
    void closedSegmentsFailAsTheirArenaDoes() {
        Arena arena = Arena.ofConfined();
        MemorySegment segment = arena.allocate(16);
        StackMemory memory = StackMemory.ofSegment(segment, 0x1000, ByteOrder.LITTLE_ENDIAN);
        arena.close();
        assertThrows(IllegalStateException.class, () -> memory.readLong(0x1000));
    }

    @Test
    void nativeMemoryOfAClosedArenaFailsCleanlyInsteadOfReadingFreedMemory() {
        Arena arena = Arena.ofShared();
        MemorySegment segment = arena.allocate(64, 16);
        StackMemory memory = StackMemory.ofNative(segment);
        long low = segment.address();
        assertEquals(0, memory.readLong(low + 8));
        arena.close();
        assertThrows(IllegalStateException.class, () -> memory.readLong(low + 8));
        // A read outside the memory is refused by the bounds check first, closed or not.
        assertThrows(UnwindException.class, () -> memory.readLong(low + 64));
    }

    @Test
    void describesItself() {
        assertEquals("StackMemory[bytes, 0x1000..0x1010, BIG_ENDIAN]",
                StackMemory.ofBytes(new byte[16], 0x1000, ByteOrder.BIG_ENDIAN).toString());
    }

    @Test
    void nullArgumentsAreRejectedByName() {
        NullPointerTester tester = new NullPointerTester().setDefault(ByteOrder.class, ByteOrder.LITTLE_ENDIAN);
        tester.testAllPublicStaticMethods(StackMemory.class);
    }
}
