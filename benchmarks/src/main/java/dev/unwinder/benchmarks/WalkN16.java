package dev.unwinder.benchmarks;

import org.openjdk.jmh.annotations.OperationsPerInvocation;

/** {@link WalkBenchmark} over 16 frames; scores are per frame. */
@OperationsPerInvocation(WalkN16.FRAMES)
public class WalkN16 extends WalkBenchmark {
    static final int FRAMES = 16;

    /** Creates the benchmark; JMH calls this. */
    public WalkN16() {}

    @Override
    protected int frames() {
        return FRAMES;
    }
}
