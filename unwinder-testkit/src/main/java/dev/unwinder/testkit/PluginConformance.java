package dev.unwinder.testkit;

import static java.util.Objects.requireNonNull;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.Frame;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.api.UnwindException;
import dev.unwinder.api.UnwindException.Reason;
import dev.unwinder.core.LenientWalk;
import dev.unwinder.core.StackWalk;
import dev.unwinder.core.WalkEnd;
import dev.unwinder.testkit.StackCase.Placement;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The checks that every {@link Unwind} plugin must pass, for plugins of this repository and of any
 * other: the walks of {@link StackWalk} over {@link SyntheticStack}s in the plugin's own layout and
 * byte order, in heap memory below, across and above 2^63 and in native memory. They cover
 * complete walks (visitor and iterator, every frame's pc, fp and sp), early exits, empty walks,
 * zero starting values, and every {@link Reason} of the strict walk and every {@link WalkEnd} of
 * the lenient one that a damaged link can cause, with exactly the frames delivered before it.
 *
 * <p>A failed check throws {@link AssertionError} with a message that names the check, the memory
 * and what differed; no test framework is needed. With JUnit 5, one dynamic test per check:
 *
 * {@snippet :
 * @TestFactory
 * Stream<DynamicTest> conformance() {
 *     return PluginConformance.checks(new MyUnwind()).entrySet().stream()
 *             .map(check -> DynamicTest.dynamicTest(check.getKey(), check.getValue()::run));
 * }
 * }
 *
 * The native-memory checks allocate through {@code java.lang.foreign} and need no native access.
 */
public final class PluginConformance {
    private static final int FRAMES = 12;
    private static final int K = 5; // the frame whose link the damage checks corrupt

    private PluginConformance() {}

    /**
     * Runs every check on {@code unwind}.
     *
     * @param unwind the plugin
     * @throws AssertionError at the first check that fails
     */
    public static void check(Unwind unwind) {
        checks(unwind).values().forEach(Runnable::run);
    }

    /**
     * Returns every check on {@code unwind}, by a name such as
     * {@code "x86_64: a cycle fails before the frame whose link closes it [heap above 2^63]"}, in
     * a stable order.
     *
     * @param unwind the plugin
     * @return the checks; each throws {@link AssertionError} when it fails
     */
    public static Map<String, Runnable> checks(Unwind unwind) {
        requireNonNull(unwind, "unwind");
        Map<String, Runnable> checks = new LinkedHashMap<>();
        for (Placement placement : Placement.values()) {
            add(checks, unwind, placement, "walks every frame exactly to the entry fp", PluginConformance::completeWalks);
            add(checks, unwind, placement, "stops early with the visitor's value", PluginConformance::earlyExit);
            add(checks, unwind, placement, "an empty walk visits nothing", PluginConformance::emptyWalk);
            add(checks, unwind, placement, "zero starting values are rejected", PluginConformance::zeroStarts);
            add(checks, unwind, placement, "a misaligned fp fails at the frame it would start",
                    PluginConformance::misaligned);
            add(checks, unwind, placement, "an fp past the entry fp fails", PluginConformance::pastEntry);
            add(checks, unwind, placement, "a cycle fails before the frame whose link closes it",
                    PluginConformance::cycle);
            add(checks, unwind, placement, "a truncated stack fails at the first link it cannot read",
                    PluginConformance::truncated);
            add(checks, unwind, placement, "the lenient walk ends as each link says", PluginConformance::lenient);
            add(checks, unwind, placement, "placement changes nothing but the addresses",
                    PluginConformance::placementIndependence);
        }
        return checks;
    }

    private interface Check {
        void run(Unwind unwind, Placement placement);
    }

    private static void add(Map<String, Runnable> checks, Unwind unwind, Placement placement, String name, Check check) {
        String fullName = unwind.name() + ": " + name + " [" + placement.description + "]";
        checks.put(fullName, () -> {
            try {
                check.run(unwind, placement);
            } catch (AssertionError e) {
                AssertionError named = new AssertionError(fullName + ": " + e.getMessage(), e.getCause());
                named.setStackTrace(e.getStackTrace());
                throw named;
            }
        });
    }

    // Assertions, framework-free.

    private static void expect(Object expected, Object actual, String what) {
        if (!Objects.equals(expected, actual)) {
            throw new AssertionError(what + ": expected " + show(expected) + ", got " + show(actual));
        }
    }

    private static String show(Object value) {
        return value instanceof Long l ? "0x" + Long.toHexString(l) : String.valueOf(value);
    }

    private static <T extends Throwable> T expectThrows(Class<T> type, Runnable walk, String what) {
        try {
            walk.run();
        } catch (Throwable t) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
            throw new AssertionError(what + ": expected " + type.getSimpleName() + ", got " + t, t);
        }
        throw new AssertionError(what + ": expected " + type.getSimpleName() + ", nothing was thrown");
    }

    // Walks.

    /** A visitor keeping frame snapshots, stopping at {@code breakAt} if that is not negative. */
    private static ControlFlow<Integer> keep(List<Frame> frames, Frame frame, int breakAt) {
        frames.add(frame.snapshot());
        return frame.index() == breakAt ? ControlFlow.breakWith(frame.index()) : ControlFlow.continueWalk();
    }

    private static List<Frame> strict(StackCase c, StackMemory memory) {
        List<Frame> frames = new ArrayList<>();
        SyntheticStack s = c.stack;
        StackWalk.visitFrames(s.unwind(), memory, s.pc(0), s.fp(0), s.entryFp(), f -> keep(frames, f, -1));
        return frames;
    }

    private static void expectFramesOfTheStack(SyntheticStack stack, List<Frame> frames, int count) {
        expect(count, frames.size(), "frames delivered");
        long spOffset = stack.unwind().nextOlderSpFromFpOffset();
        for (int i = 0; i < count; i++) {
            Frame frame = frames.get(i);
            expect(i, frame.index(), "index of frame " + i);
            expect(stack.pc(i), frame.pc(), "pc of frame " + i);
            expect(stack.fp(i), frame.fp(), "fp of frame " + i);
            if (i > 0) {
                expect(stack.fp(i - 1) + spOffset, frame.sp(), "sp of frame " + i);
            }
        }
    }

    private static UnwindException strictFailure(StackCase c, StackMemory memory, List<Frame> delivered) {
        SyntheticStack s = c.stack;
        return expectThrows(UnwindException.class, () -> StackWalk.visitFrames(
                s.unwind(), memory, s.pc(0), s.fp(0), s.entryFp(), f -> keep(delivered, f, -1)), "the strict walk");
    }

    private static void expectFailure(UnwindException e, Reason reason, int frameIndex, long address) {
        expect(reason, e.reason(), "reason of " + e.getMessage());
        expect(frameIndex, e.frameIndex(), "frame index of " + e.getMessage());
        expect(address, e.address(), "address of " + e.getMessage());
    }

    private static LenientWalk<Integer> lenient(StackCase c, long entryFp, int maxFrames, int breakAt, List<Frame> out) {
        SyntheticStack s = c.stack;
        return StackWalk.visitFramesLenient(
                s.unwind(), c.memory(), s.pc(0), s.fp(0), entryFp, maxFrames, f -> keep(out, f, breakAt));
    }

    private static void withCase(Unwind unwind, int frames, Placement placement, Consumer<StackCase> body) {
        try (StackCase c = StackCase.of(unwind, frames, placement)) {
            body.accept(c);
        }
    }

    // The checks.

    private static void completeWalks(Unwind unwind, Placement placement) {
        withCase(unwind, FRAMES, placement, c -> {
            SyntheticStack s = c.stack;
            expectFramesOfTheStack(s, strict(c, c.memory()), FRAMES);
            List<Frame> iterated = new ArrayList<>();
            Iterator<Frame> frames = StackWalk.frameIterator(s.unwind(), c.memory(), s.pc(0), s.fp(0), s.entryFp());
            frames.forEachRemaining(iterated::add);
            expectFramesOfTheStack(s, iterated, FRAMES);
        });
    }

    private static void earlyExit(Unwind unwind, Placement placement) {
        withCase(unwind, FRAMES, placement, c -> {
            SyntheticStack s = c.stack;
            List<Frame> frames = new ArrayList<>();
            ControlFlow<Integer> flow = StackWalk.visitFrames(
                    s.unwind(), c.memory(), s.pc(0), s.fp(0), s.entryFp(), f -> keep(frames, f, 3));
            expect(ControlFlow.breakWith(3), flow, "the visitor's break");
            expectFramesOfTheStack(s, frames, 4);
        });
    }

    private static void emptyWalk(Unwind unwind, Placement placement) {
        withCase(unwind, 0, placement, c -> {
            SyntheticStack s = c.stack;
            expect(s.fp(0), s.entryFp(), "an empty stack's entry fp");
            List<Frame> frames = new ArrayList<>();
            ControlFlow<Integer> flow = StackWalk.visitFrames(
                    s.unwind(), c.memory(), s.pc(0), s.fp(0), s.entryFp(), f -> keep(frames, f, -1));
            if (flow != ControlFlow.<Integer>continueWalk()) {
                throw new AssertionError("an empty walk returned " + flow + " (expected: the shared continueWalk())");
            }
            expect(List.of(), frames, "frames of an empty walk");
        });
    }

    private static void zeroStarts(Unwind unwind, Placement placement) {
        withCase(unwind, FRAMES, placement, c -> {
            SyntheticStack s = c.stack;
            StackMemory m = c.memory();
            expect(Reason.ZERO_PC, expectThrows(UnwindException.class, () -> StackWalk.visitFrames(
                    unwind, m, 0, s.fp(0), s.entryFp(), f -> ControlFlow.continueWalk()), "pc 0").reason(), "pc 0");
            expect(Reason.ZERO_FP, expectThrows(UnwindException.class, () -> StackWalk.visitFrames(
                    unwind, m, s.pc(0), 0, s.entryFp(), f -> ControlFlow.continueWalk()), "fp 0").reason(), "fp 0");
            expect(Reason.ZERO_ENTRY_FP, expectThrows(UnwindException.class, () -> StackWalk.visitFrames(
                    unwind, m, s.pc(0), s.fp(0), 0, f -> ControlFlow.continueWalk()), "entry fp 0").reason(),
                    "entry fp 0");
        });
    }

    private static void misaligned(Unwind unwind, Placement placement) {
        withCase(unwind, FRAMES, placement, c -> savedFpFails(c, c.stack.fp(K + 1) + unwind.fpAlignment() / 2,
                Reason.FP_MISALIGNED, K + 1));
    }

    private static void pastEntry(Unwind unwind, Placement placement) {
        withCase(unwind, FRAMES, placement, c -> savedFpFails(c, c.stack.entryFp() + 16,
                Reason.FP_NOT_BELOW_ENTRY_FP, K + 1));
    }

    private static void cycle(Unwind unwind, Placement placement) {
        withCase(unwind, FRAMES, placement, c -> savedFpFails(c, c.stack.fp(1), Reason.FP_NOT_GROWING, K));
    }

    /**
     * Writes {@code savedFp} into frame K's link and checks that the strict walk fails with
     * {@code reason} at frame {@code index}, at that value, after delivering exactly the frames before.
     */
    private static void savedFpFails(StackCase c, long savedFp, Reason reason, int index) {
        List<Frame> delivered = new ArrayList<>();
        UnwindException e = strictFailure(c.put(c.stack.savedFpAddress(K), savedFp), c.memory(), delivered);
        expectFailure(e, reason, index, savedFp);
        expectFramesOfTheStack(c.stack, delivered, index);
    }

    private static void truncated(Unwind unwind, Placement placement) {
        withCase(unwind, FRAMES, placement, c -> {
            SyntheticStack s = c.stack;
            long lowestLinkWord = Math.min(s.savedFpAddress(K), s.returnAddressAddress(K));
            List<Frame> delivered = new ArrayList<>();
            UnwindException e = strictFailure(c, c.memoryUpTo(lowestLinkWord - s.baseAddress()), delivered);
            // The saved fp is read first, so a link wholly outside the memory is reported at its address.
            expectFailure(e, Reason.OUTSIDE_MEMORY, K, s.savedFpAddress(K));
            expectFramesOfTheStack(s, delivered, K);
        });
    }

    private static void lenient(Unwind unwind, Placement placement) {
        // The synthetic entry frame's own link is (0, 0), as _start leaves it: N + 1 frames, then ZERO_FP.
        withCase(unwind, FRAMES, placement, c -> {
            List<Frame> frames = new ArrayList<>();
            LenientWalk<Integer> walk = lenient(c, StackWalk.NO_ENTRY_FP, 100, -1, frames);
            expect(WalkEnd.ZERO_FP, walk.end(), "end without an entry fp");
            expectFramesOfTheStack(c.stack, frames, FRAMES + 1);

            frames.clear();
            walk = lenient(c, c.stack.entryFp(), 100, -1, frames);
            expect(WalkEnd.ENTRY_FP_REACHED, walk.end(), "end with the entry fp");
            expectFramesOfTheStack(c.stack, frames, FRAMES);

            frames.clear();
            walk = lenient(c, StackWalk.NO_ENTRY_FP, 4, -1, frames);
            expect(WalkEnd.FRAME_LIMIT, walk.end(), "end at 4 frames");
            expectFramesOfTheStack(c.stack, frames, 4);

            frames.clear();
            walk = lenient(c, StackWalk.NO_ENTRY_FP, 100, 2, frames);
            expect(WalkEnd.VISITOR_BREAK, walk.end(), "end at the visitor's break");
            expect(ControlFlow.breakWith(2), walk.flow(), "the visitor's break");
            expectFramesOfTheStack(c.stack, frames, 3);
        });
        // Each damaged link ends the walk after the frame that holds it, K + 1 frames in all.
        lenientEnd(unwind, placement, WalkEnd.FP_NOT_GROWING, c -> c.put(c.stack.savedFpAddress(K), c.stack.fp(2)));
        lenientEnd(unwind, placement, WalkEnd.ZERO_PC, c -> c.put(c.stack.returnAddressAddress(K), 0));
        lenientEnd(unwind, placement, WalkEnd.FP_MISALIGNED,
                c -> c.put(c.stack.savedFpAddress(K), c.stack.fp(K + 1) + unwind.fpAlignment() / 2));
        lenientEnd(unwind, placement, WalkEnd.OUTSIDE_MEMORY,
                c -> c.put(c.stack.savedFpAddress(K), c.endAddress() + 0x1000));
        lenientEnd(unwind, placement, WalkEnd.ZERO_FP, c -> c.put(c.stack.savedFpAddress(K), 0));
    }

    private static void lenientEnd(Unwind unwind, Placement placement, WalkEnd expected, Consumer<StackCase> damage) {
        withCase(unwind, FRAMES, placement, c -> {
            damage.accept(c);
            List<Frame> frames = new ArrayList<>();
            LenientWalk<Integer> walk = lenient(c, StackWalk.NO_ENTRY_FP, 100, -1, frames);
            expect(expected, walk.end(), "end after damage meant to give " + expected);
            expect(K + 1, walk.frameCount(), "frames delivered before " + expected);
            expectFramesOfTheStack(c.stack, frames, K + 1);
        });
    }

    private static void placementIndependence(Unwind unwind, Placement placement) {
        try (StackCase below = StackCase.of(unwind, 200, Placement.HEAP_BELOW_2_63);
                StackCase other = StackCase.of(unwind, 200, placement)) {
            List<Frame> a = strict(below, below.memory());
            List<Frame> b = strict(other, other.memory());
            expect(a.size(), b.size(), "frames delivered");
            long shift = other.stack.baseAddress() - below.stack.baseAddress();
            for (int i = 0; i < a.size(); i++) {
                expect(a.get(i).pc(), b.get(i).pc(), "pc of frame " + i);
                expect(a.get(i).fp() + shift, b.get(i).fp(), "fp of frame " + i);
            }
            if (placement == Placement.HEAP_STRADDLING_2_63 && !(other.stack.fp(0) > 0 && other.stack.entryFp() < 0)) {
                throw new AssertionError("the chain does not cross 2^63 (signed: from positive to negative)");
            }
        }
    }
}
