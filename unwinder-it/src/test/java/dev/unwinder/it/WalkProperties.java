package dev.unwinder.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.api.UnwindException;
import dev.unwinder.core.LenientWalk;
import dev.unwinder.core.StackWalk;
import dev.unwinder.core.Unwinders;
import dev.unwinder.testkit.SyntheticStack;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.constraints.IntRange;

/**
 * Generated stacks of every plugin: valid ones walk completely and exactly; damaged ones end with
 * an exception or an end reason, never a hang or a read outside the memory, after delivering
 * exactly what the reference model delivers. The walker reads through a slice of a larger array:
 * a read outside the declared memory would fail with IndexOutOfBoundsException, not pass.
 */
final class WalkProperties {
    private static final int GUARD = 4096;

    /** Kinds of damage to a stack. */
    enum Damage { NONE, FLIP_BIT, CYCLE, DESCEND, OUTSIDE, MISALIGN, TRUNCATE, RANDOM_WORD }

    /** One generated case: a plugin's stack at a base address, and a damage with its parameters. */
    record Case(Unwind unwind, int frames, long seed, long base, Damage damage, int k, int j, long r1, long r2) {
        @Override
        public String toString() {
            return String.format("Case[%s, %d frames, seed 0x%x, base 0x%x, %s k=%d j=%d r1=0x%x r2=0x%x]",
                    unwind.name(), frames, seed, base, damage, k, j, r1, r2);
        }
    }

    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Unwind> plugins = Arbitraries.of(Unwinders.available());
        Arbitrary<Long> bases = Arbitraries.oneOf(
                Arbitraries.longs().between(0x1000, 0x7fff_ffff_0000L),
                // Near or across 2^63 (Long.MIN_VALUE as a signed long).
                Arbitraries.longs().between(-0x10_0000L, 0x10_0000L).map(d -> Long.MIN_VALUE + d),
                // Above 2^63, up to the top of the address space: negative as signed longs.
                Arbitraries.longs().between(Long.MIN_VALUE, -0x10_0000L))
                .map(b -> b & ~0xfL);
        return Combinators.combine(plugins, Arbitraries.integers().between(0, 300), Arbitraries.longs(), bases,
                        Arbitraries.of(Damage.class), Arbitraries.integers().between(0, Integer.MAX_VALUE),
                        Arbitraries.integers().between(0, Integer.MAX_VALUE), Arbitraries.longs())
                .as((u, n, seed, base, damage, k, j, r1) -> new Case(u, n, seed, base, damage, k, j, r1, seed ^ r1));
    }

    @Property(tries = 1000)
    void walksMatchTheReferenceModel(@ForAll("cases") Case c) {
        SyntheticStack stack = SyntheticStack.generate(c.unwind(), c.frames(), c.seed(), 0x1000);
        long size = stack.bytes().length;
        long base = Long.compareUnsigned(c.base() + size, c.base()) < 0 ? -size - 0x1000 & ~0xfL : c.base();
        stack = SyntheticStack.generate(c.unwind(), c.frames(), c.seed(), base);
        byte[] backing = new byte[GUARD + stack.bytes().length + GUARD];
        System.arraycopy(stack.bytes(), 0, backing, GUARD, stack.bytes().length);
        int length = damage(c, stack, backing);

        ReferenceModel model = new ReferenceModel(c.unwind(), java.util.Arrays.copyOfRange(backing, GUARD, GUARD + length),
                length, base);
        StackMemory memory = StackMemory.ofSegment(MemorySegment.ofArray(backing).asSlice(GUARD, length), base,
                c.unwind().byteOrder());

        ReferenceModel.Outcome expectedStrict = model.strict(stack.pc(0), stack.fp(0), stack.entryFp());
        assertEquals(expectedStrict, strict(c.unwind(), memory, stack), c.toString());
        int cap = c.frames() + 2;
        ReferenceModel.Outcome expectedLenient = model.lenient(stack.pc(0), stack.fp(0), 0, cap);
        assertEquals(expectedLenient, lenient(c.unwind(), memory, stack, cap), c.toString());

        Statistics.label("strict end").collect(expectedStrict.end());
        Statistics.label("lenient end").collect(expectedLenient.end());
        Statistics.label("damage").collect(c.damage());
        if (c.damage() == Damage.NONE) {
            assertEquals(c.frames(), expectedStrict.frames().size(), "a valid stack walks completely");
            assertEquals("SENTINEL", expectedStrict.end());
            assertEquals("ZERO_FP", expectedLenient.end());
            for (int i = 0; i < c.frames(); i++) {
                assertEquals(List.of(stack.pc(i), stack.fp(i)), expectedStrict.frames().get(i));
            }
        }
        if (c.frames() > 0 && (c.damage() == Damage.CYCLE || c.damage() == Damage.DESCEND)) {
            int k = c.k() % c.frames();
            assertEquals(k, expectedStrict.frames().size(), "exactly the frames below the bad link");
            assertEquals("FP_NOT_GROWING", expectedStrict.end());
            assertEquals(k + 1, expectedLenient.frames().size(), "the frame holding the bad link, too");
            assertEquals("FP_NOT_GROWING", expectedLenient.end());
        }
    }

    /** Applies the case's damage to the stack bytes inside {@code backing}; returns the memory's length. */
    private static int damage(Case c, SyntheticStack stack, byte[] backing) {
        int length = stack.bytes().length;
        ByteBuffer words = ByteBuffer.wrap(backing, GUARD, length).slice().order(c.unwind().byteOrder());
        int n = c.frames();
        int k = n == 0 ? 0 : c.k() % n;
        long savedFp = stack.savedFpAddress(k) - stack.baseAddress();
        switch (c.damage()) {
            case NONE -> { }
            case FLIP_BIT -> {
                int index = (int) Long.remainderUnsigned(c.r1(), length / 8) * 8;
                words.putLong(index, words.getLong(index) ^ (1L << (c.j() % 64)));
            }
            case CYCLE -> {
                if (n > 0) {
                    words.putLong((int) savedFp, stack.fp(c.j() % (k + 1)));
                }
            }
            case DESCEND -> {
                if (n > 0) {
                    words.putLong((int) savedFp, stack.fp(k) - 16L * (1 + c.j() % 8));
                }
            }
            case OUTSIDE -> {
                if (n > 0) {
                    long end = stack.baseAddress() + length;
                    words.putLong((int) savedFp, c.j() % 2 == 0 ? end + 16L * (c.j() % 64) : stack.baseAddress() - 16);
                }
            }
            case MISALIGN -> {
                if (n > 0) {
                    long misalignment = 1 + Long.remainderUnsigned(c.r1(), c.unwind().fpAlignment() - 1);
                    words.putLong((int) savedFp, stack.fp(k + 1) + misalignment);
                }
            }
            case TRUNCATE -> length = (int) Long.remainderUnsigned(c.r1(), length + 1L);
            case RANDOM_WORD -> {
                int index = (int) Long.remainderUnsigned(c.r1(), length / 8) * 8;
                long near = stack.fp(c.j() % (n + 1)) + (c.r2() % 64);
                words.putLong(index, c.k() % 2 == 0 ? near : c.r2());
            }
        }
        return length;
    }

    private static ReferenceModel.Outcome strict(Unwind unwind, StackMemory memory, SyntheticStack stack) {
        List<List<Long>> frames = new ArrayList<>();
        return assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            try {
                StackWalk.visitFrames(unwind, memory, stack.pc(0), stack.fp(0), stack.entryFp(), frame -> {
                    frames.add(List.of(frame.pc(), frame.fp()));
                    return ControlFlow.continueWalk();
                });
                return new ReferenceModel.Outcome(frames, "SENTINEL");
            } catch (UnwindException e) {
                assertEquals(frames.size(), e.frameIndex(), "the exception names the first undelivered frame");
                return new ReferenceModel.Outcome(frames, e.reason().name());
            }
        });
    }

    private static ReferenceModel.Outcome lenient(Unwind unwind, StackMemory memory, SyntheticStack stack, int cap) {
        List<List<Long>> frames = new ArrayList<>();
        return assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            LenientWalk<Void> walk = StackWalk.visitFramesLenient(unwind, memory, stack.pc(0), stack.fp(0), StackWalk.NO_ENTRY_FP, cap, frame -> {
                frames.add(List.of(frame.pc(), frame.fp()));
                return ControlFlow.continueWalk();
            });
            assertEquals(frames.size(), walk.frameCount());
            return new ReferenceModel.Outcome(frames, walk.end().name());
        });
    }

    @Property(tries = 200)
    void walksOfUnchangedMemoryAreRepeatable(@ForAll @IntRange(min = 0, max = 64) int frames,
            @ForAll("plugins") Unwind unwind) {
        SyntheticStack stack = SyntheticStack.generate(unwind, frames);
        StackMemory memory = stack.heapMemory();
        assertEquals(strict(unwind, memory, stack), strict(unwind, memory, stack));
    }

    @Provide
    Arbitrary<Unwind> plugins() {
        return Arbitraries.of(Unwinders.available());
    }
}
