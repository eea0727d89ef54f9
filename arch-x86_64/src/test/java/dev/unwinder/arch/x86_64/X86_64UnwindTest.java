package dev.unwinder.arch.x86_64;

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

final class X86_64UnwindTest {
    private static final X86_64Unwind X86 = new X86_64Unwind();
    private static final long BASE = 0x7ffc_1234_0000L;

    /**
     * Three frames as {@code push %rbp; mov %rsp,%rbp} leaves them: at each rbp the caller's rbp,
     * above it the return address. Entry frame at BASE + 0x100. Frame 1's rbp is 8 mod 16, as GCC
     * leaves it between functions that need no 16-byte alignment (seen in a real GCC 12 core).
     */
    private static StackMemory handBuilt() {
        ByteBuffer stack = ByteBuffer.allocate(0x120).order(ByteOrder.LITTLE_ENDIAN);
        stack.putLong(0x20, BASE + 0x68).putLong(0x28, 0x401136);   // frame 0, rbp = BASE + 0x20
        stack.putLong(0x68, BASE + 0xb0).putLong(0x70, 0x401190);   // frame 1, rbp = BASE + 0x68
        stack.putLong(0xb0, BASE + 0x100).putLong(0xb8, 0x4011f4);  // frame 2
        return StackMemory.ofBytes(stack.array(), BASE, ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void walksRbpChains() {
        List<Frame> frames = new ArrayList<>();
        StackWalk.visitFrames(X86, handBuilt(), 0x401100, BASE + 0x20, BASE + 0x100, frame -> {
            frames.add(frame.snapshot());
            return ControlFlow.continueWalk();
        });
        assertEquals(List.of(0x401100L, 0x401136L, 0x401190L), frames.stream().map(Frame::pc).toList());
        assertEquals(List.of(BASE + 0x20, BASE + 0x68, BASE + 0xb0), frames.stream().map(Frame::fp).toList());
        assertEquals(BASE + 0x30, frames.get(1).sp(), "after ret, the caller's rsp is rbp + 16");
    }

    @Test
    void rejectsRbpsOffTheEightByteGrid() {
        UnwindException e = assertThrows(UnwindException.class,
                () -> StackWalk.visitFrames(X86, handBuilt(), 0x401100, BASE + 0x24, BASE + 0x100,
                        frame -> ControlFlow.continueWalk()));
        assertEquals(UnwindException.Reason.FP_MISALIGNED, e.reason());
    }

    @Test
    void startsFromRbp() {
        long[] registers = new long[17];
        registers[6] = BASE + 0x20;
        registers[7] = BASE + 0x10;
        assertEquals(BASE + 0x20, X86.startFp(Registers.of(0x401100, registers), handBuilt()));
        assertEquals(7, X86.stackPointerRegister());
        assertEquals(OptionalInt.empty(), X86.linkRegister());
    }

    @Test
    void isFoundByNameAndAliases() {
        for (String name : List.of("x86_64", "amd64", "x86-64", "AMD64")) {
            assertInstanceOf(X86_64Unwind.class, Unwinders.forArch(name));
        }
        assertEquals("little-endian, 8-byte words; caller's fp at fp+0, return address at fp+8, caller's sp at fp+16;"
                + " fp aligned to 8", X86.describeLayout());
    }

    /** The published conformance checks, run as any plugin outside this repository would run them. */
    @TestFactory
    Stream<DynamicTest> passesThePluginConformanceChecks() {
        return Stream.of(new X86_64Unwind())
                .flatMap(unwind -> PluginConformance.checks(unwind).entrySet().stream())
                .map(check -> DynamicTest.dynamicTest(check.getKey(), check.getValue()::run));
    }
}
