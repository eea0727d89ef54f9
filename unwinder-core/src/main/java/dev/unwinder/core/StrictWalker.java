package dev.unwinder.core;

import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.api.UnwindException;
import dev.unwinder.api.UnwindException.Reason;

/**
 * The strict walk's state machine, shared by the visitor and the iterator. Each
 * {@link #advance()} checks the next frame's fp, reads and checks its link to the caller, and only
 * then exposes the frame: the frames produced before an exception are exactly those whose links
 * were good.
 *
 * <p>The state is the frame at the cursor and the pc and fp of the frame to check next, and the
 * layout's offsets are asked of the plugin where they are used, where C2 folds them into
 * constants: fewer live values keep the chain of loads in general registers.
 * docs/performance-notes.md has the measurements behind this shape.
 */
final class StrictWalker {
    private final Unwind unwind;
    private final StackMemory memory;
    private final long entryFp;
    /** The frame last produced; its index is -1 before the first. */
    final WalkFrame frame;

    private long nextPc;
    private long nextFp;

    StrictWalker(Unwind unwind, StackMemory memory, long pc, long fp, long entryFp) {
        if (pc == 0) {
            throw new UnwindException(Reason.ZERO_PC, 0, 0, "the initial pc is 0");
        }
        if (fp == 0) {
            throw new UnwindException(Reason.ZERO_FP, 0, 0, "the initial fp is 0");
        }
        if (entryFp == 0) {
            throw new UnwindException(Reason.ZERO_ENTRY_FP, 0, 0, "the entry fp is 0");
        }
        this.unwind = unwind;
        this.memory = memory;
        this.entryFp = entryFp;
        this.frame = new WalkFrame(memory);
        this.nextPc = pc;
        this.nextFp = fp;
    }

    /** Moves {@link #frame} to the next frame, or returns false at the entry fp. */
    boolean advance() {
        long fp = nextFp;
        if (fp == entryFp) {
            return false;
        }
        int index = frame.index() + 1;
        if (Long.compareUnsigned(fp, entryFp) > 0) {
            throw notBelowSentinel(index, fp, entryFp);
        }
        if (!unwind.isFpAligned(fp)) {
            throw misaligned(index, fp, unwind.fpAlignment());
        }
        long callerPc;
        long callerFp;
        try {
            // The saved fp first: it is the next link of the chain of loads, and read first its
            // load issues first. StackWalk documents the order, which decides the reported address.
            callerFp = memory.readLong(fp, unwind.nextOlderFpFromFpOffset());
            callerPc = unwind.decodeReturnAddress(memory.readLong(fp, unwind.nextOlderPcFromFpOffset()));
        } catch (UnwindException e) {
            throw e.atFrame(index);
        }
        if (Long.compareUnsigned(callerFp, fp) <= 0) {
            throw notGrowing(index, callerFp, fp);
        }
        // The sp of frame 0 is unknown: WalkFrame ignores what is computed here from its initial fp.
        frame.set(index, nextPc, fp, frame.fp() + unwind.nextOlderSpFromFpOffset());
        nextPc = callerPc;
        nextFp = callerFp;
        return true;
    }

    // The failures are built out of line: advance() stays small enough in bytecode and in compiled
    // code for C2 to inline it into the visiting loop, which lets escape analysis drop the walker.

    private static UnwindException notBelowSentinel(int index, long fp, long entryFp) {
        return new UnwindException(Reason.FP_NOT_BELOW_ENTRY_FP, index, fp,
                String.format("fp 0x%x is not below the entry fp 0x%x", fp, entryFp));
    }

    private static UnwindException misaligned(int index, long fp, int alignment) {
        return new UnwindException(Reason.FP_MISALIGNED, index, fp,
                String.format("fp 0x%x is not a multiple of %d", fp, alignment));
    }

    private static UnwindException notGrowing(int index, long nextFp, long fp) {
        return new UnwindException(Reason.FP_NOT_GROWING, index, nextFp,
                String.format("saved fp 0x%x is not above fp 0x%x", nextFp, fp));
    }
}
