package dev.unwinder.core;

import static java.util.Objects.requireNonNull;

import dev.unwinder.api.ControlFlow;

/**
 * The outcome of a lenient walk: how it ended, how many frames it delivered, and what the visitor
 * answered last.
 *
 * @param end why the walk ended
 * @param frameCount how many frames were delivered to the visitor
 * @param endFp the fp the walk could not go on to: the saved fp of the last delivered frame, or the
 *     starting fp when no frame was delivered; for {@link WalkEnd#VISITOR_BREAK} the fp of the
 *     frame the visitor stopped at
 * @param flow {@link ControlFlow.Break} with the visitor's value when it stopped the walk,
 *     otherwise {@link ControlFlow#continueWalk()}
 * @param <B> the type of the value the visitor may stop the walk with
 */
public record LenientWalk<B>(WalkEnd end, int frameCount, long endFp, ControlFlow<B> flow) {

    /**
     * Validates the components.
     *
     * @param end why the walk ended
     * @param frameCount how many frames were delivered
     * @param endFp the fp the walk could not go on to
     * @param flow the visitor's last answer
     */
    public LenientWalk {
        requireNonNull(end, "end");
        requireNonNull(flow, "flow");
        if (frameCount < 0) {
            throw new IllegalArgumentException("frameCount: " + frameCount + " (expected: >= 0)");
        }
        if (flow.isBreak() != (end == WalkEnd.VISITOR_BREAK)) {
            throw new IllegalArgumentException("flow: " + flow + " (expected: a Break exactly when end is VISITOR_BREAK)");
        }
    }

    @Override
    public String toString() {
        return "LenientWalk[end=" + end + ", frameCount=" + frameCount + ", endFp=0x" + Long.toHexString(endFp)
                + ", flow=" + flow + "]";
    }
}
