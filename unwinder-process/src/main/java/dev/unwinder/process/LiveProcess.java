package dev.unwinder.process;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.unwinder.api.StackMemory;
import dev.unwinder.elf.ElfException;
import dev.unwinder.elf.Machine;
import dev.unwinder.elf.ProcessMaps;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongFunction;
import java.util.stream.Stream;

/**
 * A live Linux process of this machine's architecture, whose threads' registers and stacks this
 * class captures with {@code ptrace}, stopping each thread only while it copies them.
 *
 * <p>A capture stops a thread with {@code PTRACE_SEIZE} and {@code PTRACE_INTERRUPT} (the target
 * gets no {@code SIGSTOP}, and its parent sees no stop), reads its registers with
 * {@code PTRACE_GETREGSET} ({@code NT_PRSTATUS}, the layout a core's notes keep), copies its stack
 * from sp to the end of the stack's mapping (at most a given number of bytes) with one
 * {@code process_vm_readv} (else through {@code /proc/PID/mem}), and detaches at once: the walk
 * runs afterwards, on the copy. By default one thread is stopped at a time; {@code freeze} stops
 * them all first, for one consistent snapshot.
 *
 * <p>The target is never left stopped: every thread seized is detached on every path, an exception
 * included; a signal that arrived while it was stopped is delivered when it is detached; and if
 * this JVM dies mid-capture, the kernel detaches its tracees. A thread that exits during a capture
 * is skipped with a note.
 *
 * <p>Calls must come from a platform thread: the kernel accepts ptrace requests only from the
 * thread that attached, and a virtual thread may move between carriers. A process that this JVM
 * started with {@link ProcessBuilder} is a poor target: the JDK's reaper thread waits on it, and
 * takes a stop for its exit.
 */
public final class LiveProcess {
    /** How long a capture waits for a thread to stop (one in uninterruptible sleep may not). */
    private static final long STOP_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** How many times a capture runs its stop's code on nothing first. */
    private static final int WARM_UP_ROUNDS = 300;

    /**
     * One thread's registers and stack, as captured.
     *
     * @param tid its thread id
     * @param name its name ({@code /proc/PID/task/TID/comm})
     * @param pc its pc
     * @param dwarfRegisters its general registers by DWARF number
     * @param stack a copy of its stack from sp up, at sp's address
     * @param stoppedNanos how long it was stopped, from the interrupt to the detach
     */
    public record ThreadStack(int tid, String name, long pc, long[] dwarfRegisters, StackMemory stack,
                              long stoppedNanos) {}

    /**
     * What a capture found.
     *
     * @param threads the threads captured, in the order of {@code /proc/PID/task}
     * @param notes one line per thread skipped, saying why
     */
    public record Snapshot(List<ThreadStack> threads, List<String> notes) {}

    private final int pid;
    private final Machine machine;
    private final Path proc;
    /** Where awaitStop reads registers to see whether a thread is stopped. */
    private final MemorySegment probe;

    private LiveProcess(int pid, Machine machine) {
        this.pid = pid;
        this.machine = machine;
        this.proc = Path.of("/proc", Integer.toString(pid));
        this.probe = Arena.ofAuto().allocate(JAVA_LONG, machine.registerWords);
    }

    /**
     * Opens a process: checks that it exists, is not a zombie, is not this process, and is a 64-bit
     * process of this machine. Nothing is stopped yet.
     *
     * @param pid the process id
     * @return the process
     * @throws ProcessException if it cannot be walked, with a one-line reason
     */
    public static LiveProcess open(long pid) throws ProcessException {
        if (pid <= 0 || pid > Integer.MAX_VALUE) {
            throw new ProcessException(ProcessException.Kind.NO_SUCH_PROCESS, "no such process: " + pid);
        }
        long self = ProcessHandle.current().pid();
        if (pid == self) {
            throw new ProcessException(ProcessException.Kind.SELF,
                    "process " + pid + " is this one: a process cannot trace itself (walk it in-process instead)");
        }
        String status;
        try {
            status = read(Path.of("/proc", Long.toString(pid), "status"));
        } catch (NoSuchFileException e) {
            throw new ProcessException(ProcessException.Kind.NO_SUCH_PROCESS, "no such process: " + pid);
        } catch (IOException e) {
            throw new ProcessException(ProcessException.Kind.FAILED, "cannot read /proc/" + pid + "/status: " + e);
        }
        String state = field(status, "State");
        long tgid = parseLong(field(status, "Tgid"), pid);
        if (tgid == self) {
            throw new ProcessException(ProcessException.Kind.SELF,
                    pid + " is a thread of this process: a process cannot trace itself");
        }
        if (tgid != pid) {
            throw new ProcessException(ProcessException.Kind.NO_SUCH_PROCESS,
                    pid + " is a thread of process " + tgid + ", not a process: give " + tgid);
        }
        if (state.startsWith("Z")) {
            throw new ProcessException(ProcessException.Kind.ZOMBIE,
                    "process " + pid + " is a zombie: it has exited and has no stacks (its parent has not reaped it)");
        }
        if (state.startsWith("X")) {
            throw new ProcessException(ProcessException.Kind.NO_SUCH_PROCESS, "no such process: " + pid + " (dead)");
        }
        Machine machine = hostMachine();
        checkWordSize(pid);
        return new LiveProcess((int) pid, machine);
    }

    /**
     * Returns the process id.
     *
     * @return the pid
     */
    public int pid() {
        return pid;
    }

    /**
     * Returns the machine the process runs on: this one's.
     *
     * @return the machine
     */
    public Machine machine() {
        return machine;
    }

    /**
     * Lists the process's threads now.
     *
     * @return the thread ids, in {@code /proc/PID/task} order, the main thread first
     * @throws ProcessException if the process has gone
     */
    public List<Integer> threadIds() throws ProcessException {
        List<Integer> tids = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(proc.resolve("task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                tids.add(Integer.parseInt(task.getFileName().toString()));
            }
        } catch (NoSuchFileException e) {
            throw new ProcessException(ProcessException.Kind.NO_SUCH_PROCESS, "no such process: " + pid + " (it exited)");
        } catch (IOException | NumberFormatException e) {
            throw new ProcessException(ProcessException.Kind.FAILED, "cannot list the threads of process " + pid + ": " + e);
        }
        tids.sort((a, b) -> a == pid ? -1 : b == pid ? 1 : Integer.compare(a, b));
        return tids;
    }

    /**
     * Captures every thread's registers and stack.
     *
     * @param freeze whether to stop every thread before capturing any (one consistent snapshot),
     *     rather than one at a time
     * @param maxStackBytes the most bytes of each stack to copy, from sp up
     * @param arena where the stack copies live
     * @return the threads, and a note per thread skipped
     * @throws ProcessException if the process has gone, or may not be traced
     * @throws IllegalStateException if called from a virtual thread
     */
    public Snapshot capture(boolean freeze, long maxStackBytes, Arena arena) throws ProcessException {
        if (Thread.currentThread().isVirtual()) {
            throw new IllegalStateException("ptrace needs a platform thread: the kernel takes requests only from the"
                    + " thread that attached");
        }
        if (maxStackBytes < 0) {
            throw new IllegalArgumentException("maxStackBytes: " + maxStackBytes + " (expected: >= 0)");
        }
        List<ProcessMaps.Mapping> maps;
        try {
            maps = ProcessMaps.read(pid);
        } catch (ElfException e) {
            throw new ProcessException(ProcessException.Kind.NO_SUCH_PROCESS, e.getMessage());
        }
        Linux linux = new Linux();
        warmUp(linux, maps, arena);
        List<Integer> tids = threadIds();
        List<ThreadStack> threads = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        if (freeze) {
            List<Integer> seized = new ArrayList<>();
            long[] since = new long[tids.size()];
            int[] pending = new int[tids.size()];
            try {
                for (int tid : tids) {
                    if (seize(linux, tid, notes)) {
                        seized.add(tid);
                    }
                }
                for (int i = 0; i < seized.size(); i++) {
                    since[i] = System.nanoTime();
                    linux.ptrace(Linux.PTRACE_INTERRUPT, seized.get(i), 0, 0);
                }
                for (int i = 0; i < seized.size(); i++) {
                    int tid = seized.get(i);
                    pending[i] = awaitStop(linux, tid, notes);
                    if (pending[i] >= 0) {
                        ThreadStack stack = copy(linux, tid, maps, maxStackBytes, arena, since[i], notes);
                        if (stack != null) {
                            threads.add(stack);
                        }
                    }
                }
            } finally {
                for (int i = 0; i < seized.size(); i++) {
                    linux.ptrace(Linux.PTRACE_DETACH, seized.get(i), 0, Math.max(pending[i], 0));
                }
            }
            // Each thread was stopped from its interrupt to the detach of them all.
            long detached = System.nanoTime();
            for (int i = 0; i < threads.size(); i++) {
                ThreadStack t = threads.get(i);
                threads.set(i, new ThreadStack(t.tid(), t.name(), t.pc(), t.dwarfRegisters(), t.stack(),
                        detached - since[seized.indexOf(t.tid())]));
            }
        } else {
            for (int tid : tids) {
                if (!seize(linux, tid, notes)) {
                    continue;
                }
                long since = System.nanoTime();
                int pending = -1;
                ThreadStack stack = null;
                try {
                    linux.ptrace(Linux.PTRACE_INTERRUPT, tid, 0, 0);
                    pending = awaitStop(linux, tid, notes);
                    if (pending >= 0) {
                        stack = copy(linux, tid, maps, maxStackBytes, arena, since, notes);
                    }
                } finally {
                    linux.ptrace(Linux.PTRACE_DETACH, tid, 0, Math.max(pending, 0));
                }
                if (stack != null) {
                    long stopped = System.nanoTime() - since;
                    threads.add(new ThreadStack(stack.tid(), stack.name(), stack.pc(), stack.dwarfRegisters(),
                            stack.stack(), stopped));
                }
            }
        }
        // Names are read after the threads run again: a file read has no place in a stop.
        threads.replaceAll(t -> new ThreadStack(t.tid(), threadName(t.tid()), t.pc(), t.dwarfRegisters(), t.stack(),
                t.stoppedNanos()));
        return new Snapshot(List.copyOf(threads), List.copyOf(notes));
    }

    /**
     * Runs what a stop runs, on nothing, {@value #WARM_UP_ROUNDS} times: a fresh JVM (the
     * command's, which compiles with C1 only) loads, links and compiles those classes and methods
     * now, not while a thread waits stopped. About a millisecond: each round's system calls fail at
     * once or read 64 bytes of the process's first mapping.
     */
    private void warmUp(Linux linux, List<ProcessMaps.Mapping> maps, Arena arena) {
        MemorySegment registers = arena.allocate(JAVA_LONG, machine.registerWords);
        long somewhere = maps.isEmpty() ? 0 : maps.getFirst().start();
        for (int round = 0; round < WARM_UP_ROUNDS; round++) {
            linux.warmUp();
            long[] dwarf = machine.dwarfRegisters(registers.toArray(JAVA_LONG));
            dwarf[stackPointer(machine)] = somewhere;
            StackMemory stack = readStack(linux, somewhere, maps, 64, arena);
            new ThreadStack(0, "", machine.pc(registers.toArray(JAVA_LONG)), dwarf, stack, System.nanoTime() - round);
            linux.waitpid(Integer.MAX_VALUE, Linux.WNOHANG);
            linux.registers(0, probe);
        }
    }

    /**
     * The process's code at an address, for a walk that recognizes signal-return trampolines by
     * their instructions ({@code CfiWalk.walk}'s {@code code}): 16 bytes read with
     * {@code process_vm_readv} when asked, the process running (code does not change). Each
     * answer is allocated in {@code arena}.
     *
     * @param arena where the bytes read live
     * @return a function from an address to the memory of the 16 bytes there, or null where the
     *     process has nothing mapped
     */
    public LongFunction<StackMemory> code(Arena arena) {
        Linux linux = new Linux();
        return address -> {
            MemorySegment bytes = arena.allocate(16, 8);
            long read = linux.read(pid, address, bytes);
            return read <= 0 ? null : StackMemory.ofSegment(bytes.asSlice(0, read), address, machine.byteOrder);
        };
    }

    /** PTRACE_SEIZE; false (with a note) if the thread has exited; throws if not permitted. */
    private boolean seize(Linux linux, int tid, List<String> notes) throws ProcessException {
        if (linux.ptrace(Linux.PTRACE_SEIZE, tid, 0, 0) == 0) {
            return true;
        }
        int errno = linux.errno();
        if (errno == Linux.ESRCH) {
            notes.add("thread " + tid + " exited before it could be stopped");
            return false;
        }
        if (errno == Linux.EPERM) {
            throw new ProcessException(ProcessException.Kind.NOT_PERMITTED, notPermitted(tid));
        }
        throw new ProcessException(ProcessException.Kind.FAILED,
                "cannot trace thread " + tid + " of process " + pid + ": " + Linux.message(errno));
    }

    /** Why PTRACE_SEIZE said EPERM, in one line. */
    private String notPermitted(int tid) {
        StringBuilder message = new StringBuilder("not permitted to trace process ").append(pid).append(": ");
        long tracer = 0;
        try {
            tracer = parseLong(field(read(proc.resolve("task").resolve(Integer.toString(tid)).resolve("status")), "TracerPid"), 0);
        } catch (IOException e) {
            // no tracer to report
        }
        if (tracer != 0) {
            return message.append("process ").append(tracer).append(" already traces it (a debugger?)").toString();
        }
        message.append("needs the ptrace capability (CAP_SYS_PTRACE, e.g. as root), or the same user as the process");
        Path scope = Path.of("/proc/sys/kernel/yama/ptrace_scope");
        if (Files.isReadable(scope)) {
            try {
                String value = read(scope).strip();
                message.append(" with kernel.yama.ptrace_scope 0 (it is ").append(value).append(')');
            } catch (IOException e) {
                // leave it out
            }
        }
        return message.toString();
    }

    /**
     * Waits for a seized thread to stop after PTRACE_INTERRUPT.
     *
     * @return the signal to deliver when detaching (0 for none), or -1 if the thread exited or
     *     did not stop (with a note)
     */
    private int awaitStop(Linux linux, int tid, List<String> notes) {
        long deadline = System.nanoTime() + STOP_TIMEOUT_NANOS;
        while (true) {
            int result = linux.waitpid(tid, Linux.WNOHANG);
            if (result == tid) {
                int status = linux.status();
                if (!Linux.stopped(status)) {
                    notes.add("thread " + tid + " exited while it was being stopped");
                    return -1;
                }
                int signal = Linux.stopSignal(status);
                if (Linux.event(status) == Linux.PTRACE_EVENT_STOP) {
                    return 0; // the interrupt, or a group stop: nothing to deliver
                }
                // A signal arrived first: the thread is stopped all the same; deliver it on detach.
                return signal;
            }
            // Another thread of this process may take the notification (the JDK's reaper waits on a
            // child it started): a thread whose registers can be read is stopped all the same.
            if (result == 0 && linux.registers(tid, probe) >= 0) {
                return 0;
            }
            if (result == -1 && linux.errno() != Linux.EINTR) {
                notes.add("thread " + tid + " exited while it was being stopped (" + Linux.message(linux.errno()) + ")");
                return -1;
            }
            long now = System.nanoTime();
            if (now - deadline > 0) {
                notes.add("thread " + tid + " did not stop within 1 s (uninterruptible sleep?); skipped");
                return -1;
            }
            // A thread stops within microseconds: spin for the first millisecond, then sleep a little.
            if (now - (deadline - STOP_TIMEOUT_NANOS) < 1_000_000) {
                Thread.onSpinWait();
            } else {
                LockSupport.parkNanos(50_000);
            }
        }
    }

    /** Registers and stack of a stopped thread, or null (with a note). */
    private ThreadStack copy(Linux linux, int tid, List<ProcessMaps.Mapping> maps, long maxStackBytes, Arena arena,
                             long since, List<String> notes) {
        MemorySegment prRegSegment = arena.allocate(JAVA_LONG, machine.registerWords);
        if (linux.registers(tid, prRegSegment) < 0) {
            notes.add("thread " + tid + ": cannot read its registers: " + Linux.message(linux.errno()));
            return null;
        }
        long[] prReg = prRegSegment.toArray(JAVA_LONG);
        long[] dwarf = machine.dwarfRegisters(prReg);
        long sp = dwarf[stackPointer(machine)];
        StackMemory stack = readStack(linux, sp, maps, maxStackBytes, arena);
        return new ThreadStack(tid, "", machine.pc(prReg), dwarf, stack, System.nanoTime() - since);
    }

    /** A copy of [sp, end of sp's mapping), at most maxStackBytes; empty if sp is in no mapping. */
    private StackMemory readStack(Linux linux, long sp, List<ProcessMaps.Mapping> maps, long maxStackBytes,
                                  Arena arena) {
        long start = sp & ~7L;
        long length = 0;
        for (ProcessMaps.Mapping mapping : maps) {
            if (mapping.contains(start)) {
                length = Math.min(mapping.end() - start, maxStackBytes);
                break;
            }
        }
        MemorySegment copy = arena.allocate(Math.max(length, 1), 8).asSlice(0, length);
        long read = length == 0 ? 0 : linux.read(pid, start, copy);
        if (read < 0) {
            read = readProcMem(start, copy);
        }
        return StackMemory.ofSegment(copy.asSlice(0, Math.max(read, 0)), start, machine.byteOrder);
    }

    /** Reads through /proc/PID/mem where process_vm_readv is refused; the bytes read, or 0. */
    private long readProcMem(long address, MemorySegment into) {
        try (FileChannel mem = FileChannel.open(proc.resolve("mem"), StandardOpenOption.READ)) {
            ByteBuffer buffer = into.asByteBuffer();
            long position = address;
            while (buffer.hasRemaining()) {
                int n = mem.read(buffer, position);
                if (n <= 0) {
                    break;
                }
                position += n;
            }
            return buffer.position();
        } catch (IOException e) {
            return 0;
        }
    }

    private String threadName(int tid) {
        try {
            return read(proc.resolve("task").resolve(Integer.toString(tid)).resolve("comm")).strip();
        } catch (IOException e) {
            return "";
        }
    }

    static int stackPointer(Machine machine) {
        return switch (machine) {
            case X86_64 -> 7;
            case AARCH64 -> 31;
            case RISCV64 -> 2;
            case S390X -> 15;
        };
    }

    private static Machine hostMachine() throws ProcessException {
        String arch = System.getProperty("os.arch", "");
        return switch (arch) {
            case "amd64", "x86_64" -> Machine.X86_64;
            case "aarch64" -> Machine.AARCH64;
            case "riscv64" -> Machine.RISCV64;
            case "s390x" -> Machine.S390X;
            default -> throw new ProcessException(ProcessException.Kind.FAILED,
                    "live processes are walked on x86_64, aarch64, riscv64 and s390x; this machine is " + arch);
        };
    }

    /** A 32-bit program on a 64-bit kernel has other registers: refuse it by its ELF class. */
    private static void checkWordSize(long pid) throws ProcessException {
        ByteBuffer ident = ByteBuffer.allocate(5);
        try (FileChannel exe = FileChannel.open(Path.of("/proc", Long.toString(pid), "exe"))) {
            exe.read(ident, 0);
        } catch (IOException e) {
            return; // a kernel thread or an unreadable executable: the registers tell
        }
        if (ident.position() == 5 && ident.get(4) == 1) {
            throw new ProcessException(ProcessException.Kind.FAILED,
                    "process " + pid + " is a 32-bit program: only 64-bit processes are walked");
        }
    }

    /**
     * A file under /proc, read whole: procfs files report size 0, and the JDK's
     * {@code Files.readString} can then return only the first bytes.
     */
    private static String read(Path file) throws IOException {
        try (var in = Files.newInputStream(file)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String field(String status, String name) {
        for (String line : status.split("\n")) {
            if (line.startsWith(name + ":")) {
                return line.substring(name.length() + 1).strip();
            }
        }
        return "";
    }

    private static long parseLong(String text, long otherwise) {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }

    @Override
    public String toString() {
        return "LiveProcess[pid=" + pid + ", machine=" + machine.arch + "]";
    }
}
