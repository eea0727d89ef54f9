package dev.unwinder.benchmarks;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.FrameVisitor;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.core.LenientWalk;
import dev.unwinder.core.StackWalk;
import dev.unwinder.core.Unwinders;
import dev.unwinder.core.WalkEnd;
import dev.unwinder.livestack.LiveStack;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * glibc's {@code backtrace()} against unwinder's walk of the same live C stack, built by
 * {@link LiveStack}: {@code live_descend} recurses {@link #depth} levels and calls back at the
 * bottom, where {@code depth + 1} C frames are live. Scores are per descent; the per-frame cost is
 * a difference of two scores of this run divided by {@code depth + 1}:
 * <ul>
 *   <li>backtrace: ({@link #nativeBacktrace} - {@link #nativeNoop}) / (depth + 1). Both call
 *       {@code live_descend} through a downcall with a C callback, so they differ only by the
 *       {@code backtrace()} call. (backtrace() unwinds by DWARF CFI and cannot cross the JVM's
 *       upcall stub and JIT frames, so it must run on the C side.)
 *   <li>unwinder: ({@link #upcallVisitFrames} - {@link #upcallNoop}) / (depth + 1), likewise for
 *       {@link #upcallLenient}. Both descend through {@link LiveStack#descend}, whose callback is a
 *       Java upcall; they differ only by the walk inside it.
 * </ul>
 * backtrace() also lists the callback's frame and {@code live_descend}'s, two more than unwinder
 * walks; {@link #setUp} checks both counts.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xss16m"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class LiveBenchmark {
    /** The number of recursion levels; the walk covers {@code depth + 1} frames. */
    @Param({"16", "1024"})
    public int depth;

    private LiveStack live;
    private Unwind unwind;
    private MethodHandle descend;
    private MethodHandle lastCount;
    private MemorySegment noop;
    private MemorySegment backtrace;
    private LiveStack.AtBottom upcallNoop;
    private LiveStack.AtBottom upcallVisit;
    private LiveStack.AtBottom upcallLenient;

    /** Creates the benchmark; JMH calls this. */
    public LiveBenchmark() {}

    /**
     * Loads both libraries, links the handles, and checks the frame counts of both walks.
     *
     * @param bh the blackhole the walks hand frames to
     * @throws Throwable if a handle fails
     */
    @Setup(Level.Trial)
    public void setUp(Blackhole bh) throws Throwable {
        live = LiveStack.load();
        unwind = Unwinders.host();
        Linker linker = Linker.nativeLinker();
        SymbolLookup liveSymbols = NativeSegments.library(live.library());
        descend = NativeSegments.downcall(linker, liveSymbols.findOrThrow("live_descend"),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        SymbolLookup bench = NativeSegments.library(NativeSegments.benchLibrary());
        noop = bench.findOrThrow("bench_at_bottom_noop");
        backtrace = bench.findOrThrow("bench_at_bottom_backtrace");
        lastCount = NativeSegments.downcall(linker, bench.findOrThrow("bench_last_count"),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG));

        FrameVisitor<Void> visitor = frame -> {
            bh.consume(frame.pc());
            bh.consume(frame.fp());
            return ControlFlow.continueWalk();
        };
        upcallNoop = (pc, fp, entryFp) -> bh.consume(fp);
        upcallVisit = (pc, fp, entryFp) -> {
            StackMemory stack = LiveStack.stackBetween(unwind, fp, entryFp);
            bh.consume(StackWalk.visitFrames(unwind, stack, pc, fp, entryFp, visitor));
        };
        upcallLenient = (pc, fp, entryFp) -> {
            StackMemory stack = LiveStack.stackBetween(unwind, fp, entryFp);
            bh.consume(StackWalk.visitFramesLenient(unwind, stack, pc, fp, entryFp, Integer.MAX_VALUE, visitor));
        };
        verify();
    }

    private void verify() throws Throwable {
        long frames = (long) descend.invokeExact(depth, backtrace);
        long listed = (long) lastCount.invokeExact();
        if (frames != depth + 1 || listed < depth + 1) {
            throw new IllegalStateException("backtrace() listed " + listed + " frames of a descent of " + frames
                    + " (expected: at least " + (depth + 1) + ")");
        }
        int[] walked = new int[2];
        LenientWalk<?>[] lenient = new LenientWalk<?>[1];
        live.descend(depth, (pc, fp, entryFp) -> {
            StackMemory stack = LiveStack.stackBetween(unwind, fp, entryFp);
            StackWalk.visitFrames(unwind, stack, pc, fp, entryFp, frame -> {
                walked[0]++;
                return ControlFlow.continueWalk();
            });
            lenient[0] = StackWalk.visitFramesLenient(unwind, stack, pc, fp, entryFp, Integer.MAX_VALUE,
                    frame -> ControlFlow.continueWalk());
        });
        if (walked[0] != depth + 1 || lenient[0].frameCount() != depth + 1
                || lenient[0].end() != WalkEnd.ENTRY_FP_REACHED) {
            throw new IllegalStateException("unwinder walked " + walked[0] + " frames strictly and " + lenient[0]
                    + " leniently (expected: " + (depth + 1) + ", ending at the entry fp)");
        }
    }

    /**
     * (a) The descent with a C callback that does nothing.
     *
     * @return the frame count
     * @throws Throwable if the downcall fails
     */
    @Benchmark
    public long nativeNoop() throws Throwable {
        return (long) descend.invokeExact(depth, noop);
    }

    /**
     * (b) The descent with a C callback that calls glibc's {@code backtrace()}.
     *
     * @return the frame count
     * @throws Throwable if the downcall fails
     */
    @Benchmark
    public long nativeBacktrace() throws Throwable {
        return (long) descend.invokeExact(depth, backtrace);
    }

    /**
     * (a') The descent with a Java callback that does nothing.
     *
     * @return the frame count
     */
    @Benchmark
    public long upcallNoop() {
        return live.descend(depth, upcallNoop);
    }

    /**
     * (c) The descent with a Java callback that walks the C frames with {@code visitFrames}.
     *
     * @return the frame count
     */
    @Benchmark
    public long upcallVisitFrames() {
        return live.descend(depth, upcallVisit);
    }

    /**
     * (c') The descent with a Java callback that walks the C frames leniently.
     *
     * @return the frame count
     */
    @Benchmark
    public long upcallLenient() {
        return live.descend(depth, upcallLenient);
    }
}
