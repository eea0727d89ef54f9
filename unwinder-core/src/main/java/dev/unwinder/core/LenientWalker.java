package dev.unwinder.core;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.FrameVisitor;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;

/**
 * The lenient walk's state machine. A frame is delivered when its own pc and fp are good; its link
 * to the caller decides whether another follows, and if not, {@link #end} says why.
 *
 * <p>Shaped by measurement (perfasm, JMH, {@code benchmarks/run-gate}); three things matter to C2:
 * <ul>
 *   <li>The layout's offsets are asked of the plugin in the loop, where C2 inlines the calls and
 *       folds them into constants; copied into fields by the constructor they stayed variables,
 *       which cost registers and spills (s390x, heap, N = 1,024: 1.20 times the baseline, then
 *       1.08).
 *   <li>The link range is two plain fields, computed by static methods: nothing to allocate, or to
 *       inline to avoid allocating, when a walk starts.
 *   <li>{@link #reject} runs on every frame, so it is hot and inlined. A variant that checked the
 *       common case inline and classified a bad link out of line, and one that kept the state in
 *       local variables, both left C2 parking the fp chain in an XMM register on native memory
 *       (up to 1.52 times the baseline); this form measures 0.88 to 1.09 on every
 *       plugin at N >= 1,024, except s390x native memory (1.03 to 1.21 from fork to fork).
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

    /** Walks as {@link StackWalk#visitFramesLenient} documents; the arguments have been checked. */
    static <B> LenientWalk<B> walk(
            Unwind unwind, StackMemory memory, long pc, long fp, long entryFp, int maxFrames, FrameVisitor<B> visitor) {
        LenientWalker walker = new LenientWalker(unwind, memory, pc, fp, entryFp, maxFrames);
        WalkFrame frame = walker.frame;
        while (walker.advance()) {
            ControlFlow<B> flow = visitor.visit(frame);
            if (flow.isBreak()) {
                return new LenientWalk<>(WalkEnd.VISITOR_BREAK, walker.count, frame.fp(), flow);
            }
        }
        return new LenientWalk<>(walker.end, walker.count, walker.endFp, ControlFlow.continueWalk());
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
        long nextFp = memory.readLong(fp, unwind.nextOlderFpFromFpOffset());
        frame.set(count, pc, fp, sp);
        count++;
        WalkEnd rejected = reject(nextPc, nextFp, fp, false);
        if (rejected != null) {
            end = rejected;
            endFp = nextFp;
        } else {
            sp = fp + unwind.nextOlderSpFromFpOffset();
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
        if (!(linkAny && LinkRange.contains(linkFirst, linkSpan, fp))) {
            return WalkEnd.FP_OUTSIDE_MEMORY;
        }
        return null;
    }
}
