package dev.unwinder.benchmarks;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.Frame;
import dev.unwinder.api.FrameVisitor;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.core.LenientWalk;
import dev.unwinder.core.StackWalk;
import dev.unwinder.core.Unwinders;
import dev.unwinder.core.WalkEnd;
import dev.unwinder.testkit.SyntheticStack;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Iterator;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Walks a {@link SyntheticStack} of {@link #frames()} frames with each entry point of the walker,
 * with the plain-Java {@link Baseline} and with the C {@link Floor}, in the same run. Every
 * invocation makes {@link #walks()} walks, so that JMH's cost per invocation weighs nothing even at
 * N = 16, and every method reports time per frame: the concrete subclasses fix N and the walks
 * and declare their product as {@code @OperationsPerInvocation}.
 *
 * <p>Each Java method hands every frame's pc and fp to the {@link Blackhole}, the floor hands them
 * to an empty asm statement, so all do the same per-frame work beyond the walk itself. The strict
 * walks run to the entry frame's fp (the entry fp); the lenient walk is given that fp as its entry
 * fp, so every method visits exactly N frames per walk, which {@link #setUp} checks before
 * measuring.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
// Transparent huge pages for the Java heap: at 1,048,576 frames (150 to 200 MB) the walk is bound by
// TLB misses on 4 KiB pages, whose cost changed by up to 2x from fork to fork with the same code.
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx3g",
        "-XX:+UseTransparentHugePages", "-XX:+AlwaysPreTouch"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public abstract class WalkBenchmark {

    /** The plugin, by name: every plugin of the release. */
    @Param({"x86_64", "aarch64", "riscv64", "riscv64-cranelift", "s390x"})
    public String arch;

    /** Where the stack lives: {@code heap} (a byte array) or {@code native} (off-heap, read through FFM). */
    @Param({"heap", "native"})
    public String memory;

    private Arena arena;
    private Unwind unwind;
    private StackMemory stackMemory;
    private byte[] heapBytes;
    private MemorySegment nativeSegment;
    private boolean absolute;
    private Baseline baseline;
    private Floor floor;
    private int walks;
    private long pc;
    private long fp;
    private long entryFp;
    private FrameVisitor<Void> visitor;

    /** Creates the benchmark; JMH calls this. */
    protected WalkBenchmark() {}

    /**
     * Returns N, the number of frames of every walk; it must equal the subclass's
     * {@code @OperationsPerInvocation}.
     *
     * @return the number of frames
     */
    protected abstract int frames();

    /**
     * Returns how many walks one invocation makes; N times this must equal the subclass's
     * {@code @OperationsPerInvocation}.
     *
     * @return the walks per invocation
     */
    protected abstract int walks();

    /**
     * Builds the stack and checks that every method walks exactly N frames to the same result.
     *
     * @param bh the blackhole the visitor hands frames to
     */
    @Setup(Level.Trial)
    public void setUp(Blackhole bh) {
        unwind = Unwinders.forArch(arch);
        int n = frames();
        walks = walks();
        arena = Arena.ofShared();
        SyntheticStack stack;
        MemorySegment floorBytes;
        switch (memory) {
            case "heap" -> {
                stack = SyntheticStack.generate(unwind, n);
                heapBytes = stack.bytes();
                stackMemory = StackMemory.ofBytes(heapBytes, stack.baseAddress(), unwind.byteOrder());
                floorBytes = MemorySegment.ofArray(heapBytes);
            }
            case "native" -> {
                SyntheticStack.Native inNative = SyntheticStack.inNativeMemory(unwind, n, SyntheticStack.SIZE_SEED, arena);
                stack = inNative.stack();
                absolute = unwind.byteOrder().equals(ByteOrder.nativeOrder());
                // A native-order stack is read as live frames are, through a global-scope view of
                // the arena's memory (StackMemory.ofNative's absolute-address path; the baseline's
                // chaseAbsolute reads the same way). A foreign-order stack is StackMemory.ofSegment
                // over the arena's segment.
                stackMemory = absolute ? StackMemory.ofNative(NativeSegments.globalView(inNative.segment()))
                        : inNative.memory();
                nativeSegment = inNative.segment();
                floorBytes = nativeSegment;
            }
            default -> throw new IllegalArgumentException("memory: " + memory + " (expected: heap or native)");
        }
        pc = stack.pc(0);
        fp = stack.fp(0);
        entryFp = stack.entryFp();
        baseline = new Baseline(unwind, stack.baseAddress(), stackMemory.size());
        floor = new Floor(unwind, floorBytes, stack.baseAddress(), arena);
        visitor = frame -> {
            bh.consume(frame.pc());
            bh.consume(frame.fp());
            return ControlFlow.continueWalk();
        };
        verify(stack, n);
    }

    private void verify(SyntheticStack stack, int n) {
        long[] sum = new long[2];
        FrameVisitor<Void> summing = frame -> {
            sum[0]++;
            sum[1] += frame.pc() * 31 + frame.fp();
            return ControlFlow.continueWalk();
        };
        long expected = 0;
        for (int i = 0; i < n; i++) {
            expected += stack.pc(i) * 31 + stack.fp(i);
        }
        StackWalk.visitFrames(unwind, stackMemory, pc, fp, entryFp, summing);
        check("visitFrames", n, expected, sum);
        sum[0] = 0;
        sum[1] = 0;
        LenientWalk<Void> lenient = StackWalk.visitFramesLenient(unwind, stackMemory, pc, fp, entryFp, Integer.MAX_VALUE, summing);
        check("visitFramesLenient", n, expected, sum);
        if (lenient.end() != WalkEnd.ENTRY_FP_REACHED || lenient.frameCount() != n) {
            throw new IllegalStateException("visitFramesLenient ended " + lenient);
        }
        sum[0] = 0;
        sum[1] = 0;
        for (Iterator<Frame> it = StackWalk.frameIterator(unwind, stackMemory, pc, fp, entryFp); it.hasNext(); ) {
            summing.visit(it.next());
        }
        check("frameIterator", n, expected, sum);
        Blackhole quiet = new Blackhole("Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
        long chased = baseline(quiet);
        quiet.evaporate("Yes, I am Stephen Hawking, and know a thing or two about black holes.");
        if (chased != (long) n * walks) {
            throw new IllegalStateException("baseline walked " + chased + " frames (expected: " + n + " x " + walks
                    + ")");
        }
        long floored = floor();
        if (floored != (long) n * walks) {
            throw new IllegalStateException("the floor walked " + floored + " frames (expected: " + n + " x " + walks
                    + ")");
        }
    }

    private static void check(String method, int n, long expected, long[] sum) {
        if (sum[0] != n || sum[1] != expected) {
            throw new IllegalStateException(method + " walked " + sum[0] + " frames with checksum " + sum[1]
                    + " (expected: " + n + " frames with checksum " + expected + ")");
        }
    }

    /** Frees the native stack. */
    @TearDown(Level.Trial)
    public void tearDown() {
        if (arena != null) {
            arena.close();
            arena = null;
        }
    }

    /**
     * The plain-Java pointer chase over the same bytes, with the same checks, {@link #walks()} times.
     *
     * @param bh receives each frame's pc and fp
     * @return the number of frames
     */
    @Benchmark
    public long baseline(Blackhole bh) {
        long frames = 0;
        for (int w = 0; w < walks; w++) {
            if (heapBytes != null) {
                frames += baseline.chase(heapBytes, pc, fp, entryFp, bh);
            } else if (absolute) {
                frames += baseline.chaseAbsolute(pc, fp, entryFp, bh);
            } else {
                frames += baseline.chase(nativeSegment, pc, fp, entryFp, bh);
            }
        }
        return frames;
    }

    /**
     * The C walk over the same bytes, {@link #walks()} times in one downcall.
     *
     * @return the number of frames
     */
    @Benchmark
    public long floor() {
        return floor.walk(pc, fp, entryFp, walks);
    }

    /**
     * The strict walk with a visitor, {@link #walks()} times.
     *
     * @param bh receives each walk's result
     */
    @Benchmark
    public void visitFrames(Blackhole bh) {
        for (int w = 0; w < walks; w++) {
            bh.consume(StackWalk.visitFrames(unwind, stackMemory, pc, fp, entryFp, visitor));
        }
    }

    /**
     * The lenient walk with a visitor, stopping at the entry frame's fp, {@link #walks()} times.
     *
     * @param bh receives each walk's result
     */
    @Benchmark
    public void lenient(Blackhole bh) {
        for (int w = 0; w < walks; w++) {
            bh.consume(StackWalk.visitFramesLenient(unwind, stackMemory, pc, fp, entryFp, Integer.MAX_VALUE, visitor));
        }
    }

    /**
     * The strict walk as an iterator of frame snapshots, {@link #walks()} times.
     *
     * @param bh receives each frame's pc and fp
     */
    @Benchmark
    public void frameIterator(Blackhole bh) {
        for (int w = 0; w < walks; w++) {
            Iterator<Frame> frames = StackWalk.frameIterator(unwind, stackMemory, pc, fp, entryFp);
            while (frames.hasNext()) {
                Frame frame = frames.next();
                bh.consume(frame.pc());
                bh.consume(frame.fp());
            }
        }
    }
}
