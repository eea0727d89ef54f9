package dev.unwinder.cli;

import dev.unwinder.api.Registers;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.api.UnwindException;
import dev.unwinder.elf.CfiWalk;
import dev.unwinder.elf.ElfException;
import dev.unwinder.elf.Module;
import dev.unwinder.elf.ModuleMap;
import dev.unwinder.elf.ProcessModules;
import dev.unwinder.process.LiveProcess;
import dev.unwinder.process.ProcessException;
import java.lang.foreign.Arena;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import java.util.function.LongFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code unwinder stack PID [--freeze] [--format text|json]}: walks every thread of a live process. */
@Command(
        name = "stack",
        description = "Walks every thread of a live process of this machine, as core walks a core: each thread is"
                + " stopped (ptrace, no SIGSTOP) only while its registers and stack are copied, one thread at a time"
                + " unless --freeze stops them all first; the walk runs on the copy, with the modules of"
                + " /proc/PID/maps and their call-frame information, and names JIT code from /tmp/perf-PID.map."
                + " The process is never left stopped.")
final class StackCommand implements Callable<Integer> {
    /** The most bytes of a thread's stack copied, from sp up. */
    static final long MAX_STACK_BYTES = 8L << 20;

    @Parameters(index = "0", paramLabel = "PID", description = "The process id.")
    long pid;

    @Option(names = "--freeze",
            description = "Stop every thread before copying any, for one consistent snapshot (by default one thread is"
                    + " stopped at a time).")
    boolean freeze;

    @Option(names = "--timings",
            description = "Print to stderr where the time went: reading the modules, capturing the threads (with the"
                    + " longest stop, and the longest time from an interrupt to its detach), walking and printing.")
    boolean timings;

    @Mixin
    WalkOptions options = new WalkOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws BadInputException, ElfException {
        options.check();
        LiveProcess process;
        try {
            process = LiveProcess.open(pid);
        } catch (ProcessException e) {
            throw new BadInputException(e.getMessage(), e);
        }
        Unwind unwind = CoreCommand.plugin(process.machine().arch, "process " + pid);
        try (Arena arena = Arena.ofConfined()) {
            long start = System.nanoTime();
            // From the JVM's own record of its start: its boot, the module system, and the options' parsing.
            long launched = (System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime()) * 1_000_000L;
            // Modules and symbols first: nothing is stopped while files are read.
            ProcessModules modules = ProcessModules.of(pid, options.symbolFiles(arena));
            List<Module> all = new ArrayList<>(modules.modules().modules());
            all.addAll(options.perfMaps());
            ModuleMap map = ModuleMap.of(all);
            Symbolizer symbolizer = new Symbolizer(map);
            LiveProcess.Snapshot snapshot;
            long loaded = System.nanoTime();
            try {
                snapshot = process.capture(freeze, MAX_STACK_BYTES, arena);
            } catch (ProcessException e) {
                throw new BadInputException(e.getMessage(), e);
            }
            long captured = System.nanoTime();
            CfiWalk walker = options.fpOnly ? null : Backtrace.cfiWalker(unwind, map, arena);
            LongFunction<StackMemory> code = process.code(arena);
            List<Backtrace> backtraces = new ArrayList<>();
            Map<Integer, Long> stopped = new LinkedHashMap<>();
            long longestInterrupt = 0;
            for (LiveProcess.ThreadStack thread : snapshot.threads()) {
                long sp = thread.dwarfRegisters()[unwind.stackPointerRegister()];
                long micros = thread.stoppedNanos() / 1000;
                stopped.put(thread.tid(), micros);
                longestInterrupt = Math.max(longestInterrupt, thread.interruptedNanos() / 1000);
                String header = String.format("Thread %d \"%s\" (%s): pc 0x%x, sp 0x%x; stack copied [0x%x, 0x%x),"
                                + " stopped %d us", thread.tid(), thread.name(), unwind.name(), thread.pc(), sp,
                        thread.stack().baseAddress(), thread.stack().baseAddress() + thread.stack().size(), micros);
                if (walker != null) {
                    backtraces.add(Backtrace.cfi(OptionalInt.of(thread.tid()), header, unwind.name(), walker,
                            thread.stack(), code, thread.pc(), thread.dwarfRegisters(), options.maxFrames, symbolizer));
                } else {
                    long fp;
                    try {
                        fp = unwind.startFp(Registers.of(thread.pc(), thread.dwarfRegisters()), thread.stack());
                    } catch (UnwindException e) {
                        fp = 0; // s390x's backchain word outside the copy: the walk gives the first frame, and says so
                    }
                    backtraces.add(Backtrace.lenient(OptionalInt.of(thread.tid()), header + String.format(", fp 0x%x", fp),
                            unwind, thread.stack(), thread.pc(), fp, options.maxFrames, symbolizer));
                }
            }
            List<String> problems = new ArrayList<>(modules.problems());
            problems.addAll(snapshot.notes());
            long walked = System.nanoTime();
            options.format.print(new OutputFormat.Report(backtraces, map.modules(), problems, stopped),
                    spec.commandLine().getOut());
            spec.commandLine().getOut().flush();
            if (timings) {
                long longest = stopped.values().stream().mapToLong(Long::longValue).max().orElse(0);
                spec.commandLine().getErr().printf("unwinder: timings: JVM start %.0f ms, modules %.1f ms (%d),"
                                + " capture %.1f ms (%d threads, longest stop %d us, longest from interrupt to detach"
                                + " %d us), walk %.1f ms, print %.1f ms%n",
                        launched / 1e6, (loaded - start) / 1e6, map.modules().size(), (captured - loaded) / 1e6,
                        snapshot.threads().size(), longest, longestInterrupt, (walked - captured) / 1e6,
                        (System.nanoTime() - walked) / 1e6);
                spec.commandLine().getErr().flush();
            }
        }
        return Cli.OK;
    }
}
