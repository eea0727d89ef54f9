package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * Core files of real programs, made on this machine once per JVM: the C and C++ programs of
 * {@code src/test/c/realcore}, built for x86_64 (dumped by the kernel) and for aarch64 and s390x
 * (cross-compiled, run under qemu-user, dumped by qemu), each crashing inside the C library with
 * its own frames below. Everything goes to {@code unwinder-cli/target/real-cores/<arch>/<name>/}:
 * the program {@code <name>} and its core {@code core}.
 *
 * <p>Build flags: {@code -O2 -g -fno-omit-frame-pointer -pthread}, dynamically linked; PIE on
 * x86_64 (the compiler's default), {@code -no-pie} for the qemu arches (gdb-multiarch reads a qemu
 * core of a dynamically linked program only then), and {@code -mbackchain} on s390x. riscv64 has
 * none: qemu-riscv64 7.2 writes no core.
 *
 * <p>The kernel must write cores to the crashing process's working directory
 * ({@code kernel.core_pattern} {@code core}, or any pattern without a pipe or a directory). A qemu
 * run lowers the stack limit to 1 MiB ({@code ulimit -s}, {@code qemu -s}) so that each guest
 * thread's stack, which qemu writes out in full, is small, and asks the kernel not to dump qemu
 * itself ({@code coredump_filter} 0; the small host core it still writes is deleted).
 *
 * <p>A missing compiler, qemu or a core pattern that writes elsewhere fails the caller on CI
 * ({@code CI=true}, naming the Debian packages; {@code .ci/run} installs them) and skips it
 * elsewhere. Every process is bounded by a timeout and destroyed when it overruns.
 */
final class RealCores {
    /** The programs: {@code src/test/c/realcore/<name>.c} or {@code .cc}. */
    static final List<Program> PROGRAMS = List.of(
            new Program("threads", Program.SIGABRT),      // main in abort(), three threads blocked in the C library
            new Program("segv_in_libc", Program.SIGSEGV), // strlen of a bad pointer
            new Program("assert", Program.SIGABRT),       // __assert_fail, then abort()
            new Program("cxx_throw", Program.SIGABRT),    // an uncaught exception: std::terminate, then abort()
            new Program("leaf_signal", Program.SIGABRT)); // a frameless leaf; on x86_64 a thread in a signal handler
    /** The architectures, in the order {@link #all()} lists them. */
    static final List<String> ARCHES = List.of("x86_64", "aarch64", "s390x");

    private static final Duration COMPILE_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration CRASH_TIMEOUT = Duration.ofSeconds(30);
    private static final List<String> FLAGS = List.of("-O2", "-g", "-fno-omit-frame-pointer", "-pthread");

    /** A test program, and the signal it dies of. */
    record Program(String name, int signal) {
        static final int SIGABRT = 6;
        static final int SIGSEGV = 11;
    }

    /** A program built on this machine and the core it dumped; {@code sysroot} is null for a kernel core (x86_64). */
    record RealCore(String arch, String name, Path program, Path core, Path sysroot) {
        /** {@code arch/name}, the test's display name. */
        @Override
        public String toString() {
            return arch + "/" + name;
        }
    }

    private static List<RealCore> cores;
    /** Why {@link #all()} could not make them: a skip (a RuntimeException) or a failure (an AssertionError). */
    private static Throwable failure;

    private RealCores() {}

    /**
     * Every program of every architecture with its core, built on the first call in this JVM (a few
     * seconds) and the same afterwards; aborts or fails the caller, every time, if they cannot be made.
     */
    static synchronized List<RealCore> all() {
        if (cores == null && failure == null) {
            try {
                cores = build();
            } catch (RuntimeException | AssertionError e) {
                failure = e;
            }
        }
        if (failure instanceof RuntimeException e) {
            throw e;
        } else if (failure instanceof AssertionError e) {
            throw e;
        }
        return cores;
    }

    /** One core, by architecture and program name. */
    static RealCore get(String arch, String name) {
        return all().stream()
                .filter(core -> core.arch().equals(arch) && core.name().equals(name))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no real core " + arch + "/" + name));
    }

    /** The sources, {@code unwinder-cli/src/test/c/realcore}. */
    static Path sources() {
        return Fixtures.repository().resolve("unwinder-cli/src/test/c/realcore");
    }

    /** Where the programs and cores go, {@code unwinder-cli/target/real-cores}. */
    static Path output() {
        return Fixtures.repository().resolve("unwinder-cli/target/real-cores");
    }

    private static List<RealCore> build() {
        requireTools();
        requireKernelCorePattern();
        List<RealCore> built = new ArrayList<>();
        for (String arch : ARCHES) {
            for (Program program : PROGRAMS) {
                built.add(build(arch, program.name(), program.signal()));
            }
        }
        return List.copyOf(built);
    }

    private static RealCore build(String arch, String name, int signal) {
        Path dir = output().resolve(arch).resolve(name);
        deleteRecursively(dir);
        createDirectories(dir);
        boolean cxx = Files.exists(sources().resolve(name + ".cc"));
        Path source = sources().resolve(name + (cxx ? ".cc" : ".c"));
        Path program = dir.resolve(name);
        List<String> compile = new ArrayList<>();
        compile.add(compiler(arch, cxx));
        compile.addAll(FLAGS);
        if (!arch.equals("x86_64")) {
            compile.add("-no-pie");
        }
        if (arch.equals("s390x")) {
            compile.add("-mbackchain");
        }
        compile.addAll(List.of("-o", program.toString(), source.toString()));
        Result compiled = run(compile, dir, COMPILE_TIMEOUT);
        if (compiled.status() != 0) {
            fail(arch + "/" + name + ": the compiler failed with status " + compiled.status() + ":\n"
                    + String.join(" ", compile) + "\n" + compiled.output());
        }

        Path sysroot = arch.equals("x86_64") ? null : Path.of("/usr", triple(arch));
        List<String> crash = sysroot == null
                ? List.of("bash", "-c", "ulimit -c unlimited && exec \"$@\"", "bash", "./" + name)
                : List.of("bash", "-c",
                        "echo 0 > /proc/self/coredump_filter && ulimit -c unlimited && ulimit -s 1024 && exec \"$@\"",
                        "bash", "qemu-" + arch, "-L", sysroot.toString(), "-s", "1M", "./" + name);
        Result crashed = run(crash, dir, CRASH_TIMEOUT);
        if (crashed.status() != 128 + signal) {
            fail(arch + "/" + name + ": expected death by signal " + signal + " (status " + (128 + signal)
                    + "), got status " + crashed.status() + ":\n" + crashed.output());
        }
        Path core = dir.resolve("core");
        Path written = sysroot == null ? kernelCore(dir, crashed) : qemuCore(dir, name, crashed);
        if (!written.equals(core)) {
            move(written, core);
        }
        return new RealCore(arch, name, program, core, sysroot);
    }

    /** The kernel's core: {@code core}, {@code core.PID} with {@code kernel.core_uses_pid}, or what the pattern names. */
    private static Path kernelCore(Path dir, Result crashed) {
        List<Path> candidates = list(dir).stream().filter(RealCores::isElfCore).toList();
        if (candidates.size() != 1) {
            fail("expected one kernel core in " + dir + ", found " + candidates + " (kernel.core_pattern is '"
                    + corePattern() + "'):\n" + crashed.output());
        }
        return candidates.getFirst();
    }

    /** qemu's guest core, {@code qemu_<name>_<date>_<pid>.core}; the kernel's small core of qemu itself is deleted. */
    private static Path qemuCore(Path dir, String name, Result crashed) {
        List<Path> files = list(dir);
        List<Path> guest = files.stream()
                .filter(file -> file.getFileName().toString().startsWith("qemu_" + name + "_")
                        && file.getFileName().toString().endsWith(".core"))
                .toList();
        if (guest.size() != 1) {
            fail("expected one qemu core qemu_" + name + "_*.core in " + dir + ", found " + files + ":\n"
                    + crashed.output());
        }
        for (Path file : files) {
            if (!guest.contains(file) && isElfCore(file)) {
                delete(file);
            }
        }
        return guest.getFirst();
    }

    private static boolean isElfCore(Path file) {
        if (!Files.isRegularFile(file)) {
            return false;
        }
        byte[] header = new byte[18];
        try (var in = Files.newInputStream(file)) {
            if (in.readNBytes(header, 0, header.length) != header.length) {
                return false;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // "\x7fELF", then e_type ET_CORE (4) in the file's byte order (EI_DATA: 1 little, 2 big).
        boolean elf = header[0] == 0x7f && header[1] == 'E' && header[2] == 'L' && header[3] == 'F';
        int type = header[5] == 2 ? (header[16] & 0xff) << 8 | (header[17] & 0xff) : (header[17] & 0xff) << 8 | (header[16] & 0xff);
        return elf && type == 4;
    }

    static String triple(String arch) {
        return arch + "-linux-gnu";
    }

    private static String compiler(String arch, boolean cxx) {
        String prefix = arch.equals("x86_64") ? "" : triple(arch) + "-";
        return prefix + (cxx ? "g++" : "gcc");
    }

    /** Every tool the builds need, with the Debian package that has it; one message for all that are missing. */
    private static void requireTools() {
        String host = System.getProperty("os.arch");
        if (!host.equals("amd64") && !host.equals("x86_64")) {
            unavailable("the real-core tests make x86_64 kernel cores, so they need an x86_64 host; this one is " + host);
        }
        Map<String, String> tools = new LinkedHashMap<>();
        tools.put("bash", "bash");
        tools.put("gcc", "gcc");
        tools.put("g++", "g++");
        for (String arch : ARCHES.subList(1, ARCHES.size())) {
            String debian = arch.equals("aarch64") ? "arm64" : arch;
            tools.put(compiler(arch, false), "gcc-" + triple(arch) + " (and libc6-dev-" + debian + "-cross)");
            tools.put(compiler(arch, true), "g++-" + triple(arch));
            tools.put("qemu-" + arch, "qemu-user");
        }
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, String> tool : tools.entrySet()) {
            if (onPath(tool.getKey()) == null) {
                missing.add(tool.getKey() + " (Debian package " + tool.getValue() + ")");
            }
        }
        for (String arch : ARCHES.subList(1, ARCHES.size())) {
            Path libc = Path.of("/usr", triple(arch), "lib", "libc.so.6");
            if (!Files.exists(libc)) {
                missing.add(libc + " (Debian package libc6-" + (arch.equals("aarch64") ? "arm64" : arch) + "-cross)");
            }
        }
        if (!missing.isEmpty()) {
            unavailable("the real-core tests need " + String.join(", ", missing)
                    + "; .ci/run installs them (apt-get install g++ gcc-aarch64-linux-gnu g++-aarch64-linux-gnu"
                    + " gcc-s390x-linux-gnu g++-s390x-linux-gnu qemu-user)");
        }
    }

    /** The kernel must write a core file into the crashing process's working directory. */
    private static void requireKernelCorePattern() {
        String pattern = corePattern();
        if (pattern.startsWith("|") || pattern.contains("/") || pattern.isEmpty()) {
            unavailable("kernel.core_pattern is '" + pattern + "': the x86_64 real-core tests need the kernel to write"
                    + " a core file into the crashing process's working directory; as root, on the host (a container"
                    + " shares it): sysctl -w kernel.core_pattern=core");
        }
    }

    static String corePattern() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/core_pattern"), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    /** A file on the PATH, or null. */
    static Path onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, command);
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    /** Fails on CI ({@code CI=true}), where every test must run; skips elsewhere. Never returns. */
    static void unavailable(String why) {
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail(why + " (CI=true: these tests must run)");
        }
        Assumptions.abort(why);
    }

    /** A finished process: its exit status (128 + the signal that killed it) and its stdout and stderr, interleaved. */
    record Result(int status, String output) {}

    /** Runs a command in a directory, its output to a file; destroys it and fails when it outlives the timeout. */
    static Result run(List<String> command, Path dir, Duration timeout) {
        try {
            Path log = Files.createTempFile("real-cores", ".log");
            try {
                Process process = new ProcessBuilder(command)
                        .directory(dir.toFile())
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                        .start();
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                    fail(String.join(" ", command) + " in " + dir + " did not finish in " + timeout.toSeconds()
                            + " s:\n" + Files.readString(log, StandardCharsets.UTF_8));
                }
                return new Result(process.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(log);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + command, e);
        }
    }

    private static List<Path> list(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(RealCores::delete);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void delete(Path file) {
        try {
            Files.delete(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void move(Path from, Path to) {
        try {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
