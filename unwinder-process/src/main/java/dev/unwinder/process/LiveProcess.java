package dev.unwinder.process;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.unwinder.api.StackMemory;
import dev.unwinder.elf.ElfException;
import dev.unwinder.elf.Machine;
import dev.unwinder.elf.ProcessMaps;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
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
     * @param stoppedNanos how long it was stopped, at most: from the last moment it was seen not
     *     stopped yet (else from the interrupt) to the detach
     * @param interruptedNanos from the interrupt to the detach: {@code stoppedNanos} and the time
     *     before, in which the thread was woken and waited for a CPU to reach the stop
     */
    public record ThreadStack(int tid, String name, long pc, long[] dwarfRegisters, StackMemory stack,
                              long stoppedNanos, long interruptedNanos) {}

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
     * <p>Before it stops the first thread, it runs the stop's code on nothing and waits until this
     * JVM's JIT compiler is idle (a few milliseconds, at most about 25), so that a stop is not
     * slowed by code being loaded, linked or compiled.
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
        Buffers buffers = new Buffers(maxStackBytes);
        warmUp(linux, maps, buffers, arena);
        awaitCompilerIdle();
        List<Integer> tids = threadIds();
        List<ThreadStack> threads = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        if (freeze) {
            List<Integer> seized = new ArrayList<>();
            long[] since = new long[tids.size()];
            long[] running = new long[tids.size()];
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
                    pending[i] = awaitStop(linux, tid, since[i], buffers, notes);
                    running[i] = buffers.running;
                    if (pending[i] >= 0 && grab(linux, tid, maps, buffers, notes)) {
                        threads.add(keep(tid, buffers, arena, 0, 0));
                    }
                }
            } finally {
                for (int i = 0; i < seized.size(); i++) {
                    linux.ptrace(Linux.PTRACE_DETACH, seized.get(i), 0, Math.max(pending[i], 0));
                }
            }
            // Each thread was stopped until the detach of them all.
            long detached = System.nanoTime();
            for (int i = 0; i < threads.size(); i++) {
                ThreadStack t = threads.get(i);
                int at = seized.indexOf(t.tid());
                threads.set(i, new ThreadStack(t.tid(), t.name(), t.pc(), t.dwarfRegisters(), t.stack(),
                        detached - running[at], detached - since[at]));
            }
        } else {
            for (int tid : tids) {
                if (!seize(linux, tid, notes)) {
                    continue;
                }
                long since = System.nanoTime();
                int pending = -1;
                boolean grabbed = false;
                try {
                    linux.ptrace(Linux.PTRACE_INTERRUPT, tid, 0, 0);
                    pending = awaitStop(linux, tid, since, buffers, notes);
                    grabbed = pending >= 0 && grab(linux, tid, maps, buffers, notes);
                } finally {
                    linux.ptrace(Linux.PTRACE_DETACH, tid, 0, Math.max(pending, 0));
                }
                long detached = System.nanoTime();
                if (grabbed) {
                    threads.add(keep(tid, buffers, arena, detached - buffers.running, detached - since));
                }
            }
        }
        // Names are read after the threads run again: a file read has no place in a stop.
        threads.replaceAll(t -> new ThreadStack(t.tid(), threadName(t.tid()), t.pc(), t.dwarfRegisters(), t.stack(),
                t.stoppedNanos(), t.interruptedNanos()));
        return new Snapshot(List.copyOf(threads), List.copyOf(notes));
    }

    /** The smallest stack buffer a capture starts with; it grows to the largest stack copied. */
    private static final long FIRST_BUFFER_BYTES = 64 * 1024;

    /**
     * What a stop writes into, allocated and touched before any thread stops, so that a stop runs
     * system calls and arithmetic only: no allocation of native memory, and no first touch of its
     * pages (a page fault each) while a thread waits. After the detach, {@link #keep} copies the
     * stack into memory of its own size.
     */
    private final class Buffers {
        final MemorySegment registers = Arena.ofAuto().allocate(JAVA_LONG, machine.registerWords);
        /** The stack pointer's index in {@code pr_reg}: where the machine's decoding takes it from. */
        final int spIndex;
        private final long maxStackBytes;
        MemorySegment stack;
        /**
         * When {@link #awaitStop} last saw the thread not stopped yet (a time before a check that
         * found it running), else the interrupt's: the thread stopped after it.
         */
        long running;
        /** What the last {@link #grab} read: the stack's address and bytes. */
        long stackAddress;
        long stackBytes;

        Buffers(long maxStackBytes) {
            this.maxStackBytes = maxStackBytes;
            long[] indices = new long[machine.registerWords];
            Arrays.setAll(indices, i -> i);
            spIndex = (int) machine.dwarfRegisters(indices)[stackPointer(machine)];
            stack = Arena.ofAuto().allocate(Math.max(8, Math.min(maxStackBytes, FIRST_BUFFER_BYTES)), 8);
        }

        /** A buffer of at least {@code bytes}: the one there is, else a bigger one, kept for the stacks after. */
        MemorySegment stack(long bytes) {
            if (stack.byteSize() < bytes) {
                stack = Arena.ofAuto().allocate(Math.min(maxStackBytes, Math.max(bytes, 2 * stack.byteSize())), 8);
            }
            return stack.asSlice(0, bytes);
        }
    }

    /**
     * Runs what a stop runs, on nothing, {@value #WARM_UP_ROUNDS} times: a fresh JVM (the
     * command's, which compiles with C1 only) loads, links and compiles those classes and methods
     * now, not while a thread waits stopped. A few milliseconds: each round's system calls fail at
     * once or read the 64 bytes at the top of the process's main stack.
     */
    private void warmUp(Linux linux, List<ProcessMaps.Mapping> maps, Buffers buffers, Arena arena) {
        // The top of the main thread's stack: the search of the mappings goes as far as a stop's.
        long somewhere = maps.isEmpty() ? 0 : maps.getFirst().start();
        for (ProcessMaps.Mapping mapping : maps) {
            if (mapping.path().equals("[stack]") && mapping.end() - mapping.start() >= 64) {
                somewhere = mapping.end() - 64;
            }
        }
        List<String> notes = new ArrayList<>();
        for (int round = 0; round < WARM_UP_ROUNDS; round++) {
            linux.warmUp();
            awaitStop(linux, Integer.MAX_VALUE, System.nanoTime(), buffers, notes); // fails: no such child
            // A stop by the interrupt, and one by a signal (SIGUSR1).
            signalToDeliver(0x7f | Linux.SIGTRAP << 8 | Linux.PTRACE_EVENT_STOP << 16);
            signalToDeliver(0x7f | 10 << 8);
            grab(linux, 0, maps, buffers, notes); // fails: no thread 0
            readStack(linux, somewhere, maps, 64, buffers);
            keep(0, buffers, arena, round, round);
        }
    }

    /** How long {@link #awaitCompilerIdle} waits at most. */
    private static final long COMPILER_IDLE_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    /**
     * Waits, at most {@code COMPILER_IDLE_WAIT_NANOS}, until this JVM's JIT compiler has done no
     * work for 3 ms: the warm-up has queued the stop's code for compiling, and a compiler thread that
     * compiles it while a thread of the target waits stopped takes the CPU from this one (on two
     * CPUs, a stop of 1.0 to 1.3 ms in about one fresh command of eight; 3.5 to 8 ms of waiting
     * removed it). Returns at once where the JVM does not measure its compiling time.
     */
    private static void awaitCompilerIdle() {
        CompilationMXBean compiler = ManagementFactory.getCompilationMXBean();
        if (compiler == null || !compiler.isCompilationTimeMonitoringSupported()) {
            return;
        }
        long started = System.nanoTime();
        long last = compiler.getTotalCompilationTime();
        for (int idle = 0; idle < 3 && System.nanoTime() - started < COMPILER_IDLE_WAIT_NANOS; ) {
            LockSupport.parkNanos(1_000_000);
            long now = compiler.getTotalCompilationTime();
            idle = now == last ? idle + 1 : 0;
            last = now;
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
     * Waits for a seized thread to stop after PTRACE_INTERRUPT, and notes in {@code buffers.running}
     * the last time it was seen not stopped yet.
     *
     * @param interrupted when the interrupt was sent
     * @return the signal to deliver when detaching (0 for none), or -1 if the thread exited or
     *     did not stop (with a note)
     */
    private int awaitStop(Linux linux, int tid, long interrupted, Buffers buffers, List<String> notes) {
        long running = interrupted;
        while (true) {
            long before = System.nanoTime();
            int result = linux.waitpid(tid, Linux.WNOHANG);
            if (result == tid) {
                buffers.running = running;
                int signal = signalToDeliver(linux.status());
                if (signal < 0) {
                    notes.add("thread " + tid + " exited while it was being stopped");
                }
                return signal;
            }
            // Another thread of this process may take the notification (the JDK's reaper waits on a
            // child it started): a thread whose registers can be read is stopped all the same.
            if (result == 0 && linux.registers(tid, probe) >= 0) {
                buffers.running = running;
                return 0;
            }
            if (result == -1 && linux.errno() != Linux.EINTR) {
                notes.add("thread " + tid + " exited while it was being stopped (" + Linux.message(linux.errno()) + ")");
                return -1;
            }
            // Both checks, made after `before`, found the thread not stopped: it stops later, if at all.
            running = before;
            if (before - interrupted > STOP_TIMEOUT_NANOS) {
                notes.add("thread " + tid + " did not stop within 1 s (uninterruptible sleep?); skipped");
                return -1;
            }
            // A thread stops within microseconds once it runs. For the first millisecond give up the
            // CPU (sched_yield) rather than spin: the thread woken to stop is often queued on this
            // very CPU, and a spin keeps it off until the scheduler's next tick (4 ms at 250 Hz).
            // Then sleep a little.
            if (before - interrupted < 1_000_000) {
                Thread.yield();
            } else {
                LockSupport.parkNanos(50_000);
            }
        }
    }

    /**
     * What a seized thread's status from {@code waitpid} means.
     *
     * @return -1 if it is not a stop (the thread exited), else the signal to deliver when detaching:
     *     0 for the interrupt's stop or a group stop, or the signal that stopped the thread first
     */
    static int signalToDeliver(int status) {
        if (!Linux.stopped(status)) {
            return -1;
        }
        return Linux.event(status) == Linux.PTRACE_EVENT_STOP ? 0 : Linux.stopSignal(status);
    }

    /**
     * In a stop: the thread's registers and stack into {@code buffers}; false (with a note) if its
     * registers cannot be read.
     */
    private boolean grab(Linux linux, int tid, List<ProcessMaps.Mapping> maps, Buffers buffers, List<String> notes) {
        long read = linux.registers(tid, buffers.registers);
        long sp = buffers.registers.getAtIndex(JAVA_LONG, buffers.spIndex); // even on failure: the warm-up links it
        if (read < 0) {
            if (tid != 0) {
                notes.add("thread " + tid + ": cannot read its registers: " + Linux.message(linux.errno()));
            }
            return false;
        }
        readStack(linux, sp, maps, buffers.maxStackBytes, buffers);
        return true;
    }

    /** After a stop: what {@link #grab} read, as the thread's own, its stack copied into {@code arena}. */
    private ThreadStack keep(int tid, Buffers buffers, Arena arena, long stoppedNanos, long interruptedNanos) {
        long[] prReg = buffers.registers.toArray(JAVA_LONG);
        MemorySegment stack = arena.allocate(Math.max(buffers.stackBytes, 1), 8).asSlice(0, buffers.stackBytes);
        MemorySegment.copy(buffers.stack, 0, stack, 0, buffers.stackBytes);
        return new ThreadStack(tid, "", machine.pc(prReg), machine.dwarfRegisters(prReg),
                StackMemory.ofSegment(stack, buffers.stackAddress, machine.byteOrder), stoppedNanos, interruptedNanos);
    }

    /**
     * Reads [sp, end of sp's mapping), at most maxStackBytes, into {@code buffers}; nothing if sp is
     * in no mapping.
     */
    private void readStack(Linux linux, long sp, List<ProcessMaps.Mapping> maps, long maxStackBytes, Buffers buffers) {
        long start = sp & ~7L;
        long length = 0;
        for (ProcessMaps.Mapping mapping : maps) {
            if (mapping.contains(start)) {
                length = Math.min(mapping.end() - start, maxStackBytes);
                break;
            }
        }
        MemorySegment copy = buffers.stack(length);
        long read = length == 0 ? 0 : linux.read(pid, start, copy);
        if (read < 0) {
            read = readProcMem(start, copy);
        }
        buffers.stackAddress = start;
        buffers.stackBytes = Math.max(read, 0);
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
