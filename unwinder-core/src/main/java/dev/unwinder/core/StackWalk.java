package dev.unwinder.core;

import static java.util.Objects.requireNonNull;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.Frame;
import dev.unwinder.api.FrameVisitor;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.api.UnwindException;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Walks frame-pointer chains.
 *
 * <h2>The strict mode</h2>
 * {@link #visitFrames visitFrames} and {@link #frameIterator frameIterator} follow the chain from a
 * (pc, fp) pair up to an entry fp, the frame of the trampoline that entered the code being
 * walked, with the semantics of Wasmtime's walker. A zero pc, fp or entry fp is rejected before
 * anything else, and nothing is visited when fp equals the entry fp. At every step, before the
 * frame is delivered, the walk checks that its fp is below the entry fp and aligned, reads the
 * saved fp and then the return address (so a link wholly outside the memory is reported at the
 * saved fp's address), and checks that the saved fp is above the fp. A failed check
 * throws {@link UnwindException}: the frames delivered before it are exactly those whose links
 * were good. The entry fp is only compared with fp values; it need not lie inside the memory.
 *
 * <h2>The lenient mode</h2>
 * {@link #visitFramesLenient visitFramesLenient} walks native stacks, which have no entry fp and
 * end in junk. It delivers every frame whose own pc and fp are good, the last one included, and
 * reports in a {@link LenientWalk} why the link after it was not followed ({@link WalkEnd}).
 *
 * <p>Both modes read only the given {@link StackMemory}, allocate nothing per visited frame, and
 * treat addresses as unsigned. A chain that must grow strictly inside a bounded memory cannot
 * cycle, so every walk ends.
 *
 * {@snippet :
 * Unwind unwind = Unwinders.forArch("s390x");
 * StackMemory memory = StackMemory.ofBytes(stackBytes, stackBase, unwind.byteOrder());
 * ControlFlow<Long> result = StackWalk.visitFrames(unwind, memory, pc, fp, entryFp, frame -> {
 *     System.out.printf("#%d pc=0x%x fp=0x%x%n", frame.index(), frame.pc(), frame.fp());
 *     return ControlFlow.continueWalk();
 * });
 * }
 */
public final class StackWalk {

    private StackWalk() {}

    /**
     * Returns the frames from (pc, fp) up to, not including, the entry fp, innermost first.
     *
     * <p>The iterator reads the stack lazily: each {@code hasNext()} checks the next frame and its
     * link, and throws {@link UnwindException} where the strict walk does; after that, every call
     * throws the same exception again. Frames it returns are immutable snapshots.
     *
     * @param unwind the frame layout
     * @param memory the stack, in the layout's byte order
     * @param pc the pc of the innermost frame
     * @param fp the fp of the innermost frame
     * @param entryFp the entry fp, where the walk stops
     * @return the frames
     * @throws UnwindException if {@code pc}, {@code fp} or {@code entryFp} is zero
     * @throws IllegalArgumentException if {@code memory}'s byte order or word size does not suit
     *     {@code unwind}
     */
    public static Iterator<Frame> frameIterator(
            Unwind unwind, StackMemory memory, long pc, long fp, long entryFp) {
        checkLayout(unwind, memory);
        return new StrictIterator(new StrictWalker(unwind, memory, pc, fp, entryFp));
    }

    /**
     * Visits the frames from (pc, fp) up to, not including, the entry fp, innermost first,
     * until the visitor breaks.
     *
     * @param unwind the frame layout
     * @param memory the stack, in the layout's byte order
     * @param pc the pc of the innermost frame
     * @param fp the fp of the innermost frame
     * @param entryFp the entry fp, where the walk stops
     * @param visitor receives each frame; the frame is a cursor valid during the call only
     * @param <B> the type of the value the visitor may stop with
     * @return the visitor's {@link ControlFlow.Break}, or {@link ControlFlow#continueWalk()} when
     *     the walk reached the entry fp
     * @throws UnwindException if the stack breaks an invariant of the chain
     * @throws IllegalArgumentException if {@code memory}'s byte order or word size does not suit
     *     {@code unwind}
     * @throws NullPointerException if the visitor returns {@code null}
     */
    public static <B> ControlFlow<B> visitFrames(
            Unwind unwind, StackMemory memory, long pc, long fp, long entryFp, FrameVisitor<B> visitor) {
        checkLayout(unwind, memory);
        requireNonNull(visitor, "visitor");
        StrictWalker walker = new StrictWalker(unwind, memory, pc, fp, entryFp);
        WalkFrame frame = walker.frame;
        while (walker.advance()) {
            ControlFlow<B> flow = visitor.visit(frame);
            if (flow.isBreak()) {
                return flow;
            }
        }
        return ControlFlow.continueWalk();
    }

    /**
     * The {@code entryFp} of a lenient walk that has none: no fp is 0 in a walk, so none stops it.
     */
    public static final long NO_ENTRY_FP = 0;

    /**
     * Walks a native stack from (pc, fp) to wherever its chain ends inside {@code memory}, with no
     * entry fp and no frame limit: {@link #visitFramesLenient(Unwind, StackMemory, long, long, long,
     * int, FrameVisitor)} with {@link #NO_ENTRY_FP} and {@code Integer.MAX_VALUE}. The walk still
     * ends: the chain must grow strictly inside the bounded memory.
     *
     * {@snippet :
     * LenientWalk<Void> walk = StackWalk.visitFramesLenient(unwind, memory, pc, fp, frame -> {
     *     System.out.printf("#%d pc=0x%x%n", frame.index(), frame.pc());
     *     return ControlFlow.continueWalk();
     * });
     * System.out.println(walk.end());   // for example FP_NOT_GROWING: junk above main
     * }
     *
     * @param unwind the frame layout
     * @param memory the stack, in the layout's byte order
     * @param pc the pc of the innermost frame
     * @param fp the fp of the innermost frame
     * @param visitor receives each frame; the frame is a cursor valid during the call only
     * @param <B> the type of the value the visitor may stop with
     * @return how the walk ended, how many frames it delivered and the visitor's last answer
     * @throws IllegalArgumentException if {@code memory}'s byte order or word size does not suit
     *     {@code unwind}
     * @throws NullPointerException if the visitor returns {@code null}
     */
    public static <B> LenientWalk<B> visitFramesLenient(
            Unwind unwind, StackMemory memory, long pc, long fp, FrameVisitor<B> visitor) {
        return visitFramesLenient(unwind, memory, pc, fp, NO_ENTRY_FP, Integer.MAX_VALUE, visitor);
    }

    /**
     * Walks a native stack from (pc, fp) to wherever its chain ends inside {@code memory}, or to
     * {@code entryFp}, delivering at most {@code maxFrames} frames.
     *
     * <p>Every frame whose own pc and fp are good is delivered: pc not zero, fp not zero and not
     * {@code entryFp}, above the younger frame's fp, aligned, with its link words inside the
     * memory. The last delivered frame may have a bad link; the result's {@link WalkEnd} describes
     * it. Nothing is thrown for bad stack contents.
     *
     * @param unwind the frame layout
     * @param memory the stack, in the layout's byte order
     * @param pc the pc of the innermost frame
     * @param fp the fp of the innermost frame
     * @param entryFp an fp at which to stop, like the strict mode's entry fp (that frame is not
     *     delivered), or {@link #NO_ENTRY_FP}
     * @param maxFrames the most frames to deliver, at least 0
     * @param visitor receives each frame; the frame is a cursor valid during the call only
     * @param <B> the type of the value the visitor may stop with
     * @return how the walk ended, how many frames it delivered and the visitor's last answer
     * @throws IllegalArgumentException if {@code maxFrames} is negative, or {@code memory}'s byte
     *     order or word size does not suit {@code unwind}
     * @throws NullPointerException if the visitor returns {@code null}
     */
    public static <B> LenientWalk<B> visitFramesLenient(
            Unwind unwind, StackMemory memory, long pc, long fp, long entryFp, int maxFrames,
            FrameVisitor<B> visitor) {
        checkLayout(unwind, memory);
        requireNonNull(visitor, "visitor");
        if (maxFrames < 0) {
            throw new IllegalArgumentException("maxFrames: " + maxFrames + " (expected: >= 0)");
        }
        return LenientWalker.walk(unwind, memory, pc, fp, entryFp, maxFrames, visitor);
    }

    private static void checkLayout(Unwind unwind, StackMemory memory) {
        requireNonNull(unwind, "unwind");
        requireNonNull(memory, "memory");
        if (unwind.wordSize() != Long.BYTES) {
            throw new IllegalArgumentException(
                    "unwind.wordSize(): " + unwind.wordSize() + " for " + unwind.name() + " (expected: 8)");
        }
        int alignment = unwind.fpAlignment();
        if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException(
                    "unwind.fpAlignment(): " + alignment + " for " + unwind.name() + " (expected: a power of two)");
        }
        if (!memory.byteOrder().equals(unwind.byteOrder())) {
            throw new IllegalArgumentException("memory.byteOrder(): " + memory.byteOrder() + " (expected: "
                    + unwind.byteOrder() + ", the byte order of " + unwind.name() + ")");
        }
    }

    /** The strict walk as a pull-style iterator of frame snapshots. */
    private static final class StrictIterator implements Iterator<Frame> {
        private final StrictWalker walker;
        private boolean ready;
        private boolean more;
        private UnwindException failure;

        StrictIterator(StrictWalker walker) {
            this.walker = walker;
        }

        @Override
        public boolean hasNext() {
            if (failure != null) {
                throw failure;
            }
            if (!ready) {
                try {
                    more = walker.advance();
                } catch (UnwindException e) {
                    failure = e;
                    throw e;
                }
                ready = true;
            }
            return more;
        }

        @Override
        public Frame next() {
            if (!hasNext()) {
                throw new NoSuchElementException("the walk reached its entry fp");
            }
            ready = false;
            return walker.frame.snapshot();
        }
    }
}
