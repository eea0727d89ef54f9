package dev.unwinder.benchmarks;

import org.openjdk.jmh.annotations.OperationsPerInvocation;

/** {@link WalkBenchmark} over 65536 frames, 1 walk per invocation; scores are per frame. */
@OperationsPerInvocation(WalkN65536.FRAMES * WalkN65536.WALKS)
public class WalkN65536 extends WalkBenchmark {
    static final int FRAMES = 65536;
    static final int WALKS = 1;

    /** Creates the benchmark; JMH calls this. */
    public WalkN65536() {}

    @Override
    protected int frames() {
        return FRAMES;
    }

    @Override
    protected int walks() {
        return WALKS;
    }
}
