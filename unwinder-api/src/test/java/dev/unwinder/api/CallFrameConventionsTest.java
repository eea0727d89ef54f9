package dev.unwinder.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.testing.NullPointerTester;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

final class CallFrameConventionsTest {

    @Test
    void theBuilderKeepsWhatItIsGiven() {
        byte[] code = {1, 2, 3};
        int[] offsets = {0, -1, 16};
        CallFrameConventions.SignalFrame frame = new CallFrameConventions.SignalFrame(code, 40, 8, offsets);
        code[0] = 9;
        offsets[0] = 99;
        CallFrameConventions conventions = CallFrameConventions.builder(3, 2, 1)
                .framePointer(0)
                .calleeSaved(0)
                .cfaAboveCallerSp(16)
                .entry(24, true)
                .signalFrame(frame)
                .build();
        assertEquals(3, conventions.registerCount());
        assertEquals(2, conventions.stackPointer());
        assertEquals(1, conventions.returnAddressColumn());
        assertEquals(OptionalInt.of(0), conventions.framePointer());
        assertTrue(conventions.isCalleeSaved(0));
        assertFalse(conventions.isCalleeSaved(1));
        assertTrue(conventions.isCalleeSaved(2), "the stack pointer is always preserved");
        assertFalse(conventions.isCalleeSaved(3));
        assertFalse(conventions.isCalleeSaved(-1));
        assertEquals(16, conventions.cfaAboveCallerSp());
        assertEquals(24, conventions.entryCfaOffset());
        assertTrue(conventions.entryReturnAddressOnStack());
        CallFrameConventions.SignalFrame kept = conventions.signalFrames().getFirst();
        assertArrayEquals(new byte[] {1, 2, 3}, kept.code());
        assertEquals(3, kept.codeLength());
        assertEquals(2, kept.codeByte(1));
        assertEquals(40, kept.contextOffset());
        assertEquals(8, kept.pcOffset());
        assertEquals(0, kept.registerOffset(0));
        assertEquals(-1, kept.registerOffset(1));
        assertEquals(16, kept.registerOffset(2));
        assertEquals(-1, kept.registerOffset(3));
        assertEquals("SignalFrame[code=010203, contextOffset=40, pcOffset=8, registers=[0, -1, 16]]", kept.toString());
    }

    @Test
    void withoutAFramePointerThereIsNoFallback() {
        assertEquals(OptionalInt.empty(), CallFrameConventions.builder(16, 15, 14).build().framePointer());
    }

    @Test
    void badValuesAreRejectedWithWhatWasExpected() {
        assertEquals("registerCount: 0 (expected: 1 to 128)", assertThrows(IllegalArgumentException.class,
                () -> CallFrameConventions.builder(0, 0, 0)).getMessage());
        assertEquals("stackPointer: 17 (expected: 0 to 16)", assertThrows(IllegalArgumentException.class,
                () -> CallFrameConventions.builder(17, 17, 16)).getMessage());
        assertEquals("calleeSaved: -1 (expected: 0 to 16)", assertThrows(IllegalArgumentException.class,
                () -> CallFrameConventions.builder(17, 7, 16).calleeSaved(3, -1)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> CallFrameConventions.builder(17, 7, 16).entry(-8, true));
        assertThrows(IllegalArgumentException.class, () -> CallFrameConventions.builder(17, 7, 16).cfaAboveCallerSp(-1));
        assertEquals("code: 0 bytes (expected: 1 to 16)", assertThrows(IllegalArgumentException.class,
                () -> new CallFrameConventions.SignalFrame(new byte[0], 0, 0)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new CallFrameConventions.SignalFrame(new byte[17], 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new CallFrameConventions.SignalFrame(new byte[1], -1, 0));
        assertThrows(IllegalArgumentException.class, () -> new CallFrameConventions.SignalFrame(new byte[1], 0, 0, -2));
    }

    @Test
    void nullsAreRejected() {
        new NullPointerTester().testAllPublicConstructors(CallFrameConventions.SignalFrame.class);
        new NullPointerTester().testAllPublicInstanceMethods(CallFrameConventions.builder(4, 1, 2));
    }
}
