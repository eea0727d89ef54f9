package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * Real ELF files and cores for the tests of this module, made on this machine: programs of
 * {@code src/test/c} built by gcc (and aarch64-linux-gnu-gcc), the binutils that look at them
 * ({@code nm}, {@code readelf}, {@code objcopy}, {@code strip}) as oracles, and cores that the kernel
 * (x86_64) and qemu-user (aarch64) write when those programs crash. Everything goes under
 * {@code unwinder-elf/target/elf-tests/}.
 *
 * <p>A missing tool fails the caller on CI ({@code CI=true}, naming the Debian package) and skips
 * it elsewhere, as {@code unwinder-cli}'s {@code RealCores} does. Every process is bounded by a
 * timeout and destroyed when it overruns.
 */
final class TestPrograms {
    /** The C library of this machine, whose symbols the tests compare with nm's. */
    static final Path LIBC = Path.of("/lib/x86_64-linux-gnu/libc.so.6");

    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final Map<String, String> PACKAGES = Map.ofEntries(
            Map.entry("gcc", "gcc"), Map.entry("nm", "binutils"), Map.entry("readelf", "binutils"),
            Map.entry("objcopy", "binutils"), Map.entry("strip", "binutils"), Map.entry("xz", "xz-utils"),
            Map.entry("bash", "bash"), Map.entry("awk", "mawk"), Map.entry("sort", "coreutils"),
            Map.entry("comm", "coreutils"), Map.entry("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
            Map.entry("qemu-aarch64", "qemu-user"));

    private static KernelCore kernelCore;
    private static QemuCore qemuCore;
    private static Throwable kernelCoreFailure;
    private static Throwable qemuCoreFailure;

    private TestPrograms() {}

    /** The C sources, {@code unwinder-elf/src/test/c}. */
    static Path sources() {
        return module().resolve("src/test/c");
    }

    /** This module's directory: the surefire property's repository, else the working directory. */
    static Path module() {
        String repository = System.getProperty("unwinder.repository");
        if (repository != null && Files.isDirectory(Path.of(repository, "unwinder-elf"))) {
            return Path.of(repository, "unwinder-elf");
        }
        Path here = Path.of("").toAbsolutePath();
        return Files.isDirectory(here.resolve("src/test/c")) ? here : here.resolve("unwinder-elf");
    }

    /** A new, empty directory {@code unwinder-elf/target/elf-tests/<name>}. */
    static Path freshDirectory(String name) {
        Path dir = module().resolve("target/elf-tests").resolve(name);
        deleteRecursively(dir);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir;
    }

    /** Each tool must be on the PATH: one message, with the Debian packages, for all that are not. */
    static void requireTools(String... tools) {
        List<String> missing = new ArrayList<>();
        for (String tool : tools) {
            if (onPath(tool) == null) {
                missing.add(tool + " (Debian package " + PACKAGES.getOrDefault(tool, tool) + ")");
            }
        }
        if (!missing.isEmpty()) {
            unavailable("these tests need " + String.join(", ", missing));
        }
    }

    /** The file must exist, else the test cannot run; {@code debianPackage} has it. */
    static void requireFile(Path file, String debianPackage) {
        if (!Files.isRegularFile(file)) {
            unavailable("these tests need " + file + " (Debian package " + debianPackage + ")");
        }
    }

    /** Fails on CI ({@code CI=true}), where every test must run; skips elsewhere. Never returns. */
    static void unavailable(String why) {
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail(why + " (CI=true: these tests must run)");
        }
        Assumptions.abort(why);
    }

    private static Path onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, command);
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    /** A finished process: its exit status (128 + the signal that killed it), its stdout and its stderr. */
    record Result(int status, String out, String err) {}

    /** Runs a command in a directory; destroys it and fails when it outlives two minutes. */
    static Result run(Path dir, List<String> command) {
        try {
            Path out = Files.createTempFile("elf-tests", ".out");
            Path err = Files.createTempFile("elf-tests", ".err");
            try {
                Process process = new ProcessBuilder(command)
                        .directory(dir.toFile())
                        .redirectOutput(out.toFile())
                        .redirectError(err.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                        .start();
                if (!process.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    process.destroyForcibly();
                    process.waitFor(10, TimeUnit.SECONDS);
                    fail(String.join(" ", command) + " in " + dir + " did not finish in " + TIMEOUT.toSeconds() + " s");
                }
                return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                        Files.readString(err, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + command, e);
        }
    }

    /** Runs a command that must succeed, and returns its stdout. */
    static String check(Path dir, String... command) {
        Result result = run(dir, List.of(command));
        if (result.status() != 0) {
            fail(String.join(" ", command) + " in " + dir + " failed with status " + result.status() + ":\n"
                    + result.out() + result.err());
        }
        return result.out();
    }

    /** Runs a shell command line that must succeed, and returns its stdout. */
    static String shell(Path dir, String commandLine) {
        return check(dir, "bash", "-c", "set -euo pipefail; " + commandLine);
    }

    /**
     * {@code src/test/c/symbols.c} built into {@code dir/name} by gcc with {@code -O1 -g -rdynamic},
     * a position-independent executable.
     */
    static Path symbolsProgram(Path dir, String name) {
        requireTools("gcc");
        Path program = dir.resolve(name);
        check(dir, "gcc", "-O1", "-g", "-rdynamic", "-o", program.toString(), sources().resolve("symbols.c").toString());
        return program;
    }

    /**
     * One symbol as {@code nm --format=sysv} prints it.
     *
     * @param name its name, without a symbol version
     * @param value its value
     * @param size its size; 0 where nm prints none
     * @param type its ELF type: {@code FUNC}, {@code OBJECT}, ...; an IFUNC is {@code <OS specific>: 10}
     * @param letter nm's one-letter class: {@code T} global text, {@code t} local, {@code W} weak, ...
     */
    record NmSymbol(String name, long value, long size, String type, String letter) {
        /** Whether the symbol is a function: of type FUNC, or GNU_IFUNC (10), which the table also reads. */
        boolean isFunction() {
            return type.equals("FUNC") || type.equals("<OS specific>: 10");
        }

        /** Whether it covers an address. */
        boolean covers(long address) {
            return Long.compareUnsigned(address - value, size) < 0;
        }
    }

    /**
     * The defined symbols of a file by nm: {@code nm --format=sysv --defined-only
     * --without-symbol-versions}, of {@code .dynsym} with {@code dynamic}, else of {@code .symtab}.
     */
    static List<NmSymbol> nm(Path file, boolean dynamic) {
        requireTools("nm");
        List<String> command = new ArrayList<>(List.of("nm", "--format=sysv", "--defined-only", "--without-symbol-versions"));
        if (dynamic) {
            command.add("--dynamic");
        }
        command.add(file.toString());
        Result result = run(file.toAbsolutePath().getParent(), command);
        if (result.status() != 0 && !result.err().contains("no symbols")) {
            fail(String.join(" ", command) + " failed with status " + result.status() + ": " + result.err());
        }
        List<NmSymbol> symbols = new ArrayList<>();
        for (String line : result.out().lines().toList()) {
            String[] fields = line.split("\\|", -1);
            if (fields.length != 7 || fields[1].isBlank() || !fields[1].strip().matches("[0-9a-f]+")) {
                continue; // the title, the column heads, blank lines
            }
            String size = fields[4].strip();
            symbols.add(new NmSymbol(fields[0].strip(), Long.parseUnsignedLong(fields[1].strip(), 16),
                    size.isEmpty() ? 0 : Long.parseUnsignedLong(size, 16), fields[3].strip(), fields[2].strip()));
        }
        if (symbols.isEmpty()) {
            fail(String.join(" ", command) + " printed no symbols:\n" + result.out() + result.err());
        }
        return symbols;
    }

    /** The function symbols of a non-zero size among nm's symbols. */
    static List<NmSymbol> sizedFunctions(List<NmSymbol> symbols) {
        return symbols.stream().filter(symbol -> symbol.isFunction() && symbol.size() > 0).toList();
    }

    private static final Pattern BUILD_ID = Pattern.compile("Build ID: ([0-9a-f]+)");

    /** A file's build-id as {@code readelf -n} prints it, or null if it has none. */
    static String readelfBuildId(Path file) {
        requireTools("readelf");
        Matcher matcher = BUILD_ID.matcher(check(file.toAbsolutePath().getParent(), "readelf", "-n", file.toString()));
        return matcher.find() ? matcher.group(1) : null;
    }

    /** The directory of {@code debugDirectory} where a file of this build-id goes: {@code .build-id/xx/rest.debug}. */
    static Path buildIdPath(Path debugDirectory, String buildId) {
        return debugDirectory.resolve(".build-id").resolve(buildId.substring(0, 2)).resolve(buildId.substring(2) + ".debug");
    }

    /** The debug file of this machine's C library, by its build-id under {@code /usr/lib/debug}. */
    static Path libcDebugFile() {
        requireFile(LIBC, "libc6");
        String buildId = readelfBuildId(LIBC);
        Path debug = buildIdPath(SymbolFiles.DEFAULT_DEBUG_DIRECTORY, buildId);
        requireFile(debug, "libc6-dbg");
        return debug;
    }

    /** One line of {@code /proc/self/maps}: the mapping's start, end, file offset and path (empty for an anonymous one). */
    record MapLine(long start, long end, long offset, String path) {}

    /** One module of {@code dl_iterate_phdr}: its load bias and its name (empty for the program). */
    record LoadedModule(long bias, String name) {}

    /**
     * A program and its shared library built here, the core its crash left, and what it wrote down of
     * its own modules before it crashed.
     *
     * @param dir the directory of it all
     * @param program the program, {@code crash}
     * @param library its shared library, {@code libcrashlib.so}
     * @param core the core
     * @param maps the program's {@code /proc/self/maps}
     * @param loaded its modules, by {@code dl_iterate_phdr}
     */
    record CrashCore(Path dir, Path program, Path library, Path core, List<MapLine> maps, List<LoadedModule> loaded) {
        /** The lowest start and highest end of the mappings of one file, by its path in maps.txt. */
        long[] span(String path) {
            List<MapLine> lines = maps.stream().filter(line -> line.path().equals(path)).toList();
            if (lines.isEmpty()) {
                fail("no mapping of " + path + " in " + dir.resolve("maps.txt"));
            }
            return new long[] {lines.stream().mapToLong(MapLine::start).min().orElseThrow(),
                lines.stream().mapToLong(MapLine::end).max().orElseThrow()};
        }
    }

    /** A kernel core of an x86_64 program. */
    record KernelCore(CrashCore crash) {}

    /** A qemu-user core of an aarch64 program, and the sysroot it ran with. */
    record QemuCore(CrashCore crash, Path sysroot) {}

    /**
     * {@code crash.c} with {@code crashlib.c}, built as a position-independent x86_64 program,
     * crashed under {@code bash -c 'ulimit -c unlimited; exec ./crash'}, and the kernel's core of it:
     * made on the first call in this JVM, the same afterwards.
     */
    static synchronized KernelCore kernelCore() {
        if (kernelCore == null && kernelCoreFailure == null) {
            try {
                kernelCore = makeKernelCore();
            } catch (RuntimeException | AssertionError e) {
                kernelCoreFailure = e;
            }
        }
        rethrow(kernelCoreFailure);
        return kernelCore;
    }

    /**
     * {@code crash.c} with {@code crashlib.c}, built for aarch64 with {@code -no-pie}, crashed under
     * {@code qemu-aarch64 -L /usr/aarch64-linux-gnu}, and qemu's core of it: made on the first call
     * in this JVM, the same afterwards.
     */
    static synchronized QemuCore qemuCore() {
        if (qemuCore == null && qemuCoreFailure == null) {
            try {
                qemuCore = makeQemuCore();
            } catch (RuntimeException | AssertionError e) {
                qemuCoreFailure = e;
            }
        }
        rethrow(qemuCoreFailure);
        return qemuCore;
    }

    private static void rethrow(Throwable failure) {
        if (failure instanceof RuntimeException e) {
            throw e;
        } else if (failure instanceof AssertionError e) {
            throw e;
        }
    }

    private static KernelCore makeKernelCore() {
        requireTools("bash", "gcc");
        String arch = System.getProperty("os.arch");
        if (!arch.equals("amd64") && !arch.equals("x86_64")) {
            unavailable("the kernel-core tests need an x86_64 host; this one is " + arch);
        }
        String pattern = corePattern();
        if (pattern.startsWith("|") || pattern.contains("/") || pattern.isEmpty()) {
            unavailable("kernel.core_pattern is '" + pattern + "': these tests need the kernel to write a core file into"
                    + " the crashing process's working directory; as root, on the host: sysctl -w kernel.core_pattern=core");
        }
        Path dir = freshDirectory("kernel-core");
        build(dir, "gcc", List.of());
        Result crashed = run(dir, List.of("bash", "-c", "ulimit -c unlimited; exec ./crash"));
        if (crashed.status() != 128 + 6) {
            fail("expected death by SIGABRT (status 134), got status " + crashed.status() + ":\n" + crashed.out() + crashed.err());
        }
        List<Path> cores = list(dir).stream().filter(TestPrograms::isElfCore).toList();
        if (cores.size() != 1) {
            fail("expected one kernel core in " + dir + ", found " + cores + " (kernel.core_pattern is '" + pattern + "')");
        }
        return new KernelCore(crashCore(dir, cores.getFirst()));
    }

    private static QemuCore makeQemuCore() {
        requireTools("bash", "aarch64-linux-gnu-gcc", "qemu-aarch64");
        Path sysroot = Path.of("/usr/aarch64-linux-gnu");
        requireFile(sysroot.resolve("lib/libc.so.6"), "libc6-arm64-cross");
        Path dir = freshDirectory("qemu-core");
        build(dir, "aarch64-linux-gnu-gcc", List.of("-no-pie"));
        // qemu writes the guest's stack in full: a 1 MiB limit keeps the core small. coredump_filter 0
        // asks the kernel not to dump qemu itself; the small core it may still write is deleted.
        Result crashed = run(dir, List.of("bash", "-c",
                "echo 0 > /proc/self/coredump_filter; ulimit -c unlimited; ulimit -s 1024; exec qemu-aarch64 -L "
                        + sysroot + " -s 1M ./crash"));
        if (crashed.status() != 128 + 6) {
            fail("expected death by SIGABRT (status 134), got status " + crashed.status() + ":\n" + crashed.out() + crashed.err());
        }
        List<Path> guest = list(dir).stream()
                .filter(file -> file.getFileName().toString().startsWith("qemu_crash_")
                        && file.getFileName().toString().endsWith(".core"))
                .toList();
        if (guest.size() != 1) {
            fail("expected one qemu core qemu_crash_*.core in " + dir + ", found " + list(dir));
        }
        for (Path file : list(dir)) {
            if (!guest.contains(file) && isElfCore(file)) {
                delete(file);
            }
        }
        return new QemuCore(crashCore(dir, guest.getFirst()), sysroot);
    }

    private static void build(Path dir, String compiler, List<String> programFlags) {
        List<String> flags = List.of("-O2", "-g", "-fno-omit-frame-pointer");
        List<String> library = new ArrayList<>(List.of(compiler));
        library.addAll(flags);
        library.addAll(List.of("-shared", "-fPIC", "-o", "libcrashlib.so", sources().resolve("crashlib.c").toString()));
        check(dir, library.toArray(String[]::new));
        List<String> program = new ArrayList<>(List.of(compiler));
        program.addAll(flags);
        program.addAll(programFlags);
        program.addAll(List.of("-o", "crash", sources().resolve("crash.c").toString(), "-L.", "-lcrashlib",
                "-Wl,-rpath,$ORIGIN"));
        check(dir, program.toArray(String[]::new));
    }

    private static CrashCore crashCore(Path dir, Path core) {
        List<MapLine> maps = new ArrayList<>();
        for (String line : lines(dir.resolve("maps.txt"))) {
            // start-end perms offset dev inode [path]
            String[] fields = line.strip().split("\\s+", 6);
            String[] range = fields[0].split("-");
            maps.add(new MapLine(Long.parseUnsignedLong(range[0], 16), Long.parseUnsignedLong(range[1], 16),
                    Long.parseUnsignedLong(fields[2], 16), fields.length == 6 ? fields[5] : ""));
        }
        List<LoadedModule> loaded = new ArrayList<>();
        for (String line : lines(dir.resolve("modules.txt"))) {
            int space = line.indexOf(' ');
            loaded.add(new LoadedModule(Long.parseUnsignedLong(line.substring(0, space), 16), line.substring(space + 1)));
        }
        return new CrashCore(dir, dir.resolve("crash"), dir.resolve("libcrashlib.so"), core, List.copyOf(maps),
                List.copyOf(loaded));
    }

    private static String corePattern() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/core_pattern"), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
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
        boolean elf = header[0] == 0x7f && header[1] == 'E' && header[2] == 'L' && header[3] == 'F';
        int type = header[5] == 2 ? (header[16] & 0xff) << 8 | (header[17] & 0xff) : (header[17] & 0xff) << 8 | (header[16] & 0xff);
        return elf && type == ElfFile.ET_CORE;
    }

    /** A hex string of bytes, as readelf prints a build-id. */
    static String hex(byte[] bytes) {
        return bytes == null ? null : HexFormat.of().formatHex(bytes);
    }

    static List<String> lines(Path file) {
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void write(Path file, byte[] bytes) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void copy(Path from, Path to) {
        write(to, read(from));
    }

    static List<Path> list(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(TestPrograms::delete);
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

    /** The real path of a file, through symbolic links such as Debian's {@code /lib -> usr/lib}. */
    static Path real(Path file) {
        try {
            return file.toRealPath();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Keeps the order of first appearance: a map from key to every value with that key. */
    static <T> Map<String, List<T>> group(List<T> values, java.util.function.Function<T, String> key) {
        Map<String, List<T>> groups = new LinkedHashMap<>();
        for (T value : values) {
            groups.computeIfAbsent(key.apply(value), k -> new ArrayList<>()).add(value);
        }
        return groups;
    }
}
