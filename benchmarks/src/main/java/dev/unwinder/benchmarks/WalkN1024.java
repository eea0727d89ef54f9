package dev.unwinder.benchmarks;

import org.openjdk.jmh.annotations.OperationsPerInvocation;

/** {@link WalkBenchmark} over 1024 frames, 16 walks per invocation; scores are per frame. */
@OperationsPerInvocation(WalkN1024.FRAMES * WalkN1024.WALKS)
public class WalkN1024 extends WalkBenchmark {
    static final int FRAMES = 1024;
    static final int WALKS = 16;

    /** Creates the benchmark; JMH calls this. */
    public WalkN1024() {}

    @Override
    protected int frames() {
        return FRAMES;
    }

    @Override
    protected int walks() {
        return WALKS;
    }
}
