package dev.unwinder.api;

/**
 * What a {@link FrameVisitor} answers for each frame: continue the walk, or stop it with a value.
 *
 * <p>{@link #continueWalk()} returns one shared instance, so a visitor that continues allocates
 * nothing. A walk that ran to its end returns that same instance.
 *
 * {@snippet :
 * ControlFlow<Long> found = StackWalk.visitFrames(unwind, memory, pc, fp, entryFp, frame ->
 *         frame.pc() == wanted ? ControlFlow.breakWith(frame.fp()) : ControlFlow.continueWalk());
 * if (found instanceof ControlFlow.Break<Long>(Long fpOfWanted)) {
 *     System.out.println("found at fp 0x" + Long.toHexString(fpOfWanted));
 * }
 * }
 *
 * @param <B> the type of the value a walk stops with
 */
public sealed interface ControlFlow<B> permits ControlFlow.Continue, ControlFlow.Break {

    /**
     * Returns the shared "continue" answer.
     *
     * @param <B> the break type of the walk
     * @return the one {@link Continue} instance
     */
    @SuppressWarnings("unchecked")
    static <B> ControlFlow<B> continueWalk() {
        return (ControlFlow<B>) Continue.INSTANCE;
    }

    /**
     * Returns an answer that stops the walk with {@code value}.
     *
     * @param value the result of the walk; may be {@code null}
     * @param <B> the type of the value
     * @return a new {@link Break}
     */
    static <B> ControlFlow<B> breakWith(B value) {
        return new Break<>(value);
    }

    /**
     * Tells whether this answer stops the walk.
     *
     * @return {@code true} for a {@link Break}
     */
    boolean isBreak();

    /**
     * The answer that continues the walk. There is exactly one instance.
     *
     * @param <B> the break type of the walk
     */
    final class Continue<B> implements ControlFlow<B> {
        private static final Continue<?> INSTANCE = new Continue<>();

        private Continue() {}

        @Override
        public boolean isBreak() {
            return false;
        }

        @Override
        public String toString() {
            return "Continue";
        }
    }

    /**
     * The answer that stops the walk, carrying its result.
     *
     * @param value the result; may be {@code null}
     * @param <B> the type of the result
     */
    record Break<B>(B value) implements ControlFlow<B> {
        @Override
        public boolean isBreak() {
            return true;
        }
    }
}
