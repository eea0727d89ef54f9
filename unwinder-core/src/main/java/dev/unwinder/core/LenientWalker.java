package dev.unwinder.core;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.FrameVisitor;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;

/**
 * The lenient walk's state machine. Each {@link #advance()} judges the next frame by its own pc and
 * fp; a good frame is delivered, and its link gives the frame to judge after it. A frame that is
 * not good, or the frame limit, ends the walk, and {@code advance()} says why.
 *
 * <p>Its shape keeps the compiled loop's live values few, so that C2 keeps the chain of loads in
 * general registers (docs/performance-notes.md has the measurements):
 * <ul>
 *   <li>the layout's offsets are asked of the plugin in the loop, where C2 folds them into
 *       constants;
 *   <li>the link range is two plain fields computed by static methods, so nothing is allocated
 *       when a walk starts;
 *   <li>the state is the strict walker's: the frame at the cursor and the pc and fp to judge next,
 *       the first frame judged in the loop like the others, the reason returned rather than kept;
 *   <li>the cursor moves to the frame before its link is read, so no value of the previous frame
 *       is live across the reads;
 *   <li>the saved fp is read before the return address: it is the next link of the chain of
 *       loads, and read first its load issues first;
 *   <li>{@link #reject} runs on every frame, so it is inlined whole.
 * </ul>
 */
final class LenientWalker {
    private final Unwind unwind;
    private final StackMemory memory;
    private final boolean linkAny;
    private final long linkFirst;
    private final long linkSpan;
    private final long entryFp;
    private final int maxFrames;
    /** The frame last produced; its index is -1, and its fp 0, before the first. */
    final WalkFrame frame;

    /** The pc and fp of the frame to judge next: after the walk, the fp it could not go on to. */
    private long nextPc;
    private long nextFp;

    /** Walks as {@link StackWalk#visitFramesLenient} documents; the arguments have been checked. */
    static <B> LenientWalk<B> walk(
            Unwind unwind, StackMemory memory, long pc, long fp, long entryFp, int maxFrames, FrameVisitor<B> visitor) {
        LenientWalker walker = new LenientWalker(unwind, memory, pc, fp, entryFp, maxFrames);
        WalkFrame frame = walker.frame;
        WalkEnd end;
        while ((end = walker.advance()) == null) {
            ControlFlow<B> flow = visitor.visit(frame);
            if (flow.isBreak()) {
                return new LenientWalk<>(WalkEnd.VISITOR_BREAK, frame.index() + 1, frame.fp(), flow);
            }
        }
        return new LenientWalk<>(end, frame.index() + 1, walker.nextFp, ControlFlow.continueWalk());
    }

    private LenientWalker(Unwind unwind, StackMemory memory, long pc, long fp, long entryFp, int maxFrames) {
        this.unwind = unwind;
        this.memory = memory;
        this.entryFp = entryFp;
        this.maxFrames = maxFrames;
        long fpOffset = unwind.nextOlderFpFromFpOffset();
        long pcOffset = unwind.nextOlderPcFromFpOffset();
        long base = memory.baseAddress();
        long size = memory.size();
        long low = Math.min(fpOffset, pcOffset);
        long high = Math.max(fpOffset, pcOffset) + 8;
        this.linkAny = LinkRange.any(base, size, low, high);
        this.linkFirst = LinkRange.first(base, low);
        this.linkSpan = LinkRange.span(base, size, low, high);
        this.frame = new WalkFrame(memory);
        this.nextPc = pc;
        this.nextFp = fp;
    }

    /**
     * Judges the next frame and, if it is good and the limit allows, reads its link and moves
     * {@link #frame} to it; returns null then, or else why the walk ends there.
     */
    WalkEnd advance() {
        long pc = nextPc;
        long fp = nextFp;
        // Frame 0 is compared with the cursor's initial fp, 0, which only a zero fp fails, and
        // reject() has ruled that out before.
        WalkEnd rejected = reject(pc, fp, frame.fp());
        if (rejected != null) {
            return rejected;
        }
        int index = frame.index() + 1;
        if (index == maxFrames) {
            return WalkEnd.FRAME_LIMIT;
        }
        // The sp of frame 0 is unknown: WalkFrame ignores what is computed here from its initial fp.
        frame.set(index, pc, fp, frame.fp() + unwind.nextOlderSpFromFpOffset());
        // reject() has checked that both words of this link are inside the memory. The saved fp
        // first, as in StrictWalker: it is the next link of the chain of loads.
        nextFp = memory.readLong(fp, unwind.nextOlderFpFromFpOffset());
        nextPc = unwind.decodeReturnAddress(memory.readLong(fp, unwind.nextOlderPcFromFpOffset()));
        return null;
    }

    /** Returns why a frame with this pc and fp cannot be produced, in WalkEnd's order, or null if it can. */
    private WalkEnd reject(long pc, long fp, long youngerFp) {
        if (fp == 0) {
            return WalkEnd.ZERO_FP;
        }
        if (fp == entryFp) {
            return WalkEnd.ENTRY_FP_REACHED;
        }
        if (Long.compareUnsigned(fp, youngerFp) <= 0) {
            return WalkEnd.FP_NOT_GROWING;
        }
        if (pc == 0) {
            return WalkEnd.ZERO_PC;
        }
        if (!unwind.isFpAligned(fp)) {
            return WalkEnd.FP_MISALIGNED;
        }
        // Both link words inside the memory, without wrapping around 2^64: one compare per frame.
        if (!(linkAny && LinkRange.contains(linkFirst, linkSpan, fp))) {
            return WalkEnd.OUTSIDE_MEMORY;
        }
        return null;
    }
}
