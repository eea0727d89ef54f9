package dev.unwinder.api;

/**
 * One frame of a walk: where the code was (pc) and the frame's fp.
 *
 * <p>The pc of every frame but the first is a return address, the instruction after a call;
 * symbolize {@code pc - 1} for those frames. The sp is known for every frame but the first: it is
 * the younger frame's fp plus {@link Unwind#nextOlderSpFromFpOffset()}.
 */
public interface Frame {

    /**
     * Returns this frame's position in its walk, 0 for the innermost frame.
     *
     * @return the frame index
     */
    int index();

    /**
     * Returns the program counter of this frame.
     *
     * @return the pc, an unsigned address
     */
    long pc();

    /**
     * Returns this frame's fp.
     *
     * @return the fp, an unsigned address
     */
    long fp();

    /**
     * Tells whether {@link #sp()} is known: true for every frame but the first of a walk.
     *
     * @return whether the sp is known
     */
    boolean hasSp();

    /**
     * Returns this frame's stack pointer, as the younger frame's layout gives it: the younger
     * frame's fp plus {@link Unwind#nextOlderSpFromFpOffset()}. That is exact where the layout
     * fixes where the frame record sits (x86_64, riscv64, s390x); on aarch64, where compilers may
     * place the record below a frame's locals, it is a lower bound of the sp at the call.
     *
     * @return the sp, an unsigned address
     * @throws IllegalStateException if the sp is not known ({@link #hasSp()} is false)
     */
    long sp();

    /**
     * Reads the word at a signed offset from this frame's fp, as runtimes do for GC stack maps.
     *
     * @param offset the byte offset from fp, which may be negative
     * @return the word, in the walk's byte order
     * @throws UnwindException with {@link UnwindException.Reason#OUTSIDE_MEMORY} and this
     *     frame's index if the word is not wholly inside the walk's memory
     */
    long readSlotFromFp(long offset);

    /**
     * Returns an immutable copy of this frame that stays valid after a visit returns.
     *
     * @return this frame if it is already immutable, otherwise a copy
     */
    Frame snapshot();
}
