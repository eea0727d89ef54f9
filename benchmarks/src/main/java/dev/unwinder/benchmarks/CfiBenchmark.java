package dev.unwinder.benchmarks;

import dev.unwinder.api.StackMemory;
import dev.unwinder.arch.x86_64.X86_64Unwind;
import dev.unwinder.elf.CfiWalk;
import dev.unwinder.elf.Demangler;
import dev.unwinder.elf.ModuleMap;
import dev.unwinder.elf.ProcessModules;
import dev.unwinder.elf.SymbolFiles;
import dev.unwinder.livestack.LiveChain;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * unwinder's {@link CfiWalk} against libunwind's {@code unw_backtrace()} and glibc's
 * {@code backtrace()} on the same live native stack of about 100 frames, which passes through the
 * C library's {@code qsort} (no frame pointers): {@link LiveChain} with {@value #LEVELS} levels,
 * from {@code chain_point} up to {@code live_chain} and the return address into the JVM's downcall
 * stub, {@value #FRAMES} frames.
 *
 * <p>At {@code chain_point} each method lists the frames {@value #REPS} times: {@link #cfiWalk} in
 * a Java upcall, from the registers {@code chain_point} captured, with this process's modules; the
 * others in a C function ({@code bench_chain.c}) that {@code chain_point} calls, so their listings
 * have one frame more, the C function's own ({@value #C_FRAMES} frames). Scores are per frame
 * listed ({@code @OperationsPerInvocation}); {@link #chainOnly} is the chain with an action that
 * lists nothing, per frame of {@link #cfiWalk}, to show the part of each score that is the chain's
 * (the chain's {@value #LEVELS} {@code qsort} calls and the upcall). {@link #setUp} checks that
 * every method lists the same frames: the same pcs from {@code chain_point}'s caller on.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class CfiBenchmark {
    /** The chain's levels: each adds {@code chain_level}, two C library frames and the comparator. */
    static final int LEVELS = 24;
    /** The frames CfiWalk lists: {@code chain_point}, 4 per level, {@code live_chain} and the stub's. */
    static final int FRAMES = 4 * LEVELS + 3;
    /** The frames the C methods list: their own, then the same {@value #FRAMES}. */
    static final int C_FRAMES = FRAMES + 1;
    /** Listings per chain. */
    static final int REPS = 100;

    private Arena arena;
    private LiveChain chain;
    private ModuleMap modules;
    private CfiWalk walker;
    private MemorySegment noop;
    private MemorySegment backtrace;
    private MemorySegment unwBacktrace;
    private MethodHandle configure;
    private MethodHandle count;
    private MethodHandle pcAt;
    private final long[] registers = new long[LiveChain.REGISTERS];
    private LiveChain.AtPoint walkAll;

    /** Creates the benchmark; JMH calls this. */
    public CfiBenchmark() {}

    /**
     * Loads the libraries and this process's modules, and checks that the three methods list the
     * same frames.
     *
     * @param bh the blackhole the walks hand frames to
     * @throws Throwable if a handle fails or the listings differ
     */
    @Setup(Level.Trial)
    public void setUp(Blackhole bh) throws Throwable {
        if (!LiveChain.isSupported()) {
            throw new IllegalStateException("CfiBenchmark needs an x86_64 host");
        }
        chain = LiveChain.load();
        Linker linker = Linker.nativeLinker();
        var bench = NativeSegments.library(NativeSegments.benchLibrary());
        noop = bench.findOrThrow("bench_chain_noop");
        backtrace = bench.findOrThrow("bench_chain_backtrace");
        unwBacktrace = bench.findOrThrow("bench_chain_unw_backtrace");
        configure = NativeSegments.downcall(linker, bench.findOrThrow("bench_chain_configure"),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        count = NativeSegments.downcall(linker, bench.findOrThrow("bench_chain_count"),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG));
        pcAt = NativeSegments.downcall(linker, bench.findOrThrow("bench_chain_pc"),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
        arena = Arena.ofShared();
        modules = ProcessModules.self(SymbolFiles.of(arena, null, List.of(SymbolFiles.DEFAULT_DEBUG_DIRECTORY),
                List.of(), Demangler.none())).modules();
        walker = new CfiWalk(new X86_64Unwind(), modules, arena);
        CfiWalk.Visitor visitor = (index, pc, sp, how) -> {
            bh.consume(pc);
            return true;
        };
        walkAll = context -> {
            context.registers(registers);
            StackMemory stack = context.stack();
            long pc = context.pc();
            for (int i = 0; i < REPS; i++) {
                bh.consume(walker.walk(pc, registers, stack, FRAMES, visitor));
            }
        };
        verify();
        if ((long) configure.invokeExact(REPS, C_FRAMES) != 0) {
            throw new IllegalStateException("bench_chain_configure refused");
        }
    }

    /** Closes the arena the modules' files are mapped into. */
    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    private void verify() throws Throwable {
        if ((long) configure.invokeExact(1, C_FRAMES) != 0) {
            throw new IllegalStateException("bench_chain_configure refused");
        }
        List<Long> walked = new ArrayList<>();
        List<Long> oracle = new ArrayList<>();
        CfiWalk.End[] end = new CfiWalk.End[1];
        chain.run(LEVELS, true, context -> {
            long[] own = new long[LiveChain.REGISTERS];
            context.registers(own);
            end[0] = walker.walk(context.pc(), own, context.stack(), FRAMES, (index, pc, sp, how) -> walked.add(pc));
            for (int i = 0; i < context.oracleCount(); i++) {
                oracle.add(context.oraclePc(i));
            }
        });
        List<Long> unw = listing(unwBacktrace, "unw_backtrace");
        List<Long> bt = listing(backtrace, "backtrace");
        if (walked.size() != FRAMES || end[0] != CfiWalk.End.MAX_FRAMES) {
            throw new IllegalStateException("CfiWalk listed " + walked.size() + " frames, ending " + end[0] + ": "
                    + describe(walked) + " (expected: " + FRAMES + ", as the oracle " + describe(oracle) + ")");
        }
        // From chain_point's caller on, every listing has the same pcs; the C ones have their own frame first.
        List<Long> same = walked.subList(1, FRAMES);
        if (!same.equals(oracle.subList(1, FRAMES)) || !same.equals(unw.subList(2, C_FRAMES))
                || !same.equals(bt.subList(2, C_FRAMES))) {
            throw new IllegalStateException("listings differ: CfiWalk " + describe(walked) + ", unw_backtrace "
                    + describe(unw) + ", backtrace " + describe(bt) + ", oracle " + describe(oracle));
        }
        if (!name(walked.get(0)).equals("chain_point") || !name(unw.get(1) - 1).equals("chain_point")
                || !name(bt.get(1) - 1).equals("chain_point") || !name(walked.get(FRAMES - 2) - 1).equals("live_chain")) {
            throw new IllegalStateException("frames in the wrong functions: CfiWalk " + describe(walked)
                    + ", unw_backtrace " + describe(unw) + ", backtrace " + describe(bt));
        }
    }

    private List<Long> listing(MemorySegment action, String what) throws Throwable {
        chain.run(LEVELS, false, action);
        long n = (long) count.invokeExact();
        if (n != C_FRAMES) {
            throw new IllegalStateException(what + " listed " + n + " frames (expected: " + C_FRAMES + ")"
                    + (n < 0 ? ": libbench-native.so was built without libunwind (install libunwind-dev)" : ""));
        }
        List<Long> pcs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            pcs.add((long) pcAt.invokeExact(i));
        }
        return pcs;
    }

    private String name(long address) {
        String name = modules.symbolName(address);
        return name == null ? "?" : name;
    }

    private String describe(List<Long> pcs) {
        StringBuilder text = new StringBuilder("[");
        for (int i = 0; i < pcs.size(); i++) {
            text.append(i == 0 ? "" : ", ").append(String.format("0x%x %s", pcs.get(i), name(pcs.get(i) - 1)));
        }
        return text.append(']').toString();
    }

    /**
     * {@value #REPS} walks with {@link CfiWalk} from {@code chain_point}'s registers, in a Java upcall.
     *
     * @return the levels
     */
    @Benchmark
    @OperationsPerInvocation(REPS * FRAMES)
    public long cfiWalk() {
        return chain.run(LEVELS, false, walkAll);
    }

    /**
     * {@value #REPS} listings with libunwind's {@code unw_backtrace()}, from C at {@code chain_point}.
     *
     * @return the levels
     */
    @Benchmark
    @OperationsPerInvocation(REPS * C_FRAMES)
    public long unwBacktrace() {
        return chain.run(LEVELS, false, unwBacktrace);
    }

    /**
     * {@value #REPS} listings with glibc's {@code backtrace()}, from C at {@code chain_point}.
     *
     * @return the levels
     */
    @Benchmark
    @OperationsPerInvocation(REPS * C_FRAMES)
    public long backtrace() {
        return chain.run(LEVELS, false, backtrace);
    }

    /**
     * The chain with a C action that lists nothing: the part of each score that is not the listing.
     *
     * @return the levels
     */
    @Benchmark
    @OperationsPerInvocation(REPS * FRAMES)
    public long chainOnly() {
        return chain.run(LEVELS, false, noop);
    }

    /**
     * The same, with a Java upcall that does nothing: the part of {@link #cfiWalk}'s score that is not
     * the walk.
     *
     * @return the levels
     */
    @Benchmark
    @OperationsPerInvocation(REPS * FRAMES)
    public long chainOnlyUpcall() {
        return chain.run(LEVELS, false, context -> { });
    }
}
