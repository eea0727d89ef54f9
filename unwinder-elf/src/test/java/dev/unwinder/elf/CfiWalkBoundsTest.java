package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.unwinder.api.StackMemory;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link CfiWalk} where no module covers the pc: the frame-pointer rule of each architecture, and
 * every way a walk ends (the outermost frame, a loop, memory outside the stack, no frame pointer,
 * the frame limit, the visitor), on hand-built stacks at {@code 0x1000}.
 */
final class CfiWalkBoundsTest {
    private static final long BASE = 0x1000;

    /** A frame as the visitor saw it. */
    private record Frame(long pc, long sp, CfiWalk.How how) {}

    private static StackMemory stack(ByteOrder order, long... addressValuePairs) {
        ByteBuffer bytes = ByteBuffer.allocate(0x100).order(order);
        for (int i = 0; i < addressValuePairs.length; i += 2) {
            bytes.putLong((int) (addressValuePairs[i] - BASE), addressValuePairs[i + 1]);
        }
        return StackMemory.ofBytes(bytes.array(), BASE, order);
    }

    private List<Frame> frames = new ArrayList<>();

    private CfiWalk.End walk(CfiWalk walker, long pc, long[] registers, StackMemory memory, int max) {
        frames = new ArrayList<>();
        return walker.walk(pc, registers, memory, max, (index, framePc, sp, how) -> {
            assertEquals(frames.size(), index);
            frames.add(new Frame(framePc, sp, how));
            return true;
        });
    }

    private static long[] x86(long rsp, long rbp) {
        long[] registers = new long[17];
        registers[7] = rsp;
        registers[6] = rbp;
        return registers;
    }

    private static CfiWalk walker(Machine machine) {
        return new CfiWalk(Plugins.of(machine), ModuleMap.EMPTY, Arena.global());
    }

    @Test
    void x86_64FramePointerChainEndsAtAZeroReturnAddress() {
        CfiWalk walker = walker(Machine.X86_64);
        StackMemory memory = stack(ByteOrder.LITTLE_ENDIAN, 0x1010, 0x1030, 0x1018, 0x6000, 0x1030, 0x1050, 0x1038,
                0x7000);
        assertEquals(CfiWalk.End.OUTERMOST, walk(walker, 0x5000, x86(0x1000, 0x1010), memory, 64));
        assertEquals(List.of(new Frame(0x5000, 0x1000, CfiWalk.How.CONTEXT), new Frame(0x6000, 0x1020, CfiWalk.How.FP),
                new Frame(0x7000, 0x1040, CfiWalk.How.FP)), frames);
        assertEquals("", walker.endDetail());
    }

    @Test
    void aFramePointerThatPointsAtItselfEndsTheWalk() {
        CfiWalk walker = walker(Machine.X86_64);
        StackMemory memory = stack(ByteOrder.LITTLE_ENDIAN, 0x1010, 0x1010, 0x1018, 0x6000);
        assertEquals(CfiWalk.End.CFA_NOT_GROWING, walk(walker, 0x5000, x86(0x1000, 0x1010), memory, 64));
        assertEquals(2, frames.size());
        assertEquals("caller's sp 0x1020 is not above sp 0x1020 at pc 0x6000", walker.endDetail());
    }

    @Test
    void aFramePointerOutsideTheStackEndsTheWalk() {
        CfiWalk walker = walker(Machine.X86_64);
        assertEquals(CfiWalk.End.OUTSIDE_MEMORY,
                walk(walker, 0x5000, x86(0x1000, 0x9000), stack(ByteOrder.LITTLE_ENDIAN), 64));
        assertEquals(List.of(new Frame(0x5000, 0x1000, CfiWalk.How.CONTEXT)), frames);
        assertEquals("OUTSIDE_MEMORY, address 0x9000: 8-byte read at 0x9000 is outside the stack memory [0x1000, 0x1100)", walker.endDetail());
    }

    @Test
    void withoutAFramePointerOrCfiTheWalkEnds() {
        CfiWalk x86 = walker(Machine.X86_64);
        assertEquals(CfiWalk.End.NO_UNWIND_INFO,
                walk(x86, 0x5000, new long[] {0, 0, 0}, stack(ByteOrder.LITTLE_ENDIAN), 64));
        assertEquals("no call-frame information for pc 0x5000 and no frame pointer", x86.endDetail());
        CfiWalk s390x = walker(Machine.S390X);
        long[] registers = new long[16];
        registers[15] = 0x1000;
        assertEquals(CfiWalk.End.NO_UNWIND_INFO, walk(s390x, 0x5000, registers, stack(ByteOrder.BIG_ENDIAN), 64));
        assertEquals(1, frames.size());
        assertEquals("no call-frame information for pc 0x5000", s390x.endDetail());
    }

    @Test
    void registersNotGivenAreNotTheLastWalks() {
        CfiWalk walker = walker(Machine.X86_64);
        StackMemory memory = stack(ByteOrder.LITTLE_ENDIAN, 0x1010, 0x1030, 0x1018, 0x6000);
        walk(walker, 0x5000, x86(0x1000, 0x1010), memory, 64);
        assertEquals(CfiWalk.End.NO_UNWIND_INFO, walk(walker, 0x5000, new long[] {1, 2, 3}, memory, 64));
        assertEquals(List.of(new Frame(0x5000, 0, CfiWalk.How.CONTEXT)), frames, "rsp is not given: 0, not the last walk's");
        assertFalse(walker.registerKnown(7));
    }

    @Test
    void theFrameLimitAndTheVisitorEndTheWalk() {
        CfiWalk walker = walker(Machine.X86_64);
        StackMemory memory = stack(ByteOrder.LITTLE_ENDIAN, 0x1010, 0x1030, 0x1018, 0x6000, 0x1038, 0x7000);
        assertEquals(CfiWalk.End.MAX_FRAMES, walk(walker, 0x5000, x86(0x1000, 0x1010), memory, 2));
        assertEquals(2, frames.size());
        int[] seen = {0};
        assertEquals(CfiWalk.End.STOPPED, walker.walk(0x5000, x86(0x1000, 0x1010), memory, 64, (index, pc, sp, how) -> {
            seen[0]++;
            return index < 1;
        }));
        assertEquals(2, seen[0]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> walker.walk(0x5000, x86(0x1000, 0x1010), memory, 0, (index, pc, sp, how) -> true));
        assertEquals("maxFrames: 0 (expected: at least 1)", e.getMessage());
    }

    @Test
    void aarch64StripsThePointerAuthenticationCodeOfASavedReturnAddress() {
        CfiWalk walker = walker(Machine.AARCH64);
        long[] registers = new long[32];
        registers[31] = 0x1000;
        registers[29] = 0x1010;
        StackMemory memory = stack(ByteOrder.LITTLE_ENDIAN, 0x1010, 0x1040, 0x1018, 0x0012_0000_0000_6000L);
        assertEquals(CfiWalk.End.OUTERMOST, walk(walker, 0x5000, registers, memory, 64));
        assertEquals(List.of(new Frame(0x5000, 0x1000, CfiWalk.How.CONTEXT), new Frame(0x6000, 0x1020, CfiWalk.How.FP)),
                frames);
    }

    @Test
    void riscv64FindsTheCallersFrameBelowS0() {
        CfiWalk walker = walker(Machine.RISCV64);
        long[] registers = new long[32];
        registers[2] = 0x1000;
        registers[8] = 0x1020;
        StackMemory memory = stack(ByteOrder.LITTLE_ENDIAN, 0x1010, 0x1060, 0x1018, 0x6000);
        assertEquals(CfiWalk.End.OUTERMOST, walk(walker, 0x5000, registers, memory, 64));
        assertEquals(List.of(new Frame(0x5000, 0x1000, CfiWalk.How.CONTEXT), new Frame(0x6000, 0x1020, CfiWalk.How.FP)),
                frames);
    }
}
