package dev.unwinder.process;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The C library's {@code ptrace}, {@code waitpid}, {@code process_vm_readv} and {@code strerror},
 * through {@code java.lang.foreign}, each returning its result and keeping {@code errno}. The one
 * class of this module that makes restricted calls. One instance per thread that traces: ptrace
 * requests must come from the thread that attached.
 */
@SuppressWarnings("restricted") // the module's reason to exist: callers enable its native access
final class Linux {
    static final int PTRACE_DETACH = 17;
    static final int PTRACE_GETREGSET = 0x4204;
    static final int PTRACE_SEIZE = 0x4206;
    static final int PTRACE_INTERRUPT = 0x4207;
    static final int PTRACE_EVENT_STOP = 128;
    static final int NT_PRSTATUS = 1;
    static final int WNOHANG = 1;
    static final int WALL = 0x40000000;
    static final int EPERM = 1;
    static final int ESRCH = 3;
    static final int EINTR = 4;
    static final int SIGTRAP = 5;
    static final int SIGSTOP = 19;
    static final int SIGTSTP = 20;
    static final int SIGTTIN = 21;
    static final int SIGTTOU = 22;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle PTRACE = downcall("ptrace",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), true);
    private static final MethodHandle WAITPID = downcall("waitpid",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), false);
    private static final MethodHandle PROCESS_VM_READV = downcall("process_vm_readv",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG), false);
    private static final MethodHandle STRERROR = LINKER.downcallHandle(
            LINKER.defaultLookup().find("strerror").orElseThrow(), FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private final Arena arena = Arena.ofAuto();
    private final MemorySegment errno = arena.allocate(CAPTURE);
    private final MemorySegment status = arena.allocate(JAVA_INT);
    /** Two iovecs, local then remote: base and length each. */
    private final MemorySegment iovecs = arena.allocate(JAVA_LONG, 4);
    private int lastErrno;

    private static MethodHandle downcall(String name, FunctionDescriptor descriptor, boolean variadic) {
        MemorySegment function = LINKER.defaultLookup().find(name).orElseThrow(
                () -> new UnsupportedOperationException("the C library has no " + name));
        return variadic
                ? LINKER.downcallHandle(function, descriptor, Linker.Option.firstVariadicArg(1),
                        Linker.Option.captureCallState("errno"))
                : LINKER.downcallHandle(function, descriptor, Linker.Option.captureCallState("errno"));
    }

    /**
     * Calls each function once on nothing (pid 0 and the like, which fail at once), and reads what a
     * success would have written; a capture does it a few hundred times, so that no thread stopped
     * waits for the calls and the memory accesses to be linked (the first use of an access to a
     * segment spins classes, for hundreds of microseconds) and compiled.
     */
    void warmUp() {
        ptrace(PTRACE_INTERRUPT, 0, 0, 0);
        registers(0, iovecs.asSlice(0, 8));
        waitpid(0x7fffffff, WNOHANG);
        status();
        read(0, 0, iovecs.asSlice(0, 0));
    }

    /** {@code errno} after the last call that failed. */
    int errno() {
        return lastErrno;
    }

    /** {@code ptrace(request, tid, addr, data)}; -1 on failure, with {@link #errno()}. */
    long ptrace(int request, int tid, long addr, long data) {
        try {
            long result = (long) PTRACE.invokeExact(errno, request, tid, addr, data);
            lastErrno = result == -1 ? (int) ERRNO.get(errno, 0L) : 0;
            return result;
        } catch (Throwable e) {
            throw new AssertionError(e);
        }
    }

    /**
     * {@code ptrace(PTRACE_GETREGSET, tid, NT_PRSTATUS, &iov)} into {@code registers}.
     *
     * @return the bytes the kernel wrote, or -1 with {@link #errno()}
     */
    long registers(int tid, MemorySegment registers) {
        iovecs.setAtIndex(JAVA_LONG, 0, registers.address());
        iovecs.setAtIndex(JAVA_LONG, 1, registers.byteSize());
        long result = ptrace(PTRACE_GETREGSET, tid, NT_PRSTATUS, iovecs.address());
        long written = iovecs.getAtIndex(JAVA_LONG, 1); // read even on failure: the warm-up links the access
        return result == -1 ? -1 : written;
    }

    /** {@code waitpid(tid, &status, options | __WALL)}: the tid, 0 (WNOHANG, nothing yet) or -1 with {@link #errno()}. */
    int waitpid(int tid, int options) {
        try {
            int result = (int) WAITPID.invokeExact(errno, tid, status, options | WALL);
            lastErrno = result == -1 ? (int) ERRNO.get(errno, 0L) : 0;
            return result;
        } catch (Throwable e) {
            throw new AssertionError(e);
        }
    }

    /** The status the last {@link #waitpid} reported. */
    int status() {
        return status.get(JAVA_INT, 0);
    }

    /**
     * Reads {@code into.byteSize()} bytes of process {@code pid} at {@code address}.
     *
     * @return the bytes read (fewer where the range runs into unmapped memory), or -1 with
     *     {@link #errno()}
     */
    long read(int pid, long address, MemorySegment into) {
        iovecs.setAtIndex(JAVA_LONG, 0, into.address());
        iovecs.setAtIndex(JAVA_LONG, 1, into.byteSize());
        iovecs.setAtIndex(JAVA_LONG, 2, address);
        iovecs.setAtIndex(JAVA_LONG, 3, into.byteSize());
        try {
            long result = (long) PROCESS_VM_READV.invokeExact(errno, pid, iovecs, 1L,
                    iovecs.asSlice(2 * JAVA_LONG.byteSize()), 1L, 0L);
            lastErrno = result == -1 ? (int) ERRNO.get(errno, 0L) : 0;
            return result;
        } catch (Throwable e) {
            throw new AssertionError(e);
        }
    }

    /** The C library's message for an errno value, such as "Operation not permitted". */
    static String message(int errno) {
        try {
            MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
            return text.reinterpret(4096).getString(0);
        } catch (Throwable e) {
            throw new AssertionError(e);
        }
    }

    /** The signal of a stopped status, WSTOPSIG. */
    static int stopSignal(int status) {
        return (status >> 8) & 0xff;
    }

    /** Whether a status is a stop, WIFSTOPPED. */
    static boolean stopped(int status) {
        return (status & 0xff) == 0x7f;
    }

    /** The ptrace event of a stop, status >> 16. */
    static int event(int status) {
        return status >>> 16;
    }
}
