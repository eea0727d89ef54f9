package dev.unwinder.benchmarks;

import org.openjdk.jmh.annotations.OperationsPerInvocation;

/** {@link WalkBenchmark} over 1024 frames; scores are per frame. */
@OperationsPerInvocation(WalkN1024.FRAMES)
public class WalkN1024 extends WalkBenchmark {
    static final int FRAMES = 1024;

    /** Creates the benchmark; JMH calls this. */
    public WalkN1024() {}

    @Override
    protected int frames() {
        return FRAMES;
    }
}
