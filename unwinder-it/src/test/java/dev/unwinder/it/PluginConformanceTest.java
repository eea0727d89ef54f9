package dev.unwinder.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.Frame;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.api.UnwindException;
import dev.unwinder.api.UnwindException.Reason;
import dev.unwinder.core.LenientWalk;
import dev.unwinder.core.StackWalk;
import dev.unwinder.core.Unwinders;
import dev.unwinder.core.WalkEnd;
import dev.unwinder.it.StackCase.Placement;
import dev.unwinder.testkit.SyntheticStack;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every plugin found at run time, on stacks in its own layout and byte order, in heap memory below,
 * across and above 2^63 and in native memory: complete walks, early exits, empty walks, every
 * {@link Reason} of the strict mode and every {@link WalkEnd} of the lenient mode.
 */
final class PluginConformanceTest {
    private static final int FRAMES = 12;
    private static final int K = 5; // the frame whose link the corruption tests damage

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (Unwind unwind : Unwinders.available()) {
            for (Placement placement : Placement.values()) {
                cases.add(Arguments.of(unwind.name(), placement));
            }
        }
        return cases.stream();
    }

    /** A visitor keeping frame snapshots, stopping at {@code breakAt} if that is not negative. */
    private static final class Seen {
        final List<Frame> frames = new ArrayList<>();

        ControlFlow<Integer> visit(Frame frame, int breakAt) {
            frames.add(frame.snapshot());
            return frame.index() == breakAt ? ControlFlow.breakWith(frame.index()) : ControlFlow.continueWalk();
        }
    }

    private static List<Frame> strict(StackCase c, StackMemory memory) {
        Seen seen = new Seen();
        SyntheticStack s = c.stack;
        StackWalk.visitFrames(s.unwind(), memory, s.pc(0), s.fp(0), s.sentinelFp(), f -> seen.visit(f, -1));
        return seen.frames;
    }

    private static void assertFramesAreTheStacks(SyntheticStack stack, List<Frame> frames, int count) {
        assertEquals(count, frames.size());
        long spOffset = stack.unwind().nextOlderSpFromFpOffset();
        for (int i = 0; i < count; i++) {
            Frame frame = frames.get(i);
            assertEquals(i, frame.index());
            assertEquals(stack.pc(i), frame.pc(), "pc of frame " + i);
            assertEquals(stack.fp(i), frame.fp(), "fp of frame " + i);
            if (i > 0) {
                assertEquals(stack.fp(i - 1) + spOffset, frame.sp(), "sp of frame " + i);
            }
        }
    }

    private static UnwindException strictFailure(StackCase c, StackMemory memory, List<Frame> delivered) {
        SyntheticStack s = c.stack;
        Seen seen = new Seen();
        UnwindException e = assertThrows(UnwindException.class, () -> StackWalk.visitFrames(
                s.unwind(), memory, s.pc(0), s.fp(0), s.sentinelFp(), f -> seen.visit(f, -1)));
        delivered.addAll(seen.frames);
        return e;
    }

    private static LenientWalk<Integer> lenient(StackCase c, long entryFp, int maxFrames, int breakAt, List<Frame> out) {
        SyntheticStack s = c.stack;
        Seen seen = new Seen();
        LenientWalk<Integer> walk = StackWalk.visitFramesLenient(
                s.unwind(), c.memory(), s.pc(0), s.fp(0), entryFp, maxFrames, f -> seen.visit(f, breakAt));
        out.addAll(seen.frames);
        return walk;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void walksEveryFrameExactlyToTheSentinel(String arch, Placement placement) {
        try (StackCase c = StackCase.of(Unwinders.forArch(arch), FRAMES, placement)) {
            assertFramesAreTheStacks(c.stack, strict(c, c.memory()), FRAMES);
            List<Frame> iterated = new ArrayList<>();
            SyntheticStack s = c.stack;
            Iterator<Frame> frames = StackWalk.frameIterator(s.unwind(), c.memory(), s.pc(0), s.fp(0), s.sentinelFp());
            frames.forEachRemaining(iterated::add);
            assertFramesAreTheStacks(s, iterated, FRAMES);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void stopsEarlyWithTheVisitorsValue(String arch, Placement placement) {
        try (StackCase c = StackCase.of(Unwinders.forArch(arch), FRAMES, placement)) {
            SyntheticStack s = c.stack;
            Seen seen = new Seen();
            ControlFlow<Integer> flow = StackWalk.visitFrames(
                    s.unwind(), c.memory(), s.pc(0), s.fp(0), s.sentinelFp(), f -> seen.visit(f, 3));
            assertEquals(ControlFlow.breakWith(3), flow);
            assertFramesAreTheStacks(s, seen.frames, 4);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void anEmptyWalkVisitsNothing(String arch, Placement placement) {
        try (StackCase c = StackCase.of(Unwinders.forArch(arch), 0, placement)) {
            SyntheticStack s = c.stack;
            assertEquals(s.fp(0), s.sentinelFp());
            Seen seen = new Seen();
            assertSame(ControlFlow.continueWalk(), StackWalk.visitFrames(
                    s.unwind(), c.memory(), s.pc(0), s.fp(0), s.sentinelFp(), f -> seen.visit(f, -1)));
            assertEquals(List.of(), seen.frames);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void zeroStartingValuesAreRejected(String arch, Placement placement) {
        try (StackCase c = StackCase.of(Unwinders.forArch(arch), FRAMES, placement)) {
            SyntheticStack s = c.stack;
            Unwind u = s.unwind();
            StackMemory m = c.memory();
            assertEquals(Reason.ZERO_PC, assertThrows(UnwindException.class,
                    () -> StackWalk.visitFrames(u, m, 0, s.fp(0), s.sentinelFp(), f -> ControlFlow.continueWalk())).reason());
            assertEquals(Reason.ZERO_FP, assertThrows(UnwindException.class,
                    () -> StackWalk.visitFrames(u, m, s.pc(0), 0, s.sentinelFp(), f -> ControlFlow.continueWalk())).reason());
            assertEquals(Reason.ZERO_SENTINEL, assertThrows(UnwindException.class,
                    () -> StackWalk.visitFrames(u, m, s.pc(0), s.fp(0), 0, f -> ControlFlow.continueWalk())).reason());
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void aMisalignedFpFailsAtTheFrameItWouldStart(String arch, Placement placement) {
        try (StackCase c = StackCase.of(Unwinders.forArch(arch), FRAMES, placement)) {
            SyntheticStack s = c.stack;
            long misaligned = s.fp(K + 1) + s.unwind().fpAlignment() / 2;
            List<Frame> delivered = new ArrayList<>();
            UnwindException e = strictFailure(c.put(s.savedFpAddress(K), misaligned), c.memory(), delivered);
            assertEquals(Reason.FP_MISALIGNED, e.reason());
            assertEquals(K + 1, e.frameIndex());
            assertEquals(misaligned, e.address());
            assertFramesAreTheStacks(s, delivered, K + 1);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void anFpPastTheSentinelFails(String arch, Placement placement) {
        try (StackCase c = StackCase.of(Unwinders.forArch(arch), FRAMES, placement)) {
            SyntheticStack s = c.stack;
            long past = s.sentinelFp() + 16;
            List<Frame> delivered = new ArrayList<>();
            UnwindException e = strictFailure(c.put(s.savedFpAddress(K), past), c.memory(), delivered);
            assertEquals(Reason.FP_NOT_BELOW_SENTINEL, e.reason());
            assertEquals(K + 1, e.frameIndex());
            assertEquals(past, e.address());
            assertFramesAreTheStacks(s, delivered, K + 1);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void aCycleFailsBeforeTheFrameWhoseLinkCloses(String arch, Placement placement) {
        try (StackCase c = StackCase.of(Unwinders.forArch(arch), FRAMES, placement)) {
            SyntheticStack s = c.stack;
            List<Frame> delivered = new ArrayList<>();
            UnwindException e = strictFailure(c.put(s.savedFpAddress(K), s.fp(1)), c.memory(), delivered);
            assertEquals(Reason.CHAIN_NOT_GROWING, e.reason());
            assertEquals(K, e.frameIndex());
            assertEquals(s.fp(1), e.address());
            assertFramesAreTheStacks(s, delivered, K);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void aTruncatedStackFailsAtTheFirstLinkItCannotRead(String arch, Placement placement) {
        try (StackCase c = StackCase.of(Unwinders.forArch(arch), FRAMES, placement)) {
            SyntheticStack s = c.stack;
            long lowestLinkWord = Math.min(s.savedFpAddress(K), s.returnAddressAddress(K));
            List<Frame> delivered = new ArrayList<>();
            UnwindException e = strictFailure(c, c.memoryUpTo(lowestLinkWord - s.baseAddress()), delivered);
            assertEquals(Reason.READ_OUT_OF_BOUNDS, e.reason());
            assertEquals(K, e.frameIndex());
            assertEquals(s.savedFpAddress(K), e.address(), "the saved fp is read first");
            assertFramesAreTheStacks(s, delivered, K);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void leniently(String arch, Placement placement) {
        Unwind unwind = Unwinders.forArch(arch);
        // The synthetic entry frame's own link is (0, 0), as _start leaves it: N + 1 frames, then ZERO_FP.
        try (StackCase c = StackCase.of(unwind, FRAMES, placement)) {
            List<Frame> frames = new ArrayList<>();
            LenientWalk<Integer> walk = lenient(c, 0, 100, -1, frames);
            assertEquals(WalkEnd.ZERO_FP, walk.end());
            assertFramesAreTheStacks(c.stack, frames, FRAMES + 1);

            frames.clear();
            walk = lenient(c, c.stack.sentinelFp(), 100, -1, frames);
            assertEquals(WalkEnd.ENTRY_FP_REACHED, walk.end());
            assertFramesAreTheStacks(c.stack, frames, FRAMES);

            frames.clear();
            walk = lenient(c, 0, 4, -1, frames);
            assertEquals(WalkEnd.FRAME_LIMIT, walk.end());
            assertFramesAreTheStacks(c.stack, frames, 4);

            frames.clear();
            walk = lenient(c, 0, 100, 2, frames);
            assertEquals(WalkEnd.VISITOR_BREAK, walk.end());
            assertEquals(ControlFlow.breakWith(2), walk.flow());
            assertFramesAreTheStacks(c.stack, frames, 3);
        }
        // Each damaged link ends the walk after the frame that holds it, K + 1 frames in all.
        assertLenientEnd(unwind, placement, WalkEnd.FP_NOT_GROWING, (c, s) -> c.put(s.savedFpAddress(K), s.fp(2)));
        assertLenientEnd(unwind, placement, WalkEnd.ZERO_PC, (c, s) -> c.put(s.returnAddressAddress(K), 0));
        assertLenientEnd(unwind, placement, WalkEnd.FP_MISALIGNED,
                (c, s) -> c.put(s.savedFpAddress(K), s.fp(K + 1) + unwind.fpAlignment() / 2));
        assertLenientEnd(unwind, placement, WalkEnd.FP_OUTSIDE_MEMORY,
                (c, s) -> c.put(s.savedFpAddress(K), c.endAddress() + 0x1000));
        assertLenientEnd(unwind, placement, WalkEnd.ZERO_FP, (c, s) -> c.put(s.savedFpAddress(K), 0));
    }

    private interface Damage {
        void apply(StackCase c, SyntheticStack s);
    }

    private static void assertLenientEnd(Unwind unwind, Placement placement, WalkEnd expected, Damage damage) {
        try (StackCase c = StackCase.of(unwind, FRAMES, placement)) {
            damage.apply(c, c.stack);
            List<Frame> frames = new ArrayList<>();
            LenientWalk<Integer> walk = lenient(c, 0, 100, -1, frames);
            assertEquals(expected, walk.end(), unwind.name() + " " + placement);
            assertEquals(K + 1, walk.frameCount());
            assertFramesAreTheStacks(c.stack, frames, K + 1);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void placementAboveOrAcrossTwoToThe63ChangesNothingButTheAddresses(String arch, Placement placement) {
        Unwind unwind = Unwinders.forArch(arch);
        try (StackCase below = StackCase.of(unwind, 200, Placement.HEAP_BELOW_2_63);
                StackCase other = StackCase.of(unwind, 200, placement)) {
            List<Frame> a = strict(below, below.memory());
            List<Frame> b = strict(other, other.memory());
            assertEquals(a.size(), b.size());
            long shift = other.stack.baseAddress() - below.stack.baseAddress();
            for (int i = 0; i < a.size(); i++) {
                assertEquals(a.get(i).pc(), b.get(i).pc());
                assertEquals(a.get(i).fp() + shift, b.get(i).fp());
            }
            if (placement == Placement.HEAP_STRADDLING_2_63) {
                assertEquals(true, other.stack.fp(0) > 0 && other.stack.sentinelFp() < 0,
                        "the chain crosses 2^63 (signed: from positive to negative)");
            }
        }
    }
}
