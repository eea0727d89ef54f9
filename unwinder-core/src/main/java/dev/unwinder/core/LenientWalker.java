package dev.unwinder.core;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.FrameVisitor;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;

/**
 * The lenient walk. A frame is delivered when its own pc and fp are good; its link to the caller
 * decides whether another follows, and if not, the {@link WalkEnd} says why.
 *
 * <p>The loop is written for C2. Its only state from one frame to the next is the cursor frame
 * (index, pc, fp, sp): the caller's pc and fp are read, checked and moved into the cursor within
 * one iteration. C2 replaces the cursor with its fields, and every field of a replaced object is a
 * value kept alive at every safepoint of the loop, so each extra one costs registers; with the
 * walker's state in an object of its own, C2 spilled the fp chain itself to the stack and the walk
 * ran up to 1.9 times the baseline's time per frame. For the same reason the layout's offsets are
 * asked of the plugin where they are used, where C2 folds them into constants, and a bad link
 * leaves the loop through a static method that sees only plain values.
 */
final class LenientWalker {

    private LenientWalker() {}

    /** Walks as {@link StackWalk#visitFramesLenient} documents; the arguments have been checked. */
    static <B> LenientWalk<B> walk(
            Unwind unwind, StackMemory memory, long pc, long fp, long entryFp, int maxFrames, FrameVisitor<B> visitor) {
        long fpOffset = unwind.nextOlderFpFromFpOffset();
        long pcOffset = unwind.nextOlderPcFromFpOffset();
        long base = memory.baseAddress();
        long size = memory.size();
        long low = Math.min(fpOffset, pcOffset);
        long high = Math.max(fpOffset, pcOffset) + 8;
        long linkFirst = LinkRange.first(base, low);
        long linkSpan = LinkRange.span(base, size, low, high);
        // Without any fp whose link fits, the first frame is rejected here and the loop never runs.
        boolean inMemory = LinkRange.any(base, size, low, high) && LinkRange.contains(linkFirst, linkSpan, fp);
        WalkEnd rejected = reject(pc, fp, 0, true, entryFp, unwind.isFpAligned(fp), inMemory);
        if (rejected != null) {
            return new LenientWalk<>(rejected, 0, fp, ControlFlow.continueWalk());
        }
        if (maxFrames == 0) {
            return new LenientWalk<>(WalkEnd.FRAME_LIMIT, 0, fp, ControlFlow.continueWalk());
        }
        long linkLast = linkFirst + linkSpan;
        // The sp of frame 0 is unknown: WalkFrame ignores the 0 given here.
        WalkFrame frame = new WalkFrame(memory);
        frame.set(0, pc, fp, 0);
        for (int count = 1; ; count++) {
            // The cursor's own pc and fp are good, and both words of its link are inside the memory.
            long frameFp = frame.fp();
            long callerPc = unwind.nextOlderPcFromFp(memory, frameFp);
            long callerFp = memory.readLong(frameFp, unwind.nextOlderFpFromFpOffset());
            ControlFlow<B> flow = visitor.visit(frame);
            if (flow.isBreak()) {
                return new LenientWalk<>(WalkEnd.VISITOR_BREAK, count, frameFp, flow);
            }
            // One unsigned compare for "above frameFp" and "link inside the memory": frameFp is in
            // [linkFirst, linkLast], so callerFp must be in (frameFp, linkLast]. A callerFp at or
            // below frameFp wraps to at least 2^64 - 1 - frameFp, which is not below linkLast - frameFp.
            if (Long.compareUnsigned(callerFp - frameFp - 1, linkLast - frameFp) >= 0 || callerFp == entryFp
                    || callerPc == 0 || !unwind.isFpAligned(callerFp)) {
                rejected = reject(callerPc, callerFp, frameFp, false, entryFp, unwind.isFpAligned(callerFp),
                        LinkRange.contains(linkFirst, linkSpan, callerFp));
                return new LenientWalk<>(rejected, count, callerFp, ControlFlow.continueWalk());
            }
            if (count == maxFrames) {
                return new LenientWalk<>(WalkEnd.FRAME_LIMIT, count, callerFp, ControlFlow.continueWalk());
            }
            frame.set(count, callerPc, callerFp, frameFp + unwind.nextOlderSpFromFpOffset());
        }
    }

    /**
     * Returns why a frame with this pc and fp cannot be delivered, in WalkEnd's order, or null if
     * it can; {@code aligned} and {@code inMemory} are the layout's alignment check and the link
     * range check of {@code fp}.
     */
    private static WalkEnd reject(
            long pc, long fp, long youngerFp, boolean first, long entryFp, boolean aligned, boolean inMemory) {
        if (fp == 0) {
            return WalkEnd.ZERO_FP;
        }
        if (fp == entryFp) {
            return WalkEnd.ENTRY_FP_REACHED;
        }
        if (!first && Long.compareUnsigned(fp, youngerFp) <= 0) {
            return WalkEnd.FP_NOT_GROWING;
        }
        if (pc == 0) {
            return WalkEnd.ZERO_PC;
        }
        if (!aligned) {
            return WalkEnd.FP_MISALIGNED;
        }
        // Both link words inside the memory, without wrapping around 2^64.
        if (!inMemory) {
            return WalkEnd.FP_OUTSIDE_MEMORY;
        }
        return null;
    }
}
