package dev.unwinder.arch.s390x;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.Frame;
import dev.unwinder.api.Registers;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.UnwindException;
import dev.unwinder.core.StackWalk;
import dev.unwinder.core.Unwinders;
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

final class S390xUnwindTest {
    private static final S390xUnwind S390X = new S390xUnwind();
    private static final long BASE = 0x3ff_ffff_0000L;

    /**
     * Frames of 160 and 200 bytes as GCC's {@code -mbackchain} prologue leaves them: each callee
     * stores r14 at 112 above its entry sp (the caller's sp) and, after dropping sp, the entry sp
     * as the backchain at 0 of its own frame. fp is the backchain value.
     */
    private static StackMemory handBuilt() {
        ByteBuffer stack = ByteBuffer.allocate(0x300).order(ByteOrder.BIG_ENDIAN);
        long sp0 = BASE;               // innermost frame's sp
        long fp0 = sp0 + 160;          // its entry sp = caller's sp
        long fp1 = fp0 + 200;
        long fp2 = fp1 + 160;
        stack.putLong((int) (sp0 - BASE), fp0);            // innermost backchain
        stack.putLong((int) (fp0 - BASE), fp1);            // caller's frame: backchain to its caller
        stack.putLong((int) (fp0 + 112 - BASE), 0x1000_6a2L); // r14 saved by the innermost function
        stack.putLong((int) (fp1 - BASE), fp2);
        stack.putLong((int) (fp1 + 112 - BASE), 0x1000_7c4L);
        return StackMemory.ofBytes(stack.array(), BASE, ByteOrder.BIG_ENDIAN);
    }

    @Test
    void walksTheBigEndianBackchainOnThisHost() {
        StackMemory memory = handBuilt();
        long[] registers = new long[16];
        registers[15] = BASE;
        long fp = S390X.startFp(Registers.of(0x1000_600L, registers), memory);
        assertEquals(BASE + 160, fp, "the backchain word that r15 points at");
        List<Frame> frames = new ArrayList<>();
        StackWalk.visitFrames(S390X, memory, 0x1000_600L, fp, BASE + 520, frame -> {
            frames.add(frame.snapshot());
            return ControlFlow.continueWalk();
        });
        assertEquals(List.of(0x1000_600L, 0x1000_6a2L), frames.stream().map(Frame::pc).toList());
        assertEquals(List.of(BASE + 160, BASE + 360), frames.stream().map(Frame::fp).toList());
        assertEquals(BASE + 160, frames.get(1).sp(), "the caller's sp is the callee's fp");
    }

    @Test
    void littleEndianMemoryIsRejected() {
        StackMemory wrongOrder = StackMemory.ofBytes(new byte[0x300], BASE, ByteOrder.LITTLE_ENDIAN);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StackWalk.visitFrames(
                S390X, wrongOrder, 0x1000_600L, BASE + 160, BASE + 520, frame -> ControlFlow.continueWalk()));
        assertEquals("memory.byteOrder(): LITTLE_ENDIAN (expected: BIG_ENDIAN, the byte order of s390x)", e.getMessage());
    }

    @Test
    void startingFromAnSpOutsideTheStackFails() {
        long[] registers = new long[16];
        registers[15] = BASE - 8;
        UnwindException e = assertThrows(UnwindException.class,
                () -> S390X.startFp(Registers.of(0x1000_600L, registers), handBuilt()));
        assertEquals(UnwindException.Reason.OUTSIDE_MEMORY, e.reason());
        assertEquals(14, S390X.linkRegister().orElseThrow());
        assertEquals(OptionalInt.of(14), S390X.linkRegister());
        assertEquals(15, S390X.stackPointerRegister());
    }

    @Test
    void isFoundByName() {
        assertInstanceOf(S390xUnwind.class, Unwinders.forArch("s390x"));
        assertEquals("big-endian, 8-byte words; caller's fp at fp+0, return address at fp+112, caller's sp at fp+0;"
                + " fp aligned to 8", S390X.describeLayout());
    }

    /** The published conformance checks, run as any plugin outside this repository would run them. */
    @TestFactory
    Stream<DynamicTest> passesThePluginConformanceChecks() {
        return Stream.of(new S390xUnwind())
                .flatMap(unwind -> PluginConformance.checks(unwind).entrySet().stream())
                .map(check -> DynamicTest.dynamicTest(check.getKey(), check.getValue()::run));
    }
}
