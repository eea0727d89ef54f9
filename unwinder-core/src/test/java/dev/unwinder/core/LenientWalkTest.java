package dev.unwinder.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.StackMemory;
import java.util.List;
import org.junit.jupiter.api.Test;

final class LenientWalkTest {
    private static final TestLayout X = TestLayout.UPWARD;

    /**
     * Frames at 0x1040, 0x1080, 0x10c0 and 0x1100 (pcs 0xa0 to 0xa3); the last one's link is
     * {@code lastSavedFp, lastReturnAddress}. The memory is [0x1000, 0x1200).
     */
    private static StackMemory chainEndingWith(long lastSavedFp, long lastReturnAddress) {
        return X.draw(0x1000, 0x200)
                .link(0x1040, 0x1080, 0xa1)
                .link(0x1080, 0x10c0, 0xa2)
                .link(0x10c0, 0x1100, 0xa3)
                .link(0x1100, lastSavedFp, lastReturnAddress)
                .memory();
    }

    private static LenientWalk<String> walk(StackMemory memory, long pc, long fp, long entryFp, int maxFrames,
            Recorder recorder) {
        return StackWalk.visitFramesLenient(X, memory, pc, fp, entryFp, maxFrames, recorder);
    }

    private static void assertEnd(WalkEnd end, int frames, long endFp, LenientWalk<String> walk) {
        assertEquals(end, walk.end());
        assertEquals(frames, walk.frameCount());
        assertEquals(endFp, walk.endFp(), "endFp");
    }

    @Test
    void aZeroSavedFpEndsTheChainAfterDeliveringItsFrame() {
        Recorder recorder = new Recorder();
        LenientWalk<String> walk = walk(chainEndingWith(0, 0), 0xa0, 0x1040, 0, 100, recorder);
        assertEnd(WalkEnd.ZERO_FP, 4, 0, walk);
        assertEquals(List.of(0xa0L, 0xa1L, 0xa2L, 0xa3L), recorder.pcs());
        assertEquals(List.of(0x1040L, 0x1080L, 0x10c0L, 0x1100L), recorder.fps());
        assertEquals(ControlFlow.continueWalk(), walk.flow());
    }

    @Test
    void theEntryFpEndsTheWalkWithoutDeliveringItsFrame() {
        Recorder recorder = new Recorder();
        assertEnd(WalkEnd.ENTRY_FP_REACHED, 2, 0x10c0, walk(chainEndingWith(0, 0), 0xa0, 0x1040, 0x10c0, 100, recorder));
        assertEquals(List.of(0x1040L, 0x1080L), recorder.fps());
    }

    @Test
    void aSavedFpThatDoesNotGrowEndsTheWalk() {
        Recorder recorder = new Recorder();
        // Like x86_64's main: the saved rbp is junk below the stack.
        assertEnd(WalkEnd.FP_NOT_GROWING, 4, 0x8f0, walk(chainEndingWith(0x8f0, 0xa4), 0xa0, 0x1040, 0, 100, recorder));
        assertEnd(WalkEnd.FP_NOT_GROWING, 4, 0x1040, walk(chainEndingWith(0x1040, 0xa4), 0xa0, 0x1040, 0, 100, recorder));
    }

    @Test
    void aZeroReturnAddressEndsTheWalk() {
        assertEnd(WalkEnd.ZERO_PC, 4, 0x1140, walk(chainEndingWith(0x1140, 0), 0xa0, 0x1040, 0, 100, new Recorder()));
    }

    @Test
    void aMisalignedSavedFpEndsTheWalk() {
        assertEnd(WalkEnd.FP_MISALIGNED, 4, 0x1148, walk(chainEndingWith(0x1148, 0xa4), 0xa0, 0x1040, 0, 100, new Recorder()));
    }

    @Test
    void aSavedFpWhoseLinkLeavesTheMemoryEndsTheWalk() {
        // 0x11f0's link words are 0x11f0 and 0x11f8: inside. 0x1200's are not.
        Recorder recorder = new Recorder();
        assertEnd(WalkEnd.OUTSIDE_MEMORY, 4, 0x1200, walk(chainEndingWith(0x1200, 0xa4), 0xa0, 0x1040, 0, 100, recorder));
        assertEquals(4, recorder.frames.size());
        assertEnd(WalkEnd.OUTSIDE_MEMORY, 4, 0xffff_0000_0000_0000L,
                walk(chainEndingWith(0xffff_0000_0000_0000L, 0xa4), 0xa0, 0x1040, 0, 100, new Recorder()));
    }

    @Test
    void theFrameLimitEndsAWalkWhoseNextLinkIsGood() {
        Recorder recorder = new Recorder();
        assertEnd(WalkEnd.FRAME_LIMIT, 2, 0x10c0, walk(chainEndingWith(0, 0), 0xa0, 0x1040, 0, 2, recorder));
        assertEquals(List.of(0x1040L, 0x1080L), recorder.fps());
        assertEnd(WalkEnd.FRAME_LIMIT, 0, 0x1040, walk(chainEndingWith(0, 0), 0xa0, 0x1040, 0, 0, new Recorder()));
        // With the limit at the chain's length, the bad last link is the better answer.
        assertEnd(WalkEnd.ZERO_FP, 4, 0, walk(chainEndingWith(0, 0), 0xa0, 0x1040, 0, 4, new Recorder()));
    }

    @Test
    void theVisitorCanStopTheWalk() {
        Recorder recorder = new Recorder(1);
        LenientWalk<String> walk = walk(chainEndingWith(0, 0), 0xa0, 0x1040, 0, 100, recorder);
        assertEnd(WalkEnd.VISITOR_BREAK, 2, 0x1080, walk);
        assertEquals(ControlFlow.breakWith("stopped at 0xa1"), walk.flow());
    }

    @Test
    void badStartingValuesEndTheWalkBeforeAnyFrame() {
        StackMemory memory = chainEndingWith(0, 0);
        assertEnd(WalkEnd.ZERO_PC, 0, 0x1040, walk(memory, 0, 0x1040, 0, 100, new Recorder()));
        assertEnd(WalkEnd.ZERO_FP, 0, 0, walk(memory, 0, 0, 0, 100, new Recorder()));
        assertEnd(WalkEnd.ENTRY_FP_REACHED, 0, 0x1040, walk(memory, 0xa0, 0x1040, 0x1040, 100, new Recorder()));
        assertEnd(WalkEnd.FP_MISALIGNED, 0, 0x1044, walk(memory, 0xa0, 0x1044, 0, 100, new Recorder()));
        assertEnd(WalkEnd.OUTSIDE_MEMORY, 0, 0x0ff0, walk(memory, 0xa0, 0x0ff0, 0, 100, new Recorder()));
    }

    @Test
    void framesCarryTheirSp() {
        Recorder recorder = new Recorder();
        walk(chainEndingWith(0, 0), 0xa0, 0x1040, 0, 100, recorder);
        assertEquals(List.of(0x1050L, 0x1090L, 0x10d0L),
                recorder.frames.subList(1, 4).stream().map(f -> f.sp()).toList());
    }

    @Test
    void linksNearTheTopOfTheAddressSpaceDoNotWrap() {
        // Link words 16 and 24 bytes above fp: from fp 0xfffffffffffffff0 they would wrap to 0x0 and 0x8,
        // which this memory holds. They are outside the address space, not inside the memory.
        TestLayout above = new TestLayout("above", TestLayout.UPWARD.byteOrder(), 16, 24, 32, 16);
        StackMemory low = above.draw(0, 0x40).word(0, 0x20).word(8, 0xa1).memory();
        LenientWalk<String> walk = StackWalk.visitFramesLenient(above, low, 0xa0, -16L, 0, 10, new Recorder());
        assertEnd(WalkEnd.OUTSIDE_MEMORY, 0, -16L, walk);
    }

    @Test
    void theResultChecksItsOwnConsistency() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new LenientWalk<>(WalkEnd.ZERO_FP, 1, 0, ControlFlow.breakWith("x")));
        assertEquals("flow: Break[value=x] (expected: a Break exactly when end is VISITOR_BREAK)", e.getMessage());
        assertEquals("LenientWalk[end=ZERO_FP, frameCount=1, endFp=0x0, flow=Continue]",
                new LenientWalk<>(WalkEnd.ZERO_FP, 1, 0, ControlFlow.continueWalk()).toString());
    }
}
