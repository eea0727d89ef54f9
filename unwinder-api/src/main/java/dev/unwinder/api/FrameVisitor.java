package dev.unwinder.api;

/**
 * Receives the frames of a walk, innermost first, and says whether to go on.
 *
 * <p>The {@link Frame} passed to {@link #visit(Frame)} may be a cursor that the walk reuses for
 * the next frame: it is valid only during the call. Keep {@link Frame#snapshot()} to hold on to
 * it.
 *
 * @param <B> the type of the value the visitor may stop the walk with
 */
@FunctionalInterface
public interface FrameVisitor<B> {

    /**
     * Visits one frame.
     *
     * @param frame the frame, valid during this call only
     * @return {@link ControlFlow#continueWalk()} to go on to the caller's frame, or
     *     {@link ControlFlow#breakWith(Object)} to stop the walk with a value; never {@code null}
     */
    ControlFlow<B> visit(Frame frame);
}
