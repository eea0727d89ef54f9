package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@code unwinder stack PID} on processes the tests start: a C program with threads blocked in the
 * C library and in signal handlers (unwinder-elf's {@code src/test/c/cfiwalk.c}, built to stay
 * alive) and a JVM running JIT
 * code, compared with {@code gdb -p}: every frame gdb finds, the command finds, same pc, same
 * order, same name (or a name of the same function start); every thread of the target is running
 * afterwards, even when the command is interrupted; wrong pids fail in one line with status 2.
 */
final class StackCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    @Test
    void oneThreadAtATimeMatchesGdb() throws Exception {
        matchesGdb("stack-one", List.of());
    }

    @Test
    void frozenMatchesGdb() throws Exception {
        matchesGdb("stack-freeze", List.of("--freeze"));
    }

    private static void matchesGdb(String name, List<String> options) throws Exception {
        requireTools("gcc", "gdb");
        Path dir = directory(name);
        Path program = buildBlocked(dir);
        ProcessHandle target = start(List.of(program.toString()), dir.resolve("blocked.out"));
        try {
            GdbOracle.CoreFrames gdb = GdbOracle.ofProcess(target.pid(), dir);
            JsonNode report = stack(target.pid(), options);
            Map<Long, JsonNode> threads = threads(report);
            assertEquals(gdb.threads().stream().map(GdbOracle.ThreadFrames::tid).sorted().toList(),
                    threads.keySet().stream().toList(), report.toString());
            for (GdbOracle.ThreadFrames thread : gdb.threads()) {
                JsonNode ours = threads.get(thread.tid());
                List<GdbOracle.Frame> want = thread.frames().stream()
                        .filter(f -> !f.inline() && !f.type().equals("TAILCALL_FRAME")).toList();
                // The spinning leaf's pc moves between gdb's stop and the command's; its callers do not.
                int from = "frameless_leaf".equals(want.getFirst().symbol()) ? 1 : 0;
                assertTrue(ours.get("frames").size() >= want.size(), thread.tid() + ": " + ours);
                for (int i = from; i < want.size(); i++) {
                    assertFrame(want.get(i), ours.get("frames").get(i), thread.tid() + " #" + i + " of " + ours);
                }
                assertTrue(ours.get("stopped_us").asLong() >= 0, ours.toString());
            }
            assertAllRunning(target.pid());
        } finally {
            kill(target);
        }
    }

    /** Same pc; where gdb names the frame, the same name or another name of the same function start. */
    private static void assertFrame(GdbOracle.Frame want, JsonNode frame, String where) {
        assertEquals(Fixtures.hex(want.pc()), frame.get("pc").asText(), where);
        // The C library's __restore_rt is a symbol of size 0, which covers no address: the command
        // leaves its trampoline frame unnamed (as RealCoreSymbolsTest explains), where gdb names it.
        boolean sizeless = want.type().equals("SIGTRAMP_FRAME") && !frame.has("symbol");
        if (want.symbol() != null && !sizeless) {
            assertTrue(frame.has("symbol"), where);
            long ourStart = lookupStart(want, frame);
            boolean sameName = want.symbol().equals(frame.get("symbol").asText());
            assertTrue(sameName || want.symbolStart() == ourStart, where + ": gdb names it " + want.symbol() + " at "
                    + Fixtures.hex(want.symbolStart()) + ", the command " + frame.get("symbol").asText() + " at "
                    + Fixtures.hex(ourStart));
        }
    }

    /** The start of the function the command names a frame by: its pc less the offset it prints. */
    private static long lookupStart(GdbOracle.Frame want, JsonNode frame) {
        return Long.parseUnsignedLong(frame.get("pc").asText().substring(2), 16) - frame.get("offset").asLong();
    }

    /**
     * A JVM with {@code -XX:+PreserveFramePointer}, after {@code jcmd PID Compiler.perfmap}: the
     * spinning thread's frames in JIT-compiled code are named from the perf map ({@code long
     * JitTarget.spin(int)}), between the native frames, and its walk goes on to the thread's start
     * in the C library. gdb, which reads no perf map, agrees up to the first frame in JIT code.
     */
    @Test
    void jvmFramesAreNamedFromThePerfMap() throws Exception {
        requireTools("gdb");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Path dir = directory("stack-jvm");
        Path source = Fixtures.repository().resolve("unwinder-cli/src/test/jvm/JitTarget.java");
        ProcessHandle target = start(List.of(java.toString(), "-XX:+PreserveFramePointer", "-XX:+UseSerialGC",
                source.toString()), dir.resolve("jvm.out"));
        try {
            RealCores.Result perfmap = RealCores.run(List.of(jcmd.toString(), Long.toString(target.pid()),
                    "Compiler.perfmap"), dir, TIMEOUT);
            assertEquals(0, perfmap.status(), perfmap.output());
            Path map = Path.of("/tmp/perf-" + target.pid() + ".map");
            assertTrue(Files.isRegularFile(map), "no " + map);
            GdbOracle.CoreFrames gdb = GdbOracle.ofProcess(target.pid(), dir);
            JsonNode report = stack(target.pid(), List.of());
            Files.writeString(dir.resolve("stack.json"), report.toPrettyString());
            Map<Long, JsonNode> threads = threads(report);
            long spinner = tidNamed(target.pid(), "spinner");
            JsonNode frames = threads.get(spinner).get("frames");
            List<String> names = new ArrayList<>();
            frames.forEach(f -> names.add(f.has("symbol") ? f.get("symbol").asText() : "??"));
            assertTrue(names.stream().anyMatch(n -> n.contains("JitTarget.spin")), names.toString());
            assertTrue(names.contains("start_thread") || names.contains("clone3"), names.toString());
            assertEquals("outermost", threads.get(spinner).get("end").asText(), names.toString());
            // The sleeping thread: native frames (libc, libjvm) as gdb finds them, to the first frame in JIT code.
            long sleeper = tidNamed(target.pid(), "sleeper");
            GdbOracle.ThreadFrames want = gdb.thread(sleeper);
            JsonNode ours = threads.get(sleeper).get("frames");
            List<GdbOracle.Frame> real = want.frames().stream()
                    .filter(f -> !f.inline() && !f.type().equals("TAILCALL_FRAME")).toList();
            int checked = 0;
            for (GdbOracle.Frame frame : real) {
                assertEquals(Fixtures.hex(frame.pc()), ours.get(checked).get("pc").asText(), "sleeper #" + checked);
                checked++;
                if (frame.symbol() == null) {
                    break; // JIT code: gdb does not know it, and goes astray beyond it
                }
            }
            assertTrue(checked >= 4, "sleeper: " + checked + " native frames compared");
            List<String> sleeperNames = new ArrayList<>();
            ours.forEach(f -> sleeperNames.add(f.has("symbol") ? f.get("symbol").asText() : "??"));
            assertTrue(sleeperNames.stream().anyMatch(n -> n.contains("JitTarget.sleepy") || n.contains("Interpreter")),
                    sleeperNames.toString());
            assertAllRunning(target.pid());
        } finally {
            kill(target);
            Files.deleteIfExists(Path.of("/tmp/perf-" + target.pid() + ".map"));
        }
    }

    /** With --fp-only, the frame-pointer chain of each thread's copy: the program's own frames, each an fp frame. */
    @Test
    void fpOnlyWalksTheFramePointerChain() throws Exception {
        requireTools("gcc");
        Path dir = directory("stack-fp-only");
        ProcessHandle target = start(List.of(buildBlocked(dir).toString()), dir.resolve("blocked.out"));
        try {
            JsonNode report = stack(target.pid(), List.of("--fp-only"));
            JsonNode main = threads(report).get(target.pid());
            List<String> names = new ArrayList<>();
            main.get("frames").forEach(f -> {
                assertTrue(List.of("context", "fp").contains(f.get("how").asText()), f.toString());
                names.add(f.has("symbol") ? f.get("symbol").asText() : "??");
            });
            assertTrue(names.stream().filter("crash_here"::equals).count() >= 3, names.toString());
            assertAllRunning(target.pid());
        } finally {
            kill(target);
        }
    }

    /** SIGINT at any moment of a frozen capture leaves every thread of the target running. */
    @Test
    void anInterruptedCommandLeavesTheTargetRunning() throws Exception {
        requireTools("gcc");
        Path dir = directory("stack-interrupted");
        Path program = buildBlocked(dir);
        ProcessHandle target = start(List.of(program.toString()), dir.resolve("blocked.out"));
        try {
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            for (int delayMillis : new int[] {150, 300, 450, 600, 800, 1000}) {
                Process command = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED", "-cp",
                        System.getProperty("java.class.path"), "dev.unwinder.cli.Main", "stack", "--freeze",
                        Long.toString(target.pid())).redirectErrorStream(true)
                        .redirectOutput(dir.resolve("interrupted.out").toFile()).start();
                Thread.sleep(delayMillis);
                new ProcessBuilder("kill", "-INT", Long.toString(command.pid())).start().waitFor();
                assertTrue(command.waitFor(60, TimeUnit.SECONDS), "the command did not end after SIGINT");
                assertAllRunning(target.pid());
            }
        } finally {
            kill(target);
        }
    }

    @Test
    void wrongPidsFailInOneLine() throws Exception {
        long beyond = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/kernel/pid_max")).getFirst().strip()) + 1;
        Fixtures.Run none = Fixtures.run("stack", beyond);
        assertEquals(new Fixtures.Run(2, "", "unwinder: no such process: " + beyond + System.lineSeparator()), none);
        long self = ProcessHandle.current().pid();
        Fixtures.Run own = Fixtures.run("stack", self);
        assertEquals(2, own.status());
        assertEquals("unwinder: process " + self + " is this one: a process cannot trace itself (walk it in-process"
                + " instead)" + System.lineSeparator(), own.err());
        Process parent = new ProcessBuilder("sh", "-c", "sleep 0.2 & echo $!; exec sleep 30").start();
        try {
            long zombie = Long.parseLong(new BufferedReader(new InputStreamReader(parent.getInputStream(),
                    StandardCharsets.UTF_8)).readLine().strip());
            Path status = Path.of("/proc", Long.toString(zombie), "status");
            for (int i = 0; i < 500 && (!Files.exists(status) || !state(zombie, zombie).startsWith("Z")); i++) {
                Thread.sleep(10);
            }
            Fixtures.Run dead = Fixtures.run("stack", zombie);
            assertEquals(2, dead.status());
            assertEquals("unwinder: process " + zombie + " is a zombie: it has exited and has no stacks (its parent"
                    + " has not reaped it)" + System.lineSeparator(), dead.err());
        } finally {
            parent.destroyForcibly().waitFor();
        }
        assertEquals(2, Fixtures.run("stack", "twelve").status());
    }

    /** Fails under CI=true, skips elsewhere, when a tool is missing; only on x86_64, whose builds gdb compares. */
    private static void requireTools(String... tools) {
        String arch = System.getProperty("os.arch");
        if (!arch.equals("amd64") && !arch.equals("x86_64")) {
            RealCores.unavailable("the live-process tests build for this x86_64 host; this one is " + arch);
        }
        for (String tool : tools) {
            if (RealCores.onPath(tool) == null) {
                RealCores.unavailable(tool + " is not on the PATH (.ci/run installs it)");
            }
        }
    }

    private static JsonNode stack(long pid, List<String> options) throws IOException {
        List<Object> args = new ArrayList<>(List.of("stack", pid, "--format", "json"));
        args.addAll(options);
        Fixtures.Run run = Fixtures.run(args.toArray());
        assertEquals(0, run.status(), run.err());
        return JSON.readTree(run.out());
    }

    private static Map<Long, JsonNode> threads(JsonNode report) {
        Map<Long, JsonNode> threads = new TreeMap<>();
        report.get("threads").forEach(thread -> threads.put(thread.get("tid").asLong(), thread));
        return threads;
    }

    private static Path directory(String name) throws IOException {
        Path dir = Fixtures.repository().resolve("unwinder-cli/target/live").resolve(name);
        Files.createDirectories(dir);
        return dir;
    }

    private static Path buildBlocked(Path dir) {
        Path program = dir.resolve("cfiwalk");
        RealCores.Result built = RealCores.run(List.of("gcc", "-O2", "-g", "-fno-omit-frame-pointer", "-DCFIWALK_LIVE",
                "-DCFIWALK_SIGNAL", "-o", program.toString(),
                Fixtures.repository().resolve("unwinder-elf/src/test/c/cfiwalk.c").toString(), "-lpthread"), dir, TIMEOUT);
        assertEquals(0, built.status(), built.output());
        return program;
    }

    /**
     * Starts a program, not as a child of this JVM (whose process reaper would take its ptrace
     * stops for an exit), and waits until it prints "ready".
     */
    private static ProcessHandle start(List<String> command, Path out) throws IOException, InterruptedException {
        Files.deleteIfExists(out);
        List<String> shell = new ArrayList<>(List.of("sh", "-c", "\"$@\" > \"$0\" 2>&1 & echo $!", out.toString()));
        shell.addAll(command);
        Process launcher = new ProcessBuilder(shell).start();
        long pid = Long.parseLong(new BufferedReader(new InputStreamReader(launcher.getInputStream(),
                StandardCharsets.UTF_8)).readLine().strip());
        launcher.waitFor();
        ProcessHandle process = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError(command + " exited"));
        for (int i = 0; i < 3000; i++) {
            if (Files.exists(out) && Files.readString(out).startsWith("ready")) {
                return process;
            }
            Thread.sleep(10);
        }
        process.destroyForcibly();
        throw new AssertionError(command + " did not say ready: " + (Files.exists(out) ? Files.readString(out) : ""));
    }

    private static void kill(ProcessHandle process) throws Exception {
        process.destroyForcibly();
        process.onExit().get(10, TimeUnit.SECONDS);
    }

    private static long tidNamed(long pid, String name) throws IOException {
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                if (Files.readAllLines(task.resolve("comm")).getFirst().strip().equals(name)) {
                    return Long.parseLong(task.getFileName().toString());
                }
            }
        }
        throw new AssertionError("no thread " + name + " in process " + pid);
    }

    /** No thread of the process is stopped (t, T) or traced. */
    private static void assertAllRunning(long pid) throws Exception {
        String states = "";
        for (int attempt = 0; attempt < 100; attempt++) {
            StringBuilder all = new StringBuilder();
            boolean ok = true;
            try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
                for (Path task : (Iterable<Path>) tasks::iterator) {
                    long tid = Long.parseLong(task.getFileName().toString());
                    String state = state(pid, tid);
                    all.append(tid).append('=').append(state).append(' ');
                    ok &= state.startsWith("S") || state.startsWith("R");
                }
            }
            states = all.toString();
            if (ok) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("threads left stopped or traced: " + states);
    }

    /** A thread's state letter, or "traced by N" when a tracer holds it. */
    private static String state(long pid, long tid) throws IOException {
        String state = "";
        Path status = Path.of("/proc", Long.toString(pid), "task", Long.toString(tid), "status");
        if (!Files.exists(status)) {
            status = Path.of("/proc", Long.toString(tid), "status");
        }
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("State:")) {
                state = line.substring(6).strip();
            }
            if (line.startsWith("TracerPid:") && !line.substring(10).strip().equals("0")) {
                return "traced by " + line.substring(10).strip();
            }
        }
        return state;
    }
}
