package dev.unwinder.core;

/**
 * Why a lenient walk ended. Each value but {@link #FRAME_LIMIT} and {@link #VISITOR_BREAK}
 * describes the link from the last delivered frame to its caller (or, when no frame was
 * delivered, the starting pc and fp). The walk tests a link in the order of these constants and
 * reports the first that applies.
 */
public enum WalkEnd {
    /** The fp is 0: the regular end of a chain whose start code clears fp (aarch64's {@code _start}). */
    ZERO_FP,
    /** The fp is the entry fp the caller gave; that frame is not delivered, like the strict mode's entry fp. */
    ENTRY_FP_REACHED,
    /** The saved fp is not above the fp it was saved in: junk, a cycle or a descending link. */
    FP_NOT_GROWING,
    /** The pc (return address) is 0. */
    ZERO_PC,
    /** The fp lacks the layout's alignment. */
    FP_MISALIGNED,
    /** The words the fp's frame keeps its link in are not wholly inside the stack memory. */
    OUTSIDE_MEMORY,
    /** The walk delivered as many frames as the caller allowed, and the next link was good. */
    FRAME_LIMIT,
    /** The visitor stopped the walk with {@link dev.unwinder.api.ControlFlow#breakWith(Object)}. */
    VISITOR_BREAK
}
