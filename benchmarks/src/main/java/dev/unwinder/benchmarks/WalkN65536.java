package dev.unwinder.benchmarks;

import org.openjdk.jmh.annotations.OperationsPerInvocation;

/** {@link WalkBenchmark} over 65536 frames; scores are per frame. */
@OperationsPerInvocation(WalkN65536.FRAMES)
public class WalkN65536 extends WalkBenchmark {
    static final int FRAMES = 65536;

    /** Creates the benchmark; JMH calls this. */
    public WalkN65536() {}

    @Override
    protected int frames() {
        return FRAMES;
    }
}
