package dev.unwinder.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/** Live processes for the tests: built with gcc, started, compared with gdb, and checked running. */
final class Targets {
    private Targets() {}

    static Path module() {
        String repository = System.getProperty("unwinder.repository");
        if (repository != null && Files.isDirectory(Path.of(repository, "unwinder-process"))) {
            return Path.of(repository, "unwinder-process");
        }
        Path here = Path.of("").toAbsolutePath();
        return Files.isDirectory(here.resolve("src/test/c")) ? here : here.resolve("unwinder-process");
    }

    static Path directory(String name) {
        Path dir = module().resolve("target/process-tests").resolve(name);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }

    /** Fails under CI=true, skips elsewhere, when a tool is missing. */
    static void requireTools(String... tools) {
        List<String> missing = new ArrayList<>();
        for (String tool : tools) {
            boolean found = Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                    .anyMatch(dir -> Files.isExecutable(Path.of(dir.isEmpty() ? "." : dir, tool)));
            if (!found) {
                missing.add(tool);
            }
        }
        if (!missing.isEmpty()) {
            String why = "these tests need " + missing + " (.ci/run installs them)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail(why + " (CI=true: these tests must run)");
            }
            Assumptions.abort(why);
        }
    }

    /**
     * Builds unwinder-elf's {@code src/test/c/cfiwalk.c} to stay alive ({@code CFIWALK_LIVE}):
     * threads blocked in the C library, a frameless leaf spinning, two threads blocked in signal
     * handlers ({@code CFIWALK_SIGNAL}), and the main thread waiting where the core tests abort.
     */
    static Path buildLive(Path dir) {
        Path program = dir.resolve("cfiwalk");
        run(dir, "gcc", "-O2", "-g", "-fno-omit-frame-pointer", "-DCFIWALK_LIVE", "-DCFIWALK_SIGNAL", "-o",
                program.toString(), module().resolveSibling("unwinder-elf").resolve("src/test/c/cfiwalk.c").toString(),
                "-lpthread");
        return program;
    }

    /**
     * Starts a program, not as a child of this JVM (whose process reaper would take its ptrace stops
     * for an exit), and waits until it prints "ready".
     */
    static ProcessHandle start(Path program) throws IOException, InterruptedException {
        return start(program, Map.of());
    }

    /** The same, with these variables added to the program's environment. */
    static ProcessHandle start(Path program, Map<String, String> environment) throws IOException, InterruptedException {
        Path out = program.resolveSibling(program.getFileName() + ".out");
        Files.deleteIfExists(out);
        ProcessBuilder builder = new ProcessBuilder("sh", "-c", "\"$0\" > \"$1\" 2>&1 & echo $!", program.toString(),
                out.toString());
        builder.environment().putAll(environment);
        Process shell = builder.start();
        BufferedReader reader = new BufferedReader(new InputStreamReader(shell.getInputStream(), StandardCharsets.UTF_8));
        long pid = Long.parseLong(reader.readLine().strip());
        shell.waitFor();
        ProcessHandle process = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError(program + " exited"));
        for (int i = 0; i < 1000; i++) {
            if (Files.exists(out) && Files.readString(out).startsWith("ready")) {
                return process;
            }
            Thread.sleep(10);
        }
        process.destroyForcibly();
        fail(program + " did not say ready: " + (Files.exists(out) ? Files.readString(out) : "no output"));
        return process;
    }

    /** Kills a process that start() started, and waits until it is gone. */
    static void kill(ProcessHandle process) {
        process.destroyForcibly();
        try {
            process.onExit().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("process " + process.pid() + " did not exit", e);
        }
    }

    static String run(Path dir, String... command) {
        try {
            Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
            process.getOutputStream().close();
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                fail(String.join(" ", command) + " did not finish in 120 s");
            }
            assertEquals(0, process.exitValue(), String.join(" ", command) + ":\n" + out);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** One frame as gdb gives it: the pc, and the name gdb looks the frame up by. */
    record GdbFrame(long pc, String symbol, String type) {}

    /** gdb's real frames per thread (no inline or tail-call frames), attached to a live process. */
    static Map<Integer, List<GdbFrame>> gdbFrames(Path dir, long pid) {
        Path script = module().resolveSibling("scripts").resolve("gdb_frames.py");
        String out = run(dir, "gdb", "-nx", "-batch", "-p", Long.toString(pid), "-x", script.toString());
        try {
            Files.writeString(dir.resolve("gdb-" + pid + ".txt"), out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<Integer, List<GdbFrame>> frames = new TreeMap<>();
        boolean ended = false;
        for (String line : out.split("\n")) {
            String[] f = line.split("\t");
            switch (f[0]) {
                case "THREAD" -> frames.put(Integer.parseInt(f[1]), new ArrayList<>());
                case "FRAME" -> {
                    if (!f[5].equals("INLINE_FRAME") && !f[5].equals("TAILCALL_FRAME")) {
                        frames.get(Integer.parseInt(f[1])).add(
                                new GdbFrame(Long.parseUnsignedLong(f[3].substring(2), 16), f[f.length - 1], f[5]));
                    }
                }
                case "END" -> ended = true;
                default -> { }
            }
        }
        if (!ended || frames.isEmpty()) {
            fail("gdb did not list the frames:\n" + out);
        }
        return frames;
    }

    /** Each thread's state letter from /proc/PID/task/TID/status: no thread may be left stopped (t or T). */
    static Map<Integer, String> states(long pid) throws IOException {
        Map<Integer, String> states = new TreeMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                for (String line : Files.readAllLines(task.resolve("status"))) {
                    if (line.startsWith("State:")) {
                        states.put(Integer.parseInt(task.getFileName().toString()), line.substring(6).strip());
                    }
                    if (line.startsWith("TracerPid:") && !line.substring(10).strip().equals("0")) {
                        states.put(Integer.parseInt(task.getFileName().toString()), "traced by " + line.substring(10).strip());
                    }
                }
            }
        }
        return states;
    }
}
