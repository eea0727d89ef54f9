package dev.unwinder.process;

import java.io.IOException;

/**
 * Why a live process cannot be walked: it does not exist, is a zombie, is this process, or may not
 * be traced. The message is one line that says which, and what to change where something can be.
 */
public final class ProcessException extends IOException {
    private static final long serialVersionUID = 1L;

    /** What went wrong. */
    public enum Kind {
        /** No process has the id. */
        NO_SUCH_PROCESS,
        /** The process has exited and its parent has not reaped it. */
        ZOMBIE,
        /** The process is the one asking: it cannot trace itself. */
        SELF,
        /** The kernel refused to let this process trace it. */
        NOT_PERMITTED,
        /** Anything else: an unreadable file under {@code /proc}, a failed system call. */
        FAILED
    }

    /** What went wrong. */
    private final Kind kind;

    /**
     * Creates an exception.
     *
     * @param kind what went wrong
     * @param message one line that says so
     */
    public ProcessException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    /**
     * Returns what went wrong.
     *
     * @return the kind
     */
    public Kind kind() {
        return kind;
    }
}
