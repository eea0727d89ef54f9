package dev.unwinder.arch.aarch64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.Frame;
import dev.unwinder.api.Registers;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.UnwindException;
import dev.unwinder.core.LenientWalk;
import dev.unwinder.core.StackWalk;
import dev.unwinder.core.Unwinders;
import dev.unwinder.core.WalkEnd;
import dev.unwinder.testkit.PluginConformance;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

final class AArch64UnwindTest {
    private static final AArch64Unwind ARM = new AArch64Unwind();
    private static final long BASE = 0x5500_7ff0_0000L;

    /**
     * Frame records (x29, x30) as {@code stp x29, x30, [sp, #-n]!} leaves them, with PAC-signed
     * return addresses; the outermost record holds zeros, as {@code _start} leaves it.
     */
    private static StackMemory handBuilt() {
        ByteBuffer stack = ByteBuffer.allocate(0x100).order(ByteOrder.LITTLE_ENDIAN);
        stack.putLong(0x10, BASE + 0x48).putLong(0x18, 0x0075_0000_0040_0ee8L); // signed 0x400ee8
        stack.putLong(0x48, BASE + 0x90).putLong(0x50, 0x003a_0000_0040_1004L); // signed 0x401004
        stack.putLong(0x90, 0).putLong(0x98, 0);
        return StackMemory.ofBytes(stack.array(), BASE, ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void walksFrameRecordsAndStripsSignatures() {
        List<Frame> frames = new ArrayList<>();
        LenientWalk<Void> walk = StackWalk.visitFramesLenient(ARM, handBuilt(), 0x400e00, BASE + 0x10, StackWalk.NO_ENTRY_FP, 10, frame -> {
            frames.add(frame.snapshot());
            return ControlFlow.continueWalk();
        });
        assertEquals(WalkEnd.ZERO_FP, walk.end());
        assertEquals(List.of(0x400e00L, 0x400ee8L, 0x401004L), frames.stream().map(Frame::pc).toList());
        assertEquals(List.of(BASE + 0x10, BASE + 0x48, BASE + 0x90), frames.stream().map(Frame::fp).toList());
        assertEquals(BASE + 0x20, frames.get(1).sp());
    }

    @Test
    void stripsLikeXpaciForUserAndKernelAddresses() {
        assertEquals(0x400ee8L, ARM.stripPointerAuthentication(0x0075_0000_0040_0ee8L));
        assertEquals(0xffff_8000_1234_5678L, ARM.stripPointerAuthentication(0xff9a_8000_1234_5678L));
        assertEquals(0x0000_ffff_f7a0_1234L, ARM.stripPointerAuthentication(0x0000_ffff_f7a0_1234L));
        AArch64Unwind va39 = AArch64Unwind.withVirtualAddressBits(39);
        assertEquals(39, va39.virtualAddressBits());
        assertEquals(0x7f_f7a0_1234L, va39.stripPointerAuthentication(0x0012_34ff_f7a0_1234L));
        assertEquals(0x400ee8L, va39.decodeReturnAddress(handBuilt().readLong(BASE + 0x10, va39.nextOlderPcFromFpOffset())));
    }

    @Test
    void rejectsVirtualAddressSizesOutOfRange() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AArch64Unwind.withVirtualAddressBits(56));
        assertEquals("bits: 56 (expected: 32 to 55)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> AArch64Unwind.withVirtualAddressBits(31));
    }

    @Test
    void frameRecordsAreEightByteAligned() {
        UnwindException e = assertThrows(UnwindException.class, () -> StackWalk.visitFrames(
                ARM, handBuilt(), 0x400e00, BASE + 0x14, BASE + 0x90, frame -> ControlFlow.continueWalk()));
        assertEquals("FP_MISALIGNED at frame 0, address 0x55007ff00014: fp 0x55007ff00014 is not a multiple of 8",
                e.getMessage());
    }

    @Test
    void startsFromX29() {
        long[] registers = new long[32];
        registers[29] = BASE + 0x10;
        assertEquals(BASE + 0x10, ARM.startFp(Registers.of(0x400e00, registers), handBuilt()));
        assertEquals(31, ARM.stackPointerRegister());
        assertEquals(OptionalInt.of(30), ARM.linkRegister());
    }

    @Test
    void isFoundByNameAndAlias() {
        assertInstanceOf(AArch64Unwind.class, Unwinders.forArch("aarch64"));
        assertInstanceOf(AArch64Unwind.class, Unwinders.forArch("arm64"));
        assertEquals("little-endian, 8-byte words; caller's fp at fp+0, return address at fp+8, caller's sp at fp+16;"
                + " fp aligned to 8; pointer authentication stripped above bit 47", ARM.describeLayout());
    }

    /** The published conformance checks, run as any plugin outside this repository would run them. */
    @TestFactory
    Stream<DynamicTest> passesThePluginConformanceChecks() {
        return Stream.of(new AArch64Unwind(), AArch64Unwind.withVirtualAddressBits(39))
                .flatMap(unwind -> PluginConformance.checks(unwind).entrySet().stream())
                .map(check -> DynamicTest.dynamicTest(check.getKey(), check.getValue()::run));
    }
}
