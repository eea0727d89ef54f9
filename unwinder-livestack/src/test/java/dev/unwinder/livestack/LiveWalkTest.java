package dev.unwinder.livestack;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.FrameVisitor;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.api.UnwindException;
import dev.unwinder.api.UnwindException.Reason;
import dev.unwinder.core.LenientWalk;
import dev.unwinder.core.StackWalk;
import dev.unwinder.core.Unwinders;
import dev.unwinder.core.WalkEnd;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Walks this process's own native stack while it is live: a descent through liblivestack.so to a
 * chosen depth, walked from the callback at its bottom by {@link StackWalk#visitFrames}.
 *
 * <p><b>How many frames.</b> {@code live_descend} (level 0) calls the level functions of levels
 * 1 to {@code depth}, one frame each, and the deepest calls {@code live_bottom} (level
 * {@code depth + 1}), which calls the Java callback. The walk starts at {@code live_bottom}'s pc
 * and fp, so the upcall stub and the Java frames below it are not part of it. Each step goes from
 * a frame to its caller's saved fp; after level 1, that saved fp is {@code live_descend}'s, the
 * entry fp: the walk stops there without delivering the entry frame.
 * Helper calls made earlier ({@code caller_pc}) have returned and left no frame. So the walk
 * delivers exactly {@code depth + 1} frames: {@code live_bottom} as frame 0, then levels
 * {@code depth}, {@code depth - 1}, ..., 1 as frames 1 to {@code depth}; frame {@code i} is at
 * level {@code depth + 1 - i}.
 */
final class LiveWalkTest {
    /** Room for descents up to depth 1,000 (a few hundred bytes per level) and the JVM's own frames. */
    private static final long STACK = 16L << 20;
    /** Room for 100,000 levels: about 36 MB of native frames on x86_64 with GCC 12, with a wide margin. */
    private static final long DEEP_STACK = 256L << 20;

    private LiveStack live;
    private Unwind unwind;

    @BeforeEach
    void setUp() {
        live = LiveFixtures.liveStack();
        unwind = Unwinders.host();
    }

    /** What one walk at the bottom of a descent saw. */
    private static final class Seen {
        long innermostPc;
        long innermostFp;
        long entryFp;
        long memoryLow;
        long memoryHigh;
        int frames;
        long[] pcs;
        long[] fps;
        long entryReturnAddress;
        long lastSavedFp;
        LenientWalk<Void> lenient;
    }

    @ParameterizedTest(name = "depth {0}")
    @ValueSource(ints = {1, 10, 1_000})
    void walksExactlyTheLiveNativeFrames(int depth) throws Exception {
        check(depth, LiveFixtures.onThreadWithStack(STACK, () -> walk(depth)));
    }

    @Test
    void walksOneHundredThousandLiveNativeFramesOnALargeStack() throws Exception {
        int depth = 100_000;
        check(depth, LiveFixtures.onThreadWithStack(DEEP_STACK, () -> walk(depth)));
    }

    /** Descends, walks at the bottom recording every frame, and returns what the walk saw and what C counted. */
    private Seen walk(int depth) {
        Seen seen = new Seen();
        seen.pcs = new long[depth + 2];
        seen.fps = new long[depth + 2];
        long counted = live.descend(depth, (pc, fp, entryFp) -> {
            seen.innermostPc = pc;
            seen.innermostFp = fp;
            seen.entryFp = entryFp;
            StackMemory stack = LiveStack.stackBetween(unwind, fp, entryFp);
            seen.memoryLow = stack.baseAddress();
            seen.memoryHigh = stack.baseAddress() + stack.size();
            ControlFlow<Void> flow = StackWalk.visitFrames(unwind, stack, pc, fp, entryFp, frame -> {
                int i = seen.frames++;
                if (i < seen.pcs.length) {
                    seen.pcs[i] = frame.pc();
                    seen.fps[i] = frame.fp();
                }
                return ControlFlow.continueWalk();
            });
            assertEquals(ControlFlow.continueWalk(), flow);
            // The oldest delivered frame links to the entry frame: its saved fp is the entry fp, and
            // its return address goes back into live_descend.
            long last = seen.fps[Math.min(seen.frames, seen.fps.length) - 1];
            seen.lastSavedFp = stack.readLong(last, unwind.nextOlderFpFromFpOffset());
            seen.entryReturnAddress = unwind.decodeReturnAddress(stack.readLong(last, unwind.nextOlderPcFromFpOffset()));
            // Without the entry fp, a lenient walk stops where the declared memory ends: at the entry frame.
            seen.lenient = StackWalk.visitFramesLenient(unwind, stack, pc, fp,
                    frame -> ControlFlow.continueWalk());
        });
        assertEquals(depth + 1L, counted, "frames the C code counted below live_descend");
        return seen;
    }

    private void check(int depth, Seen seen) {
        assertEquals(depth + 1, seen.frames, "frames walked");
        assertEquals(seen.innermostPc, seen.pcs[0], "frame 0's pc");
        assertEquals(seen.innermostFp, seen.fps[0], "frame 0's fp");
        assertEquals(seen.entryFp, seen.lastSavedFp, "saved fp of the oldest frame");
        assertEquals(new LenientWalk<>(WalkEnd.OUTSIDE_MEMORY, depth + 1, seen.entryFp, ControlFlow.continueWalk()),
                seen.lenient);
        NativeFunction entry = live.functionAtLevel(0, depth);
        assertEquals("live_descend", entry.name());
        assertTrue(entry.contains(seen.entryReturnAddress - 1),
                () -> String.format("return address 0x%x into the entry is outside %s", seen.entryReturnAddress, entry));

        List<String> wrong = new ArrayList<>();
        long previousFp = 0;
        for (int i = 0; i <= depth; i++) {
            int level = depth + 1 - i;
            NativeFunction function = live.functionAtLevel(level, depth);
            long pc = seen.pcs[i];
            long fp = seen.fps[i];
            // Frame 0's pc is inside live_bottom; every other pc is a return address, just after a
            // call instruction and before the work that follows it, so pc - 1 and pc are both inside.
            boolean pcInside = function.contains(pc) && (i == 0 || function.contains(pc - 1));
            boolean fpInside = Long.compareUnsigned(fp, seen.memoryLow) >= 0
                    && Long.compareUnsigned(fp, seen.memoryHigh) < 0
                    && Long.compareUnsigned(fp, previousFp) > 0;
            if ((!pcInside || !fpInside) && wrong.size() < 10) {
                wrong.add(String.format("frame %d (level %d): pc 0x%x fp 0x%x, expected in %s, fp in [0x%x, 0x%x) above 0x%x",
                        i, level, pc, fp, function, seen.memoryLow, seen.memoryHigh, previousFp));
            }
            previousFp = fp;
        }
        assertEquals(List.of(), wrong, "frames outside the functions the C code says run their levels");
        if (depth >= 4) {
            // The rotation reaches every level function: the walk really crossed four distinct kinds of frame.
            assertEquals(List.of("live_bottom", "level_plain", "level_big_frame", "level_alloca", "level_stack_args"),
                    List.of(live.functionAtLevel(depth + 1, depth).name(), live.functionAtLevel(1, depth).name(),
                            live.functionAtLevel(2, depth).name(), live.functionAtLevel(3, depth).name(),
                            live.functionAtLevel(4, depth).name()));
        }
    }

    @Test
    void corruptOrOutOfRangeStartingFpsEndInUnwindExceptions() throws Exception {
        boolean[] called = {false};
        LiveFixtures.onThreadWithStack(STACK, () -> live.descend(10, (pc, fp, entryFp) -> {
            called[0] = true;
            StackMemory stack = LiveStack.stackBetween(unwind, fp, entryFp);
            String bounds = String.format("[0x%x, 0x%x)", stack.baseAddress(), stack.baseAddress() + stack.size());
            // The strict walk reads the saved fp first: when both link words are outside, its
            // address is the one reported.
            long fpOffset = unwind.nextOlderFpFromFpOffset();

            long misaligned = fp + unwind.fpAlignment() / 2;
            assertException(walkFrom(stack, pc, misaligned, entryFp), Reason.FP_MISALIGNED, 0, misaligned,
                    String.format("FP_MISALIGNED at frame 0, address 0x%x: fp 0x%x is not a multiple of %d",
                            misaligned, misaligned, unwind.fpAlignment()));
            // Aligned and below the entry fp, but below the declared memory: the first read is refused.
            long below = fp - 4096;
            assertException(walkFrom(stack, pc, below, entryFp), Reason.OUTSIDE_MEMORY, 0, below + fpOffset,
                    String.format("OUTSIDE_MEMORY at frame 0, address 0x%x: 8-byte read at 0x%x is outside"
                            + " the stack memory %s", below + fpOffset, below + fpOffset, bounds));
            long far = 0x1000;
            assertException(walkFrom(stack, pc, far, entryFp), Reason.OUTSIDE_MEMORY, 0, far + fpOffset,
                    String.format("OUTSIDE_MEMORY at frame 0, address 0x%x: 8-byte read at 0x%x is outside"
                            + " the stack memory %s", far + fpOffset, far + fpOffset, bounds));
            long aboveEntry = entryFp + 16;
            assertException(walkFrom(stack, pc, aboveEntry, entryFp), Reason.FP_NOT_BELOW_ENTRY_FP, 0, aboveEntry,
                    String.format("FP_NOT_BELOW_ENTRY_FP at frame 0, address 0x%x: fp 0x%x is not below the"
                            + " entry fp 0x%x", aboveEntry, aboveEntry, entryFp));
            long top = 0xffff_ffff_ffff_fff0L;
            assertException(walkFrom(stack, pc, top, entryFp), Reason.FP_NOT_BELOW_ENTRY_FP, 0, top,
                    String.format("FP_NOT_BELOW_ENTRY_FP at frame 0, address 0xfffffffffffffff0:"
                            + " fp 0xfffffffffffffff0 is not below the entry fp 0x%x", entryFp));
            assertException(walkFrom(stack, pc, 0, entryFp), Reason.ZERO_FP, 0, 0,
                    "ZERO_FP at frame 0, address 0x0: the initial fp is 0");
        }));
        assertTrue(called[0], "callback called");
    }

    /** A strict walk from a bad fp: it must throw before visiting any frame. */
    private UnwindException walkFrom(StackMemory stack, long pc, long fp, long entryFp) {
        return assertThrows(UnwindException.class, () -> StackWalk.visitFrames(unwind, stack, pc, fp, entryFp,
                frame -> fail("visited " + frame + " from the bad fp 0x" + Long.toHexString(fp))));
    }

    /** A frame as a walk delivered it. */
    private record WalkedFrame(long pc, long fp) {}

    @Test
    void aCopyOfTheLiveStackWalksAlikeAndACorruptedSavedFpEndsTheWalkAtItsFrame() throws Exception {
        boolean[] called = {false};
        LiveFixtures.onThreadWithStack(STACK, () -> live.descend(10, (pc, fp, entryFp) -> {
            called[0] = true;
            StackMemory stack = LiveStack.stackBetween(unwind, fp, entryFp);
            List<WalkedFrame> liveFrames = new ArrayList<>();
            StackWalk.visitFrames(unwind, stack, pc, fp, entryFp, collect(liveFrames));
            assertEquals(11, liveFrames.size());

            // The same bytes at the same addresses, copied off the live stack through the bounded memory.
            byte[] copy = new byte[Math.toIntExact(stack.size())];
            ByteBuffer words = ByteBuffer.wrap(copy).order(ByteOrder.nativeOrder());
            for (int offset = 0; offset + 8 <= copy.length; offset += 8) {
                words.putLong(offset, stack.readLong(stack.baseAddress() + offset));
            }
            StackMemory copied = StackMemory.ofBytes(copy, stack.baseAddress(), ByteOrder.nativeOrder());
            List<WalkedFrame> copiedFrames = new ArrayList<>();
            StackWalk.visitFrames(unwind, copied, pc, fp, entryFp, collect(copiedFrames));
            assertEquals(liveFrames, copiedFrames);

            // Frame 3's saved fp pointing back down the stack: frames 0 to 2 are delivered, then the walk stops.
            long fp3 = liveFrames.get(3).fp();
            int slot = Math.toIntExact(fp3 + unwind.nextOlderFpFromFpOffset() - stack.baseAddress());
            words.putLong(slot, fp3 - 16);
            List<WalkedFrame> delivered = new ArrayList<>();
            UnwindException descending = assertThrows(UnwindException.class,
                    () -> StackWalk.visitFrames(unwind, copied, pc, fp, entryFp, collect(delivered)));
            assertEquals(liveFrames.subList(0, 3), delivered);
            assertException(descending, Reason.FP_NOT_GROWING, 3, fp3 - 16, String.format(
                    "FP_NOT_GROWING at frame 3, address 0x%x: saved fp 0x%x is not above fp 0x%x",
                    fp3 - 16, fp3 - 16, fp3));

            // The same slot pointing past the entry frame: frames 0 to 3 are delivered, frame 4's fp is rejected.
            long pastEntry = entryFp + 32;
            words.putLong(slot, pastEntry);
            delivered.clear();
            UnwindException escaping = assertThrows(UnwindException.class,
                    () -> StackWalk.visitFrames(unwind, copied, pc, fp, entryFp, collect(delivered)));
            assertEquals(liveFrames.subList(0, 4), delivered);
            assertException(escaping, Reason.FP_NOT_BELOW_ENTRY_FP, 4, pastEntry, String.format(
                    "FP_NOT_BELOW_ENTRY_FP at frame 4, address 0x%x: fp 0x%x is not below the entry fp 0x%x",
                    pastEntry, pastEntry, entryFp));
        }));
        assertTrue(called[0], "callback called");
    }

    private static FrameVisitor<Void> collect(List<WalkedFrame> frames) {
        return frame -> {
            frames.add(new WalkedFrame(frame.pc(), frame.fp()));
            return ControlFlow.continueWalk();
        };
    }

    private static void assertException(UnwindException e, Reason reason, int frameIndex, long address, String message) {
        assertAll(
                () -> assertEquals(reason, e.reason(), "reason"),
                () -> assertEquals(frameIndex, e.frameIndex(), "frameIndex"),
                () -> assertEquals(address, e.address(), "address"),
                () -> assertEquals(message, e.getMessage(), "message"));
    }
}
