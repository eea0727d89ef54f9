package dev.unwinder.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.testing.NullPointerTester;
import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.Frame;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.api.UnwindException;
import dev.unwinder.api.UnwindException.Reason;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Test;

final class StrictWalkTest {
    private static final TestLayout X = TestLayout.UPWARD;
    private static final long SENTINEL = 0x1100;

    /** Three frames at 0x1040, 0x1080 and 0x10c0 below an entry fp at 0x1100; pcs 0xa0 to 0xa2. */
    private static TestLayout.Drawing threeFrames() {
        return X.draw(0x1000, 0x200)
                .link(0x1040, 0x1080, 0xa1)
                .link(0x1080, 0x10c0, 0xa2)
                .link(0x10c0, SENTINEL, 0xa3);
    }

    private static UnwindException walkExpectingFailure(Unwind unwind, StackMemory memory, long pc, long fp,
            long entryFp, Recorder recorder) {
        return assertThrows(UnwindException.class,
                () -> StackWalk.visitFrames(unwind, memory, pc, fp, entryFp, recorder));
    }

    @Test
    void visitsEveryFrameUpToTheSentinel() {
        Recorder recorder = new Recorder();
        ControlFlow<String> flow = StackWalk.visitFrames(X, threeFrames().memory(), 0xa0, 0x1040, SENTINEL, recorder);
        assertSame(ControlFlow.continueWalk(), flow);
        assertEquals(List.of(0xa0L, 0xa1L, 0xa2L), recorder.pcs());
        assertEquals(List.of(0x1040L, 0x1080L, 0x10c0L), recorder.fps());
        assertEquals(List.of(0, 1, 2), recorder.frames.stream().map(Frame::index).toList());
    }

    @Test
    void spIsKnownFromTheYoungerFrameOnly() {
        Recorder recorder = new Recorder();
        StackWalk.visitFrames(X, threeFrames().memory(), 0xa0, 0x1040, SENTINEL, recorder);
        Frame first = recorder.frames.get(0);
        assertFalse(first.hasSp());
        IllegalStateException e = assertThrows(IllegalStateException.class, first::sp);
        assertEquals("sp of frame 0 is unknown: a walk learns a frame's sp from the younger frame", e.getMessage());
        assertTrue(recorder.frames.get(1).hasSp());
        assertEquals(0x1050, recorder.frames.get(1).sp());
        assertEquals(0x1090, recorder.frames.get(2).sp());
    }

    @Test
    void stopsEarlyWithTheVisitorsValue() {
        Recorder recorder = new Recorder(1);
        ControlFlow<String> flow = StackWalk.visitFrames(X, threeFrames().memory(), 0xa0, 0x1040, SENTINEL, recorder);
        assertEquals(ControlFlow.breakWith("stopped at 0xa1"), flow);
        assertEquals(List.of(0xa0L, 0xa1L), recorder.pcs());
    }

    @Test
    void visitsNothingWhenFpIsTheSentinel() {
        Recorder recorder = new Recorder();
        StackMemory nothing = StackMemory.ofBytes(new byte[0], 0x1000, ByteOrder.LITTLE_ENDIAN);
        assertSame(ControlFlow.continueWalk(), StackWalk.visitFrames(X, nothing, 0xa0, 0x1040, 0x1040, recorder));
        assertEquals(List.of(), recorder.frames);
        assertFalse(StackWalk.frameIterator(X, nothing, 0xa0, 0x1040, 0x1040).hasNext());
    }

    @Test
    void zeroPcFpOrSentinelIsRejectedBeforeAnythingElse() {
        StackMemory nothing = StackMemory.ofBytes(new byte[0], 0x1000, ByteOrder.LITTLE_ENDIAN);
        // The other values are bad too (misaligned, outside the memory, fp equal to the entry fp): zero wins.
        UnwindException e = walkExpectingFailure(X, nothing, 0, 0x1041, 0x1041, new Recorder());
        assertEquals(Reason.ZERO_PC, e.reason());
        assertEquals("ZERO_PC at frame 0, address 0x0: the initial pc is 0", e.getMessage());
        e = walkExpectingFailure(X, nothing, 0xa0, 0, 0x1041, new Recorder());
        assertEquals("ZERO_FP at frame 0, address 0x0: the initial fp is 0", e.getMessage());
        e = walkExpectingFailure(X, nothing, 0xa0, 0x1041, 0, new Recorder());
        assertEquals("ZERO_ENTRY_FP at frame 0, address 0x0: the entry fp is 0", e.getMessage());
        e = assertThrows(UnwindException.class, () -> StackWalk.frameIterator(X, nothing, 0, 0x1040, 0x1080));
        assertEquals(Reason.ZERO_PC, e.reason());
    }

    @Test
    void anFpAboveTheSentinelEndsTheWalk() {
        Recorder recorder = new Recorder();
        StackMemory memory = threeFrames().link(0x1080, 0x1140, 0xa2).memory();
        UnwindException e = walkExpectingFailure(X, memory, 0xa0, 0x1040, SENTINEL, recorder);
        assertEquals("FP_NOT_BELOW_ENTRY_FP at frame 2, address 0x1140: fp 0x1140 is not below the entry fp 0x1100",
                e.getMessage());
        assertEquals(2, e.frameIndex());
        assertEquals(0x1140, e.address());
        assertEquals(List.of(0x1040L, 0x1080L), recorder.fps());

        e = walkExpectingFailure(X, memory, 0xa0, 0x1200, SENTINEL, new Recorder());
        assertEquals(Reason.FP_NOT_BELOW_ENTRY_FP, e.reason());
        assertEquals(0, e.frameIndex());
    }

    @Test
    void aMisalignedFpEndsTheWalk() {
        Recorder recorder = new Recorder();
        StackMemory memory = threeFrames().link(0x1040, 0x1088, 0xa1).memory();
        UnwindException e = walkExpectingFailure(X, memory, 0xa0, 0x1040, SENTINEL, recorder);
        assertEquals("FP_MISALIGNED at frame 1, address 0x1088: fp 0x1088 is not a multiple of 16", e.getMessage());
        assertEquals(List.of(0x1040L), recorder.fps());
    }

    @Test
    void aLinkThatDoesNotGrowEndsTheWalkBeforeItsFrameIsDelivered() {
        Recorder recorder = new Recorder();
        StackMemory cycle = threeFrames().link(0x1080, 0x1040, 0xa2).memory();
        UnwindException e = walkExpectingFailure(X, cycle, 0xa0, 0x1040, SENTINEL, recorder);
        assertEquals("FP_NOT_GROWING at frame 1, address 0x1040: saved fp 0x1040 is not above fp 0x1080",
                e.getMessage());
        assertEquals(List.of(0x1040L), recorder.fps(), "frame 1's link is bad, so frame 1 is not delivered");

        StackMemory selfLoop = threeFrames().link(0x1040, 0x1040, 0xa1).memory();
        e = walkExpectingFailure(X, selfLoop, 0xa0, 0x1040, SENTINEL, new Recorder());
        assertEquals(Reason.FP_NOT_GROWING, e.reason());
        assertEquals(0, e.frameIndex());
    }

    @Test
    void aReadOutsideTheMemoryEndsTheWalk() {
        // The memory ends at 0x10c8: frame 2's return address at 0x10c8 is outside it.
        StackMemory full = threeFrames().memory();
        byte[] truncated = new byte[0xc8];
        for (long a = 0x1000; a < 0x10c8; a += 8) {
            long word = full.readLong(a);
            ByteBuffer.wrap(truncated).order(ByteOrder.LITTLE_ENDIAN).putLong((int) (a - 0x1000), word);
        }
        StackMemory memory = StackMemory.ofBytes(truncated, 0x1000, ByteOrder.LITTLE_ENDIAN);
        Recorder recorder = new Recorder();
        UnwindException e = walkExpectingFailure(X, memory, 0xa0, 0x1040, SENTINEL, recorder);
        assertEquals("OUTSIDE_MEMORY at frame 2, address 0x10c8: 8-byte read at 0x10c8 is outside the stack memory"
                + " [0x1000, 0x10c8)", e.getMessage());
        assertEquals(List.of(0x1040L, 0x1080L), recorder.fps());
    }

    @Test
    void theSentinelNeedNotLieInsideTheMemory() {
        StackMemory memory = X.draw(0x1000, 0x40).link(0x1000, 0x1020, 0xb1).link(0x1020, 0x9_0000, 0xb2).memory();
        Recorder recorder = new Recorder();
        StackWalk.visitFrames(X, memory, 0xb0, 0x1000, 0x9_0000, recorder);
        assertEquals(List.of(0xb0L, 0xb1L), recorder.pcs());
    }

    @Test
    void walksLayoutsWithNegativeOffsetsAndBigEndianWords() {
        StackMemory downward = TestLayout.DOWNWARD.draw(0x2000, 0x100)
                .link(0x2040, 0x2080, 0xc1).link(0x2080, 0x20c0, 0xc2).memory();
        Recorder recorder = new Recorder();
        StackWalk.visitFrames(TestLayout.DOWNWARD, downward, 0xc0, 0x2040, 0x20c0, recorder);
        assertEquals(List.of(0xc0L, 0xc1L), recorder.pcs());
        assertEquals(0x2040, recorder.frames.get(1).sp(), "the caller's sp is fp + 0 in this layout");

        StackMemory big = TestLayout.BIG.draw(0x3000, 0x300)
                .link(0x3000, 0x30a0, 0xd1).link(0x30a0, 0x3140, 0xd2).memory();
        recorder = new Recorder();
        StackWalk.visitFrames(TestLayout.BIG, big, 0xd0, 0x3000, 0x3140, recorder);
        assertEquals(List.of(0xd0L, 0xd1L), recorder.pcs());
        assertEquals(List.of(0x3000L, 0x30a0L), recorder.fps());
    }

    @Test
    void addressesAreUnsignedAcrossTwoToThe63() {
        long base = 0x7fff_ffff_ffff_ff00L;
        long[] fps = {base + 0x80, base + 0xc0, base + 0x100, base + 0x140}; // the third is 2^63
        TestLayout.Drawing drawing = X.draw(base, 0x200);
        for (int i = 0; i < fps.length - 1; i++) {
            drawing.link(fps[i], fps[i + 1], 0xe1 + i);
        }
        Recorder recorder = new Recorder();
        StackWalk.visitFrames(X, drawing.memory(), 0xe0, fps[0], fps[3], recorder);
        assertEquals(List.of(fps[0], fps[1], fps[2]), recorder.fps());
        assertEquals(List.of(0xe0L, 0xe1L, 0xe2L), recorder.pcs());
    }

    @Test
    void framesReadSlotsRelativeToTheirFp() {
        List<Long> slots = new ArrayList<>();
        StackWalk.visitFrames(X, threeFrames().memory(), 0xa0, 0x1040, SENTINEL, frame -> {
            slots.add(frame.readSlotFromFp(8));
            return ControlFlow.continueWalk();
        });
        assertEquals(List.of(0xa1L, 0xa2L, 0xa3L), slots);

        UnwindException e = assertThrows(UnwindException.class, () -> StackWalk.visitFrames(
                X, threeFrames().memory(), 0xa0, 0x1040, SENTINEL, frame -> {
                    frame.readSlotFromFp(frame.index() == 1 ? -0x100 : 0);
                    return ControlFlow.continueWalk();
                }));
        assertEquals("OUTSIDE_MEMORY at frame 1, address 0xf80: 8-byte read at 0xf80 is outside the stack memory"
                + " [0x1000, 0x1200)", e.getMessage());
    }

    @Test
    void theIteratorDeliversSnapshotsLazily() {
        Iterator<Frame> frames = StackWalk.frameIterator(X, threeFrames().memory(), 0xa0, 0x1040, SENTINEL);
        List<Frame> seen = new ArrayList<>();
        while (frames.hasNext()) {
            assertTrue(frames.hasNext(), "hasNext is idempotent");
            seen.add(frames.next());
        }
        assertEquals(List.of(0x1040L, 0x1080L, 0x10c0L), seen.stream().map(Frame::fp).toList());
        assertEquals(List.of(0xa0L, 0xa1L, 0xa2L), seen.stream().map(Frame::pc).toList());
        assertSame(seen.get(1), seen.get(1).snapshot());
        assertEquals("Frame[#1 pc=0xa1 fp=0x1080 sp=0x1050]", seen.get(1).toString());
        NoSuchElementException end = assertThrows(NoSuchElementException.class, frames::next);
        assertEquals("the walk reached its entry fp", end.getMessage());
    }

    @Test
    void theIteratorFailsWhereTheVisitorFailsAndKeepsFailing() {
        StackMemory cycle = threeFrames().link(0x1080, 0x1040, 0xa2).memory();
        Iterator<Frame> frames = StackWalk.frameIterator(X, cycle, 0xa0, 0x1040, SENTINEL);
        assertEquals(0x1040, frames.next().fp());
        UnwindException first = assertThrows(UnwindException.class, frames::hasNext);
        assertEquals(Reason.FP_NOT_GROWING, first.reason());
        assertSame(first, assertThrows(UnwindException.class, frames::hasNext));
        assertSame(first, assertThrows(UnwindException.class, frames::next));
    }

    @Test
    void argumentsThatDoNotFitTheLayoutAreRejected() {
        StackMemory bigEndian = StackMemory.ofBytes(new byte[64], 0x1000, ByteOrder.BIG_ENDIAN);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StackWalk.visitFrames(X, bigEndian, 0xa0, 0x1000, 0x1040, new Recorder()));
        assertEquals("memory.byteOrder(): BIG_ENDIAN (expected: LITTLE_ENDIAN, the byte order of upward)", e.getMessage());
        TestLayout oddAlignment = new TestLayout("odd", ByteOrder.LITTLE_ENDIAN, 0, 8, 16, 12);
        e = assertThrows(IllegalArgumentException.class,
                () -> StackWalk.frameIterator(oddAlignment, threeFrames().memory(), 0xa0, 0x1040, SENTINEL));
        assertEquals("unwind.fpAlignment(): 12 for odd (expected: a power of two)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> StackWalk.visitFramesLenient(
                X, threeFrames().memory(), 0xa0, 0x1040, 0, -1, new Recorder()));
        assertEquals("maxFrames: -1 (expected: >= 0)", e.getMessage());
    }

    @Test
    void aVisitorThatAnswersNullIsAnError() {
        assertThrows(NullPointerException.class,
                () -> StackWalk.visitFrames(X, threeFrames().memory(), 0xa0, 0x1040, SENTINEL, frame -> null));
    }

    @Test
    void nullArgumentsAreRejected() {
        new NullPointerTester()
                .setDefault(Unwind.class, X)
                .setDefault(StackMemory.class, threeFrames().memory())
                .testAllPublicStaticMethods(StackWalk.class);
    }
}
