package dev.unwinder.benchmarks;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

/**
 * A JMH profiler that reports the CPU time the benchmark's worker threads spent per operation,
 * as the secondary result {@code cpu.time.norm} (ns/op; with {@code @OperationsPerInvocation(N)},
 * ns per frame).
 *
 * <p>JMH's own score is wall-clock time. On a machine shared with other builds, a worker thread
 * that the scheduler takes off its core still counts that time; its CPU time does not. The gate
 * compares CPU times, so that other processes disturb its ratios less (they still do through
 * shared caches and sibling hyper-threads). Use it from the command line with
 * {@code -prof dev.unwinder.benchmarks.ThreadCpuProfiler}.
 */
public final class ThreadCpuProfiler implements InternalProfiler {
    /** The secondary result's name. */
    public static final String RESULT = "cpu.time.norm";

    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private Map<Long, Long> before = Map.of();

    /** Creates the profiler; JMH calls this. */
    public ThreadCpuProfiler() {}

    @Override
    public String getDescription() {
        return "CPU time of the benchmark's worker threads per operation";
    }

    @Override
    public void beforeIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams) {
        before = workerCpuTimes();
    }

    @Override
    public Collection<? extends Result<?>> afterIteration(
            BenchmarkParams benchmarkParams, IterationParams iterationParams, IterationResult result) {
        long spent = 0;
        for (Map.Entry<Long, Long> after : workerCpuTimes().entrySet()) {
            spent += after.getValue() - before.getOrDefault(after.getKey(), 0L);
        }
        long ops = result.getMetadata().getMeasuredOps();
        if (ops == 0) {
            return List.of();
        }
        return List.of(new ScalarResult(RESULT, (double) spent / ops, "ns/op", AggregationPolicy.AVG));
    }

    /** CPU time of each live JMH worker thread, by thread id. */
    private Map<Long, Long> workerCpuTimes() {
        Map<Long, Long> times = new HashMap<>();
        for (Thread thread : Thread.getAllStackTraces().keySet()) {
            if (thread.getName().contains("jmh-worker")) {
                long time = threads.getThreadCpuTime(thread.threadId());
                if (time >= 0) {
                    times.put(thread.threadId(), time);
                }
            }
        }
        return times;
    }
}
