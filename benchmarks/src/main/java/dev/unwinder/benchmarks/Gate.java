package dev.unwinder.benchmarks;

import java.io.IOException;
import java.io.PrintStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs the walk benchmarks through JMH and judges them by ratios to other methods measured in the
 * same run, never by absolute times: the C {@link Floor}, the physical floor, and the plain-Java
 * {@link Baseline}, the yardstick the gate judges by.
 *
 * <p>Modes, the first argument:
 * <ul>
 *   <li>{@code gate} (the default): the short CI pass over two plugins (x86_64, the host's
 *       little-endian layout, and s390x, big-endian with the widest link), heap and native memory,
 *       N = 16 and 1,024, one fork per benchmark. A ratio to the baseline above its limit (its
 *       reference in {@code gate-reference.tsv} times {@code 1 +} {@link #TOLERANCE}) is measured
 *       again in {@link #REPEATS} fresh forks of the method and of the baseline, and the gate
 *       fails (exit status 1) only if every one of them is over the limit too: a regression that
 *       reproduces, not a fork that compiled to a slower mode. It also fails when {@code visitFrames} or the lenient
 *       walk allocates per frame.
 *   <li>{@code full}: the whole suite, every plugin and N, with longer runs. Reports the same table
 *       and which {@link #TARGETS} are missed; never fails on ratios.
 * </ul>
 * Both write JMH's JSON and a summary JSON into {@code benchmarks/results/} (or the directory
 * given by {@code --results DIR}) and print a table.
 *
 * <p>Each ratio compares the CPU time per frame ({@link ThreadCpuProfiler}) of a method's best
 * (minimum) iteration with the best iteration of the floor or baseline for the same plugin,
 * memory and N. Other processes on a shared machine only ever slow an iteration down, so the
 * minimum is the estimate least disturbed by them; medians are reported beside it.
 * {@code docs/benchmarks.md} has the measurements behind the tolerance and the repeats.
 */
public final class Gate {

    /** A ratio limit for one method against one denominator: separate for N below 1,024, where per-walk costs weigh, and larger N. */
    record Limit(String method, String against, double smallN, double largeN) {}

    /**
     * How far, as a fraction, a ratio may rise above its reference before the cell is measured
     * again. docs/benchmarks.md gives the spread of every cell over the calibration runs that it
     * covers, and the injected regression that it still catches.
     */
    static final double TOLERANCE = 0.15;

    /**
     * How many fresh forks of the method re-measure a cell over its limit, by default; the gate
     * fails only if all are over. {@code --repeats K} sets another number for experiments (0: the
     * first fork decides).
     */
    static final int REPEATS = 3;

    /**
     * The denominator the gate judges by: the baseline, a Java loop over the same memory, shares
     * the fork-to-fork effects of the Java walks (where the heap and the native stack land, what
     * C2 makes of a memory kind) and cancels them; ratios to the C floor spread more
     * (docs/benchmarks.md).
     */
    static final String JUDGED_AGAINST = "baseline";

    /** Ratio limits, to the baseline, for a cell that has no reference. */
    static final List<Limit> FALLBACK_LIMITS = List.of(
            new Limit("visitFrames", JUDGED_AGAINST, 1.3 * (1 + TOLERANCE), 1.10 * (1 + TOLERANCE)),
            new Limit("lenient", JUDGED_AGAINST, 1.4 * (1 + TOLERANCE), 1.10 * (1 + TOLERANCE)),
            new Limit("frameIterator", JUDGED_AGAINST, 1.5 * (1 + TOLERANCE), 1.5 * (1 + TOLERANCE)));

    /**
     * The targets of the full run: the strict and lenient walks against the C floor (issue 10;
     * binding for the x86_64 layout, reported for every plugin), the iterator against the
     * plain-Java baseline (issue 4).
     */
    static final List<Limit> TARGETS = List.of(
            new Limit("visitFrames", "floor", 1.30, 1.10),
            new Limit("lenient", "floor", 1.50, 1.15),
            new Limit("frameIterator", "baseline", 1.50, 1.50));

    /**
     * More than this many bytes per frame is allocation per frame: any object is at least 16
     * bytes, so a walk that allocates once per frame shows at least 16; what a walk allocates once
     * (the lenient walk's 32-byte result) shows as 32 / N.
     */
    static final double MAX_BYTES_PER_FRAME = 1.0;

    private static final List<String> METHODS = List.of("visitFrames", "lenient", "frameIterator");

    private Gate() {}

    /**
     * Runs the gate or the full suite.
     *
     * @param args {@code gate} or {@code full}, optionally followed by {@code --results DIR},
     *     {@code --arch NAME[,NAME...]} (the full run's plugins, without the live benchmark, which
     *     walks the host's stack; the gate's plugins are fixed) and
     *     {@code --repeats K}
     * @throws RunnerException if JMH fails
     * @throws IOException if the results cannot be written
     */
    public static void main(String[] args) throws RunnerException, IOException {
        String mode = args.length > 0 && !args[0].startsWith("--") ? args[0] : "gate";
        Path results = Path.of("benchmarks", "results");
        int repeats = REPEATS;
        String[] arches = null;
        for (int i = 0; i < args.length - 1; i++) {
            switch (args[i]) {
                case "--results" -> results = Path.of(args[i + 1]);
                case "--repeats" -> repeats = Integer.parseInt(args[i + 1]);
                case "--arch" -> arches = args[i + 1].split(",");
                default -> { }
            }
        }
        boolean gate = switch (mode) {
            case "gate" -> true;
            case "full" -> false;
            default -> throw new IllegalArgumentException("mode: " + mode + " (expected: gate or full)");
        };
        Files.createDirectories(results);
        String stamp = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC).format(Instant.now());
        Path jmhJson = results.resolve(mode + "-" + stamp + ".json");

        ChainedOptionsBuilder options = options(jmhJson)
                .include(WalkBenchmark.class.getPackageName()
                        + (gate ? "\\.WalkN(16|1024)\\." : arches != null ? "\\.WalkN" : "\\.(WalkN|LiveBenchmark)"));
        if (gate) {
            gateRunLengths(options.param("arch", "x86_64", "s390x")).forks(1);
        } else {
            if (arches != null) {
                options.param("arch", arches);
            }
            // 210 benchmarks: 1 fork, 3 x 500 ms warm-up, 5 x 500 ms measurement keep the suite near 25 minutes.
            options.warmupIterations(3)
                    .warmupTime(TimeValue.milliseconds(500))
                    .measurementIterations(5)
                    .measurementTime(TimeValue.milliseconds(500))
                    .forks(1);
        }
        Collection<RunResult> runs = new Runner(options.build()).run();

        List<Row> rows = rows(runs.stream().filter(r -> r.getParams().getBenchmark().contains(".WalkN")).toList());
        PrintStream out = System.out;
        List<String> failures = new ArrayList<>();
        List<Verdict> verdicts = new ArrayList<>();
        Map<String, Double> reference = gate ? reference() : Map.of();
        printTable(out, rows, gate ? FALLBACK_LIMITS : TARGETS, reference, gate, verdicts, failures);
        if (gate) {
            if (repeats > 0 && !verdicts.isEmpty()) {
                out.println();
                out.println("Measuring again, in " + repeats + " fresh forks of each method and of the baseline:");
            }
            remeasure(verdicts, repeats, results, mode + "-" + stamp);
            for (Verdict verdict : verdicts) {
                out.println(verdict.describe());
                if (verdict.failed()) {
                    failures.add(verdict.describe());
                }
            }
        }
        printLive(out, runs.stream().filter(r -> r.getParams().getBenchmark().contains(".LiveBenchmark.")).toList());
        Path summary = results.resolve(mode + "-" + stamp + "-summary.json");
        Files.writeString(summary, toJson(mode, rows, verdicts, failures));
        out.println();
        out.println("JMH results: " + jmhJson);
        out.println("Summary:     " + summary);
        if (failures.isEmpty()) {
            out.println(gate ? "GATE PASSED" : "All targets met.");
            return;
        }
        out.println(gate ? "GATE FAILED:" : "Targets missed:");
        failures.forEach(f -> out.println("  " + f));
        if (gate) {
            System.exit(1);
        }
    }

    private static ChainedOptionsBuilder options(Path jmhJson) {
        return new OptionsBuilder()
                .addProfiler("gc")
                .addProfiler(ThreadCpuProfiler.class)
                .resultFormat(ResultFormatType.JSON)
                .result(jmhJson.toString())
                .timeUnit(TimeUnit.NANOSECONDS);
    }

    private static ChainedOptionsBuilder gateRunLengths(ChainedOptionsBuilder options) {
        return options.warmupIterations(4)
                .warmupTime(TimeValue.milliseconds(200))
                .measurementIterations(10)
                .measurementTime(TimeValue.milliseconds(100));
    }

    /**
     * A gate cell whose first ratio was over its limit, and the ratios of its repeats: the i-th
     * fresh fork of the method against the i-th fresh fork of the baseline.
     */
    static final class Verdict {
        final String method;
        final String arch;
        final String memory;
        final int frames;
        final double limit;
        final double first;
        final List<Double> repeats = new ArrayList<>();
        /** Not measured again: repeats were off, or another cell had already failed the gate. */
        String skipped;

        Verdict(String method, String arch, String memory, int frames, double limit, double first) {
            this.method = method;
            this.arch = arch;
            this.memory = memory;
            this.frames = frames;
            this.limit = limit;
            this.first = first;
        }

        String cell() {
            return arch + " " + memory + " " + frames;
        }

        /** Over the limit in every repeat; or, with repeats off, in the first fork. */
        boolean failed() {
            if (skipped != null) {
                return skipped.equals(NO_REPEATS);
            }
            return repeats.stream().allMatch(r -> r > limit);
        }

        String describe() {
            StringBuilder text = new StringBuilder(String.format(Locale.ROOT,
                    "%s %s N=%d %s: ratio %.2f (limit %.2f)", arch, memory, frames, method, first, limit));
            if (skipped != null) {
                return text.append("; ").append(skipped).toString();
            }
            text.append("; repeats:");
            repeats.forEach(r -> text.append(String.format(Locale.ROOT, " %.2f", r)));
            text.append(failed() ? ", all over the limit" : ", not all over the limit: passed");
            return text.toString();
        }
    }

    private static final String NO_REPEATS = "not measured again (--repeats 0)";
    private static final String ALREADY_FAILED = "not measured again: another cell has failed the gate";

    /**
     * Measures the flagged methods of each cell again with the baseline, in {@code forks} fresh
     * forks each: one JMH run per cell, so at most the gate's 8 cells however many methods are
     * flagged. Cells go in order of how far their worst ratio is over its limit, and once a cell
     * fails the gate the rest are not measured: a regression fails in a few minutes, not many.
     */
    private static void remeasure(List<Verdict> verdicts, int forks, Path results, String name) throws RunnerException {
        if (forks == 0) {
            verdicts.forEach(v -> v.skipped = NO_REPEATS);
            return;
        }
        Map<String, List<Verdict>> byCell = new TreeMap<>();
        verdicts.forEach(v -> byCell.computeIfAbsent(v.cell(), c -> new ArrayList<>()).add(v));
        List<List<Verdict>> cells = new ArrayList<>(byCell.values());
        cells.sort(Comparator.comparingDouble(
                (List<Verdict> cell) -> cell.stream().mapToDouble(v -> v.first / v.limit).max().orElse(0)).reversed());
        int run = 0;
        boolean failed = false;
        for (List<Verdict> cell : cells) {
            if (failed) {
                cell.forEach(v -> v.skipped = ALREADY_FAILED);
                continue;
            }
            Verdict first = cell.get(0);
            StringBuilder methods = new StringBuilder(JUDGED_AGAINST);
            cell.forEach(v -> methods.append('|').append(v.method));
            ChainedOptionsBuilder options = options(results.resolve(name + "-repeat" + (++run) + ".json"))
                    .include(WalkBenchmark.class.getPackageName() + "\\.WalkN" + first.frames + "\\.(" + methods
                            + ")$")
                    .param("arch", first.arch)
                    .param("memory", first.memory);
            Map<String, List<Double>> perFork = new TreeMap<>();
            for (RunResult result : new Runner(gateRunLengths(options).forks(forks).build()).run()) {
                String benchmark = result.getParams().getBenchmark();
                perFork.put(benchmark.substring(benchmark.lastIndexOf('.') + 1),
                        result.getBenchmarkResults().stream().map(Gate::bestCpu).toList());
            }
            List<Double> against = perFork.get(JUDGED_AGAINST);
            for (Verdict verdict : cell) {
                List<Double> method = perFork.get(verdict.method);
                if (against == null || method == null || against.size() != forks || method.size() != forks) {
                    throw new IllegalStateException("the repeat of " + verdict.describe() + " measured " + perFork);
                }
                for (int i = 0; i < forks; i++) {
                    verdict.repeats.add(method.get(i) / against.get(i));
                }
                failed |= verdict.failed();
            }
        }
    }

    /** The best (lowest) CPU time per operation of one fork's measured iterations, or wall time without the profiler. */
    private static double bestCpu(BenchmarkResult fork) {
        double best = Double.POSITIVE_INFINITY;
        for (IterationResult iteration : fork.getIterationResults()) {
            Result<?> cpu = iteration.getSecondaryResults().get(ThreadCpuProfiler.RESULT);
            best = Math.min(best, cpu != null ? cpu.getScore() : iteration.getPrimaryResult().getScore());
        }
        return best;
    }

    /** One method's figures for one plugin, memory and N. */
    record Score(String method, double best, double median, double bestWall, double allocPerFrame) {}

    /** Everything measured for one plugin, memory and N. */
    record Row(String arch, String memory, int frames, Map<String, Score> scores) {
        Score baseline() {
            return scores.get("baseline");
        }

        Score floor() {
            return scores.get("floor");
        }

        /** The ratio of a method's best CPU time to the denominator's, or NaN if either is missing. */
        double ratio(String method, String against) {
            Score score = scores.get(method);
            Score denominator = scores.get(against);
            return score == null || denominator == null ? Double.NaN : score.best() / denominator.best();
        }

        /** As {@link #ratio}, of the medians. */
        double medianRatio(String method, String against) {
            Score score = scores.get(method);
            Score denominator = scores.get(against);
            return score == null || denominator == null ? Double.NaN : score.median() / denominator.median();
        }
    }

    static List<Row> rows(Collection<RunResult> runs) {
        Map<String, Row> byKey = new TreeMap<>();
        for (RunResult run : runs) {
            String benchmark = run.getParams().getBenchmark();
            String simple = benchmark.substring(benchmark.lastIndexOf('.', benchmark.lastIndexOf('.') - 1) + 1);
            int frames = Integer.parseInt(simple.substring("WalkN".length(), simple.indexOf('.')));
            String method = simple.substring(simple.indexOf('.') + 1);
            String arch = run.getParams().getParam("arch");
            String memory = run.getParams().getParam("memory");
            List<IterationResult> iterations = run.getBenchmarkResults().stream()
                    .map(BenchmarkResult::getIterationResults)
                    .flatMap(Collection::stream)
                    .toList();
            double[] wall = iterations.stream().mapToDouble(i -> i.getPrimaryResult().getScore()).sorted().toArray();
            double[] cpu = iterations.stream()
                    .map(i -> i.getSecondaryResults().get(ThreadCpuProfiler.RESULT))
                    .filter(result -> result != null)
                    .mapToDouble(result -> result.getScore())
                    .sorted()
                    .toArray();
            double[] scores = cpu.length == wall.length ? cpu : wall;
            Result<?> alloc = run.getAggregatedResult().getSecondaryResults().get("gc.alloc.rate.norm");
            // With @OperationsPerInvocation(N), an operation is a frame: JMH's norm is already per frame.
            double perFrame = alloc == null ? Double.NaN : alloc.getScore();
            String key = String.format(Locale.ROOT, "%-18s %-6s %08d", arch, memory, frames);
            byKey.computeIfAbsent(key, k -> new Row(arch, memory, frames, new TreeMap<>()))
                    .scores().put(method, new Score(method, scores[0], median(scores), wall[0], perFrame));
        }
        return List.copyOf(byKey.values());
    }

    private static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** The reference ratios, by "method arch memory frames". */
    static Map<String, Double> reference() throws IOException {
        Map<String, Double> reference = new TreeMap<>();
        try (InputStream in = Gate.class.getResourceAsStream("gate-reference.tsv")) {
            if (in == null) {
                return reference;
            }
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split("\t");
                reference.put(f[0] + " " + f[1] + " " + f[2] + " " + f[3], Double.parseDouble(f[4]));
            }
        }
        return reference;
    }

    static Limit limitFor(List<Limit> limits, String method) {
        for (Limit limit : limits) {
            if (limit.method().equals(method)) {
                return limit;
            }
        }
        throw new IllegalArgumentException("method: " + method);
    }

    /**
     * Prints the table and judges each cell: in the gate, a ratio over its limit becomes a
     * {@link Verdict} to re-measure; in the full run, a missed target becomes a failure line.
     */
    static void printTable(PrintStream out, List<Row> rows, List<Limit> limits, Map<String, Double> reference,
            boolean gate, List<Verdict> verdicts, List<String> failures) {
        out.println();
        out.println("CPU time per frame as ratios: to the C floor's of the same run, and in brackets to the plain-Java");
        out.println("baseline's (best iteration / best iteration), then allocation in bytes per frame (gc.alloc.rate.norm).");
        out.println(gate
                ? "'!' marks a ratio to the baseline over its limit, the reference ratio times 1 + " + TOLERANCE + "."
                : "'!' marks a missed target: visitFrames and lenient against the floor, frameIterator the baseline.");
        out.println("'floor' and 'base' are best CPU ns per frame.");
        out.printf(Locale.ROOT, "%-18s %-6s %8s %6s %6s | %-22s | %-22s | %-22s%n",
                "arch", "memory", "N", "floor", "base", "visitFrames", "lenient", "frameIterator");
        for (Row row : rows) {
            Score base = row.baseline();
            Score floor = row.floor();
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-18s %-6s %8d %6.3f %6.3f",
                    row.arch(), row.memory(), row.frames(), floor == null ? Double.NaN : floor.best(),
                    base == null ? Double.NaN : base.best()));
            for (String method : METHODS) {
                Score score = row.scores().get(method);
                if (score == null) {
                    line.append(" | ").append(String.format("%-22s", "-"));
                    continue;
                }
                Limit fallback = limitFor(limits, method);
                String against = gate ? JUDGED_AGAINST : fallback.against();
                double judged = row.ratio(method, against);
                Double expected = reference.get(method + " " + row.arch() + " " + row.memory() + " " + row.frames());
                double limit = expected != null
                        ? expected * (1 + TOLERANCE)
                        : row.frames() < 1024 ? fallback.smallN() : fallback.largeN();
                boolean over = judged > limit;
                boolean byFloor = against.equals("floor");
                line.append(String.format(Locale.ROOT, " | %5.2f%s(%4.2f)%s%6.2fB", row.ratio(method, "floor"),
                        over && byFloor ? "!" : " ", row.ratio(method, "baseline"), over && !byFloor ? "!" : " ",
                        score.allocPerFrame()));
                String where = row.arch() + " " + row.memory() + " N=" + row.frames() + " " + method;
                if (over && gate) {
                    verdicts.add(new Verdict(method, row.arch(), row.memory(), row.frames(), limit, judged));
                } else if (over) {
                    failures.add(String.format(Locale.ROOT, "%s: ratio to the %s %.2f (target %.2f)", where, against,
                            judged, limit));
                }
                if (!method.equals("frameIterator") && row.frames() >= 1024
                        && !(score.allocPerFrame() <= MAX_BYTES_PER_FRAME)) {
                    failures.add(String.format(Locale.ROOT, "%s: allocates %.2f B per frame (limit %.1f)", where,
                            score.allocPerFrame(), MAX_BYTES_PER_FRAME));
                }
            }
            out.println(line);
        }
    }

    /**
     * Prints the live comparison: per-frame cost of backtrace() and of unwinder's walks, each the
     * difference of two per-descent scores of this run divided by the frames walked.
     */
    static void printLive(PrintStream out, List<RunResult> runs) {
        if (runs.isEmpty()) {
            return;
        }
        Map<Integer, Map<String, double[]>> byDepth = new TreeMap<>();
        for (RunResult run : runs) {
            String benchmark = run.getParams().getBenchmark();
            String method = benchmark.substring(benchmark.lastIndexOf('.') + 1);
            int depth = Integer.parseInt(run.getParams().getParam("depth"));
            double[] cpu = run.getBenchmarkResults().stream()
                    .map(BenchmarkResult::getIterationResults)
                    .flatMap(Collection::stream)
                    .map(i -> i.getSecondaryResults().get(ThreadCpuProfiler.RESULT))
                    .filter(result -> result != null)
                    .mapToDouble(result -> result.getScore())
                    .sorted()
                    .toArray();
            double wall = run.getPrimaryResult().getScore();
            byDepth.computeIfAbsent(depth, d -> new TreeMap<>())
                    .put(method, new double[] {cpu.length > 0 ? median(cpu) : Double.NaN, wall});
        }
        out.println();
        out.println("Live C stack: ns per frame = (descent with the walk - descent without) / (depth + 1), medians of");
        out.println("CPU time per descent (wall-clock means in brackets).");
        out.printf(Locale.ROOT, "%6s | %-18s | %-18s | %-18s | %s%n", "depth", "backtrace()", "visitFrames", "lenient",
                "backtrace / visitFrames");
        for (Map.Entry<Integer, Map<String, double[]>> entry : byDepth.entrySet()) {
            int frames = entry.getKey() + 1;
            Map<String, double[]> m = entry.getValue();
            double[] bt = perFrame(m.get("nativeBacktrace"), m.get("nativeNoop"), frames);
            double[] visit = perFrame(m.get("upcallVisitFrames"), m.get("upcallNoop"), frames);
            double[] lenient = perFrame(m.get("upcallLenient"), m.get("upcallNoop"), frames);
            out.printf(Locale.ROOT, "%6d | %7.2f (%7.2f) | %7.2f (%7.2f) | %7.2f (%7.2f) | %.1fx%n", entry.getKey(),
                    bt[0], bt[1], visit[0], visit[1], lenient[0], lenient[1], bt[0] / visit[0]);
        }
    }

    private static double[] perFrame(double[] with, double[] without, int frames) {
        if (with == null || without == null) {
            return new double[] {Double.NaN, Double.NaN};
        }
        return new double[] {(with[0] - without[0]) / frames, (with[1] - without[1]) / frames};
    }

    static String toJson(String mode, List<Row> rows, List<Verdict> verdicts, List<String> failures) {
        StringBuilder json = new StringBuilder("{\n  \"mode\": \"").append(mode).append("\",\n  \"rows\": [");
        for (int r = 0; r < rows.size(); r++) {
            Row row = rows.get(r);
            json.append(r == 0 ? "\n" : ",\n").append(String.format(Locale.ROOT,
                    "    {\"arch\": \"%s\", \"memory\": \"%s\", \"frames\": %d, \"scores\": {", row.arch(), row.memory(),
                    row.frames()));
            int s = 0;
            for (Score score : row.scores().values()) {
                json.append(s++ == 0 ? "" : ", ").append(String.format(Locale.ROOT,
                        "\"%s\": {\"bestCpuNsPerFrame\": %s, \"medianCpuNsPerFrame\": %s, \"bestWallNsPerFrame\": %s,"
                                + " \"allocBytesPerFrame\": %s, \"bestRatioToFloor\": %s, \"medianRatioToFloor\": %s,"
                                + " \"bestRatio\": %s, \"medianRatio\": %s}",
                        score.method(), num(score.best()), num(score.median()), num(score.bestWall()),
                        num(score.allocPerFrame()),
                        num(row.ratio(score.method(), "floor")), num(row.medianRatio(score.method(), "floor")),
                        num(row.ratio(score.method(), "baseline")), num(row.medianRatio(score.method(), "baseline"))));
            }
            json.append("}}");
        }
        json.append("\n  ],\n  \"repeats\": [");
        for (int v = 0; v < verdicts.size(); v++) {
            Verdict verdict = verdicts.get(v);
            json.append(v == 0 ? "\n" : ",\n").append(String.format(Locale.ROOT,
                    "    {\"method\": \"%s\", \"arch\": \"%s\", \"memory\": \"%s\", \"frames\": %d, \"limit\": %s,"
                            + " \"first\": %s, \"repeats\": [",
                    verdict.method, verdict.arch, verdict.memory, verdict.frames, num(verdict.limit),
                    num(verdict.first)));
            for (int i = 0; i < verdict.repeats.size(); i++) {
                json.append(i == 0 ? "" : ", ").append(num(verdict.repeats.get(i)));
            }
            json.append("], \"failed\": ").append(verdict.failed());
            if (verdict.skipped != null) {
                json.append(", \"skipped\": \"").append(verdict.skipped).append('"');
            }
            json.append('}');
        }
        json.append("\n  ],\n  \"failures\": [");
        for (int f = 0; f < failures.size(); f++) {
            json.append(f == 0 ? "" : ", ").append('"').append(failures.get(f).replace("\"", "'")).append('"');
        }
        return json.append("]\n}\n").toString();
    }

    private static String num(double value) {
        return Double.isFinite(value) ? String.format(Locale.ROOT, "%.5g", value) : "null";
    }
}
