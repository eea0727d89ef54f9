package dev.unwinder.arch.riscv64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.Frame;
import dev.unwinder.api.Registers;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
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

final class Riscv64UnwindTest {
    private static final long BASE = 0x3f_ffff_0000L;

    private static List<Frame> walk(Unwind unwind, StackMemory memory, long pc, long fp, long entryFp) {
        List<Frame> frames = new ArrayList<>();
        StackWalk.visitFrames(unwind, memory, pc, fp, entryFp, frame -> {
            frames.add(frame.snapshot());
            return ControlFlow.continueWalk();
        });
        return frames;
    }

    @Test
    void walksThePsabiLayoutWhereFpIsTheCfa() {
        // GCC's prologue: addi sp,sp,-n; sd ra,n-8(sp); sd s0,n-16(sp); addi s0,sp,n. So s0 is the CFA,
        // ra sits at s0-8 and the caller's s0 at s0-16.
        ByteBuffer stack = ByteBuffer.allocate(0x100).order(ByteOrder.LITTLE_ENDIAN);
        stack.putLong(0x40 - 16, BASE + 0x80).putLong(0x40 - 8, 0x10536);   // frame 0, s0 = BASE + 0x40
        stack.putLong(0x80 - 16, BASE + 0xe0).putLong(0x80 - 8, 0x105a2);   // frame 1
        StackMemory memory = StackMemory.ofBytes(stack.array(), BASE, ByteOrder.LITTLE_ENDIAN);
        List<Frame> frames = walk(new Riscv64Unwind(), memory, 0x10500, BASE + 0x40, BASE + 0xe0);
        assertEquals(List.of(0x10500L, 0x10536L), frames.stream().map(Frame::pc).toList());
        assertEquals(List.of(BASE + 0x40, BASE + 0x80), frames.stream().map(Frame::fp).toList());
        assertEquals(BASE + 0x40, frames.get(1).sp(), "the caller's sp is the callee's CFA");
    }

    @Test
    void walksCraneliftsLayoutWhereFpPointsAtTheSavedPair() {
        ByteBuffer stack = ByteBuffer.allocate(0x100).order(ByteOrder.LITTLE_ENDIAN);
        stack.putLong(0x20, BASE + 0x60).putLong(0x28, 0x20010);
        stack.putLong(0x60, BASE + 0xa0).putLong(0x68, 0x20020);
        StackMemory memory = StackMemory.ofBytes(stack.array(), BASE, ByteOrder.LITTLE_ENDIAN);
        List<Frame> frames = walk(new Riscv64CraneliftUnwind(), memory, 0x20000, BASE + 0x20, BASE + 0xa0);
        assertEquals(List.of(0x20000L, 0x20010L), frames.stream().map(Frame::pc).toList());
        assertEquals(BASE + 0x30, frames.get(1).sp());
    }

    @Test
    void bothLayoutsStartFromS0() {
        long[] registers = new long[32];
        registers[8] = BASE + 0x40;
        Registers regs = Registers.of(0x10500, registers);
        StackMemory none = StackMemory.ofBytes(new byte[0], BASE, ByteOrder.LITTLE_ENDIAN);
        for (Unwind unwind : List.of(new Riscv64Unwind(), new Riscv64CraneliftUnwind())) {
            assertEquals(BASE + 0x40, unwind.startFp(regs, none));
            assertEquals(2, unwind.stackPointerRegister());
            assertEquals(OptionalInt.of(1), unwind.linkRegister());
        }
    }

    @Test
    void thePlatformLayoutOwnsTheArchitecturesName() {
        assertInstanceOf(Riscv64Unwind.class, Unwinders.forArch("riscv64"));
        assertInstanceOf(Riscv64CraneliftUnwind.class, Unwinders.forArch("riscv64-cranelift"));
        assertEquals("little-endian, 8-byte words; caller's fp at fp-16, return address at fp-8, caller's sp at fp+0;"
                + " fp aligned to 16", new Riscv64Unwind().describeLayout());
    }

    /** The published conformance checks, run as any plugin outside this repository would run them. */
    @TestFactory
    Stream<DynamicTest> passesThePluginConformanceChecks() {
        return Stream.of(new Riscv64Unwind(), new Riscv64CraneliftUnwind())
                .flatMap(unwind -> PluginConformance.checks(unwind).entrySet().stream())
                .map(check -> DynamicTest.dynamicTest(check.getKey(), check.getValue()::run));
    }
}
