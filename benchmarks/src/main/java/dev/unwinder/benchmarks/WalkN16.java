package dev.unwinder.benchmarks;

import org.openjdk.jmh.annotations.OperationsPerInvocation;

/** {@link WalkBenchmark} over 16 frames, 1024 walks per invocation; scores are per frame. */
@OperationsPerInvocation(WalkN16.FRAMES * WalkN16.WALKS)
public class WalkN16 extends WalkBenchmark {
    static final int FRAMES = 16;
    static final int WALKS = 1024;

    /** Creates the benchmark; JMH calls this. */
    public WalkN16() {}

    @Override
    protected int frames() {
        return FRAMES;
    }

    @Override
    protected int walks() {
        return WALKS;
    }
}
