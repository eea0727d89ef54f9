package dev.unwinder.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.testing.NullPointerTester;
import org.junit.jupiter.api.Test;

final class ApiValuesTest {

    @Test
    void continueIsOneSharedInstance() {
        ControlFlow<String> a = ControlFlow.continueWalk();
        ControlFlow<Integer> b = ControlFlow.continueWalk();
        assertSame(a, b);
        assertFalse(a.isBreak());
        assertEquals("Continue", a.toString());
    }

    @Test
    void breakCarriesItsValueAndMatchesByPattern() {
        ControlFlow<String> flow = ControlFlow.breakWith("found");
        assertTrue(flow.isBreak());
        String value = switch (flow) {
            case ControlFlow.Continue<String> c -> "continue";
            case ControlFlow.Break<String>(String v) -> v;
        };
        assertEquals("found", value);
        assertEquals(new ControlFlow.Break<>("found"), flow);
        assertNull(((ControlFlow.Break<Object>) ControlFlow.breakWith(null)).value());
    }

    @Test
    void unwindExceptionNamesReasonFrameAndAddress() {
        UnwindException e = new UnwindException(UnwindException.Reason.FP_MISALIGNED, 3, 0x7ffd_0000_1238L,
                "fp 0x7ffd00001238 is not a multiple of 16");
        assertEquals("FP_MISALIGNED at frame 3, address 0x7ffd00001238: fp 0x7ffd00001238 is not a multiple of 16",
                e.getMessage());
        assertEquals(UnwindException.Reason.FP_MISALIGNED, e.reason());
        assertEquals(3, e.frameIndex());
        assertEquals(0x7ffd_0000_1238L, e.address());
        assertEquals("fp 0x7ffd00001238 is not a multiple of 16", e.detail());
    }

    @Test
    void addressesAboveTwoToThe63AreUnsignedHex() {
        UnwindException e = new UnwindException(UnwindException.Reason.FP_NOT_GROWING, 0, 0xffff_8000_0000_0010L, "x");
        assertEquals("FP_NOT_GROWING at frame 0, address 0xffff800000000010: x", e.getMessage());
    }

    @Test
    void placingAtAFrameKeepsEverythingButTheIndex() {
        UnwindException outside = new UnwindException(UnwindException.Reason.OUTSIDE_MEMORY, UnwindException.NO_FRAME,
                0x40, "8-byte read at 0x40 is outside the stack memory [0x0, 0x40)");
        UnwindException placed = outside.atFrame(5);
        assertEquals("OUTSIDE_MEMORY at frame 5, address 0x40: 8-byte read at 0x40 is outside the stack memory [0x0, 0x40)",
                placed.getMessage());
        assertSame(outside, placed.getCause());
        assertSame(placed, placed.atFrame(5));
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> new UnwindException(UnwindException.Reason.ZERO_FP, -2, 0, "x"));
        assertEquals("frameIndex: -2 (expected: >= -1)", bad.getMessage());
    }

    @Test
    void registersAreIndexedByDwarfNumber() {
        long[] values = {10, 11, 12};
        Registers registers = Registers.of(0x400123, values);
        values[1] = 99;
        assertEquals(0x400123, registers.pc());
        assertEquals(11, registers.get(1), "the array is copied");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> registers.get(3));
        assertEquals("dwarfRegister: 3 (expected: 0 to 2)", e.getMessage());
        assertEquals("Registers[pc=0x400123, r0=0xa, r1=0xb, r2=0xc]", registers.toString());
    }

    @Test
    void publicFactoriesRejectNulls() {
        NullPointerTester tester = new NullPointerTester();
        tester.testAllPublicStaticMethods(Registers.class);
        tester.testAllPublicConstructors(UnwindException.class);
    }
}
