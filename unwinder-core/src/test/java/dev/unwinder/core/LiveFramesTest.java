package dev.unwinder.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.UnwindException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link StackMemory#ofLiveFrames} and {@link StackMemory#ofNative} under the walks: three frames
 * drawn in native memory at their own addresses, in an upward layout (links at fp+0 and fp+8, as
 * x86_64) and a downward one (links at fp-16 and fp-8, as riscv64), walked through the window the
 * helper cuts out of a segment over the whole allocation.
 */
final class LiveFramesTest {
    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG_UNALIGNED;

    /** Draws frames at offsets 0x100, 0x140 and 0x180 of a 0x400-byte segment, below an entry frame at 0x200. */
    private static long[] draw(TestLayout layout, MemorySegment segment) {
        long base = segment.address();
        long[] fps = {base + 0x100, base + 0x140, base + 0x180, base + 0x200};
        for (int i = 0; i < 3; i++) {
            segment.set(WORD, fps[i] + layout.nextOlderFpFromFpOffset() - base, fps[i + 1]);
            segment.set(WORD, fps[i] + layout.nextOlderPcFromFpOffset() - base, 0xa1 + i);
        }
        // Junk in the entry frame's own link words: a walk to the entry fp never reads them.
        segment.set(WORD, fps[3] + layout.nextOlderFpFromFpOffset() - base, 1);
        segment.set(WORD, fps[3] + layout.nextOlderPcFromFpOffset() - base, 0);
        return fps;
    }

    @Test
    void theWindowRunsFromTheInnermostLinksToTheEntryFramesShiftedByTheLowestNegativeOffset() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(0x400, 16);
            long base = segment.address();
            StackMemory upward = StackMemory.ofLiveFrames(TestLayout.UPWARD, segment, base + 0x100, base + 0x200);
            assertEquals(base + 0x100, upward.baseAddress());
            assertEquals(0x100, upward.size());
            StackMemory downward = StackMemory.ofLiveFrames(TestLayout.DOWNWARD, segment, base + 0x100, base + 0x200);
            assertEquals(base + 0xf0, downward.baseAddress());
            assertEquals(0x100, downward.size());
            StackMemory big = StackMemory.ofLiveFrames(TestLayout.BIG, segment, base + 0x100, base + 0x200);
            assertEquals(base + 0x100, big.baseAddress());
        }
    }

    @Test
    void aStrictWalkThroughTheWindowReachesTheEntryFpInEitherLayout() {
        for (TestLayout layout : List.of(TestLayout.UPWARD, TestLayout.DOWNWARD)) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment segment = arena.allocate(0x400, 16);
                long[] fps = draw(layout, segment);
                StackMemory window = StackMemory.ofLiveFrames(layout, segment, fps[0], fps[3]);
                Recorder recorder = new Recorder();
                assertEquals(ControlFlow.continueWalk(),
                        StackWalk.visitFrames(layout, window, 0xa0, fps[0], fps[3], recorder), layout.name());
                assertEquals(List.of(0xa0L, 0xa1L, 0xa2L), recorder.pcs(), layout.name());
                assertEquals(List.of(fps[0], fps[1], fps[2]), recorder.fps(), layout.name());
                // Without the entry fp the lenient walk stops where the window ends, at the entry frame.
                LenientWalk<String> lenient = StackWalk.visitFramesLenient(layout, window, 0xa0, fps[0], new Recorder());
                assertEquals(new LenientWalk<>(WalkEnd.OUTSIDE_MEMORY, 3, fps[3], ControlFlow.continueWalk()), lenient,
                        layout.name());
            }
        }
    }

    @Test
    void windowsThatTheSegmentDoesNotHoldOrThatAreBackwardsAreRejected() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(0x400, 16);
            long base = segment.address();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> StackMemory.ofLiveFrames(TestLayout.DOWNWARD, segment, base + 8, base + 0x200));
            assertEquals(String.format("stack: [0x%x, 0x%x) (expected: to hold the frames' window [0x%x, 0x%x))", base,
                    base + 0x400, base - 8, base + 0x1f0), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> StackMemory.ofLiveFrames(TestLayout.UPWARD, segment, base + 0x100, base + 0x500));
            assertEquals(String.format("stack: [0x%x, 0x%x) (expected: to hold the frames' window [0x%x, 0x%x))", base,
                    base + 0x400, base + 0x100, base + 0x500), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> StackMemory.ofLiveFrames(TestLayout.UPWARD, segment, base + 0x200, base + 0x100));
            assertEquals(String.format("innermostFp: 0x%x (expected: below entryFp 0x%x)", base + 0x200, base + 0x100),
                    e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> StackMemory.ofLiveFrames(TestLayout.UPWARD, segment, 0, base + 0x100));
            assertEquals("innermostFp: 0x0 (expected: not 0)", e.getMessage());
            // A window that would start below address 0 wraps; it is refused, not read.
            e = assertThrows(IllegalArgumentException.class,
                    () -> StackMemory.ofLiveFrames(TestLayout.DOWNWARD, segment, 8, base + 0x100));
            assertEquals(String.format("stack: [0x%x, 0x%x) (expected: to hold the frames' window [0x%x, 0x%x))", base,
                    base + 0x400, -8L, base + 0xf0), e.getMessage());
        }
    }

    @Test
    void aWalkOverMemoryWhoseArenaIsClosedFailsCleanlyInBothModes() {
        Arena arena = Arena.ofShared();
        MemorySegment segment = arena.allocate(0x400, 16);
        long[] fps = draw(TestLayout.UPWARD, segment);
        StackMemory window = StackMemory.ofLiveFrames(TestLayout.UPWARD, segment, fps[0], fps[3]);
        arena.close();
        assertThrows(IllegalStateException.class,
                () -> StackWalk.visitFrames(TestLayout.UPWARD, window, 0xa0, fps[0], fps[3], new Recorder()));
        assertThrows(IllegalStateException.class,
                () -> StackWalk.visitFramesLenient(TestLayout.UPWARD, window, 0xa0, fps[0], new Recorder()));
        // Bad stack contents are still reported as such: the bounds check comes before the read.
        UnwindException e = assertThrows(UnwindException.class,
                () -> StackWalk.visitFrames(TestLayout.UPWARD, window, 0xa0, fps[0] - 0x40, fps[3], new Recorder()));
        assertEquals(UnwindException.Reason.OUTSIDE_MEMORY, e.reason());
    }
}
