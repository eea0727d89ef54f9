package dev.unwinder.api;

import static java.util.Objects.requireNonNull;

import java.io.Serial;

/**
 * Bad stack contents: a strict walk met a value that no valid frame-pointer chain holds, or a read
 * fell outside the declared stack memory.
 *
 * <p>Besides its message, which names the reason, the frame index and the address in hex, it
 * carries them for programs: {@link #reason()}, {@link #frameIndex()} and {@link #address()}.
 * Frames delivered before the exception are exactly those whose links to their callers were
 * good.
 */
public final class UnwindException extends RuntimeException {

    @Serial
    private static final long serialVersionUID = 1L;

    /** Why a walk could not go on. */
    public enum Reason {
        /** The initial pc is zero. The address is 0. */
        ZERO_PC,
        /** The initial fp is zero. The address is 0. */
        ZERO_FP,
        /** The entry fp is zero. The address is 0. */
        ZERO_ENTRY_FP,
        /** An fp lacks the layout's alignment. The address is that fp. */
        FP_MISALIGNED,
        /** An fp is not below the entry fp, so the chain skipped past its end. The address is that fp. */
        FP_NOT_BELOW_ENTRY_FP,
        /** A saved fp is not above the fp it was saved in: a cycle or a descending link. The address is the saved fp. */
        FP_NOT_GROWING,
        /** A word to read is not wholly inside the stack memory. The address is the word's first byte. */
        OUTSIDE_MEMORY
    }

    /** Frame index of an exception raised outside a walk, such as a direct memory read. */
    public static final int NO_FRAME = -1;

    private final Reason reason;
    private final int frameIndex;
    private final long address;
    private final String detail;

    /**
     * Creates an exception.
     *
     * @param reason why the walk stopped
     * @param frameIndex the index of the frame being produced, or {@link #NO_FRAME}
     * @param address the address involved, as the reason documents
     * @param detail what was wrong, in words, for the message
     */
    public UnwindException(Reason reason, int frameIndex, long address, String detail) {
        super(message(requireNonNull(reason, "reason"), frameIndex, address, requireNonNull(detail, "detail")));
        if (frameIndex < NO_FRAME) {
            throw new IllegalArgumentException("frameIndex: " + frameIndex + " (expected: >= -1)");
        }
        this.reason = reason;
        this.frameIndex = frameIndex;
        this.address = address;
        this.detail = detail;
    }

    private static String message(Reason reason, int frameIndex, long address, String detail) {
        String where = frameIndex == NO_FRAME ? "" : " at frame " + frameIndex;
        return reason + where + ", address 0x" + Long.toHexString(address) + ": " + detail;
    }

    /**
     * Returns why the walk stopped.
     *
     * @return the reason
     */
    public Reason reason() {
        return reason;
    }

    /**
     * Returns the index of the frame the walk was producing, 0 for the innermost.
     *
     * @return the frame index, or {@link #NO_FRAME} outside a walk
     */
    public int frameIndex() {
        return frameIndex;
    }

    /**
     * Returns the address involved; {@link Reason} says which one for each reason.
     *
     * @return an unsigned address
     */
    public long address() {
        return address;
    }

    /**
     * Returns what was wrong, in words, without the reason, frame and address prefix.
     *
     * @return the detail of the message
     */
    public String detail() {
        return detail;
    }

    /**
     * Returns this exception placed at a frame of a walk: same reason, address and detail, with
     * this one as its cause. Walks use it for reads that failed inside a plugin or memory.
     *
     * @param index the frame index
     * @return a new exception, or this one if it already names {@code index}
     */
    public UnwindException atFrame(int index) {
        if (index == frameIndex) {
            return this;
        }
        UnwindException placed = new UnwindException(reason, index, address, detail);
        placed.initCause(this);
        return placed;
    }
}
