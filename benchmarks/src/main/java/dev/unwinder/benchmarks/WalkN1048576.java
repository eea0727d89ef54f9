package dev.unwinder.benchmarks;

import org.openjdk.jmh.annotations.OperationsPerInvocation;

/** {@link WalkBenchmark} over 1048576 frames, 1 walk per invocation; scores are per frame. */
@OperationsPerInvocation(WalkN1048576.FRAMES * WalkN1048576.WALKS)
public class WalkN1048576 extends WalkBenchmark {
    static final int FRAMES = 1048576;
    static final int WALKS = 1;

    /** Creates the benchmark; JMH calls this. */
    public WalkN1048576() {}

    @Override
    protected int frames() {
        return FRAMES;
    }

    @Override
    protected int walks() {
        return WALKS;
    }
}
