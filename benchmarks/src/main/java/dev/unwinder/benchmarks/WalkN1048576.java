package dev.unwinder.benchmarks;

import org.openjdk.jmh.annotations.OperationsPerInvocation;

/** {@link WalkBenchmark} over 1048576 frames; scores are per frame. */
@OperationsPerInvocation(WalkN1048576.FRAMES)
public class WalkN1048576 extends WalkBenchmark {
    static final int FRAMES = 1048576;

    /** Creates the benchmark; JMH calls this. */
    public WalkN1048576() {}

    @Override
    protected int frames() {
        return FRAMES;
    }
}
