package dev.unwinder.core;

import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;

/**
 * The lenient walk's state machine. A frame is produced when its own pc and fp are good; its link
 * to the caller decides whether another follows, and if not, {@link #end} says why.
 */
final class LenientWalker {
    private final Unwind unwind;
    private final StackMemory memory;
    private final LinkRange links;
    private final long entryFp;
    private final int maxFrames;
    private final long fpOffset;
    private final long pcOffset;
    private final long spOffset;
    final WalkFrame frame;

    /** How many frames were produced. */
    int count;
    /** Why the walk ended, or null while it goes on. */
    WalkEnd end;
    /** The fp the walk could not go on to. */
    long endFp;

    private long pc;
    private long fp;
    private long sp;

    LenientWalker(Unwind unwind, StackMemory memory, long pc, long fp, long entryFp, int maxFrames) {
        this.unwind = unwind;
        this.memory = memory;
        this.entryFp = entryFp;
        this.maxFrames = maxFrames;
        this.fpOffset = unwind.nextOlderFpFromFpOffset();
        this.pcOffset = unwind.nextOlderPcFromFpOffset();
        this.spOffset = unwind.nextOlderSpFromFpOffset();
        this.links = new LinkRange(memory.baseAddress(), memory.size(),
                Math.min(fpOffset, pcOffset), Math.max(fpOffset, pcOffset) + 8);
        this.frame = new WalkFrame(memory);
        this.pc = pc;
        this.fp = fp;
        this.end = reject(pc, fp, 0, true);
        this.endFp = fp;
    }

    /** Moves {@link #frame} to the next good frame, or sets {@link #end} and returns false. */
    boolean advance() {
        if (end != null) {
            return false;
        }
        if (count == maxFrames) {
            end = WalkEnd.FRAME_LIMIT;
            endFp = fp;
            return false;
        }
        long fp = this.fp;
        // reject() has checked that both words of this link are inside the memory.
        long nextPc = unwind.nextOlderPcFromFp(memory, fp);
        long nextFp = memory.readLong(fp, fpOffset);
        frame.set(count, pc, fp, sp);
        count++;
        WalkEnd rejected = reject(nextPc, nextFp, fp, false);
        if (rejected != null) {
            end = rejected;
            endFp = nextFp;
        } else {
            sp = fp + spOffset;
            pc = nextPc;
            this.fp = nextFp;
        }
        return true;
    }

    /** Returns why a frame with this pc and fp cannot be produced, in WalkEnd's order, or null if it can. */
    private WalkEnd reject(long pc, long fp, long youngerFp, boolean first) {
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
        if (!unwind.isFpAligned(fp)) {
            return WalkEnd.FP_MISALIGNED;
        }
        // Both link words inside the memory, without wrapping around 2^64: one compare per frame.
        if (!links.contains(fp)) {
            return WalkEnd.FP_OUTSIDE_MEMORY;
        }
        return null;
    }
}
