package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.unwinder.api.StackMemory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link CfiWalk} on real cores of {@code src/test/c/cfiwalk.c} (threads blocked in the C library,
 * one in a leaf function without a frame, threads blocked in signal handlers, a main thread
 * aborting inside the C library), built with
 * {@code -O2 -g -fno-omit-frame-pointer} and dynamically linked, with gdb as the oracle: for every
 * thread, the walk's pcs start with the pcs of gdb's frames, in order. gdb's inline frames and its
 * tail-call frames (which it makes up from DWARF call-site information; they are not on the stack)
 * are left out of the comparison. On x86_64 also {@code src/test/c/cfiwalk_segv.c}: a segfault in
 * the C library's {@code strlen}, under a comparator that {@code qsort} calls. The walk may find more frames than gdb (gdb stops at
 * {@code main}). Once the modules' tables are loaded, walking every thread again allocates nothing.
 *
 * <p>Signal frames: on the x86_64 kernel core, one handler returns to the C library's
 * {@code __restore_rt} (its CFI) and one to a restorer of the program's own without CFI, which
 * the walk recognizes by its code, as gdb does; on the s390x qemu core, qemu's trampoline, in no
 * module. gdb does not get past the aarch64 qemu trampoline (it does not return), so that core's
 * handler thread is checked against the program's own call chain instead.
 */
final class CfiWalkCoreTest {
    private static final int MAX_FRAMES = 256;

    private static Arena arena;

    @BeforeAll
    static void open() {
        arena = Arena.ofShared();
    }

    @AfterAll
    static void close() {
        if (arena != null) {
            arena.close();
        }
    }

    /** One frame of a walk. */
    private record Frame(long pc, CfiWalk.How how) {}

    /** The frames of each thread and the end of its walk, by thread id. */
    private record Walks(Map<Integer, List<Frame>> frames, Map<Integer, CfiWalk.End> ends) {}

    @Test
    void x86_64KernelCoreMatchesGdb() {
        Path core = kernelCore("cfiwalk-kernel", "cfiwalk.c", List.of("-DCFIWALK_SIGNAL"), 6);
        Path dir = core.getParent();
        Map<CfiWalk.How, Integer> byHow = compare(dir, core, null, "gdb");
        assertEquals(1, byHow.getOrDefault(CfiWalk.How.SIGNAL, 0), "frames out of the program's own restorer");
    }

    @Test
    void x86_64SegfaultInsideTheCLibraryMatchesGdb() {
        Path core = kernelCore("cfiwalk-kernel-segv", "cfiwalk_segv.c", List.of(), 11);
        Path dir = core.getParent();
        compare(dir, core, null, "gdb");
    }

    /** pc 0 after a call through a null function pointer: the entry rule finds the caller, as gdb does. */
    @Test
    void x86_64NullFunctionPointerMatchesGdb() {
        Path core = kernelCore("cfiwalk-kernel-null", "cfiwalk_null.c", List.of(), 11);
        Path dir = core.getParent();
        assertEquals(1, compare(dir, core, null, "gdb").getOrDefault(CfiWalk.How.ENTRY, 0));
    }

    @Test
    void aarch64NullFunctionPointerMatchesGdb() {
        qemuNullFunctionPointerMatchesGdb("aarch64");
    }

    @Test
    void s390xNullFunctionPointerMatchesGdb() {
        qemuNullFunctionPointerMatchesGdb("s390x");
    }

    /** The null function pointer program under qemu-user for {@code arch}: one frame by the entry rule. */
    private static void qemuNullFunctionPointerMatchesGdb(String arch) {
        Path sysroot = Path.of("/usr/" + arch + "-linux-gnu");
        Path core = qemuCore(arch + "-null", "cfiwalk_null.c", 11, arch + "-linux-gnu-gcc", "qemu-" + arch, sysroot,
                List.of());
        assertEquals(1, compare(core.getParent(), core, sysroot, "gdb-multiarch").getOrDefault(CfiWalk.How.ENTRY, 0));
    }

    @Test
    void aarch64QemuCoreMatchesGdb() {
        Path sysroot = Path.of("/usr/aarch64-linux-gnu");
        Path core = qemuCore("aarch64", "cfiwalk.c", 6, "aarch64-linux-gnu-gcc", "qemu-aarch64", sysroot, List.of());
        compare(core.getParent(), core, sysroot, "gdb-multiarch");
    }

    @Test
    void s390xQemuCoreMatchesGdb() {
        Path sysroot = Path.of("/usr/s390x-linux-gnu");
        Path core = qemuCore("s390x", "cfiwalk.c", 6, "s390x-linux-gnu-gcc", "qemu-s390x", sysroot, List.of("-DCFIWALK_SIGNAL"));
        Map<CfiWalk.How, Integer> byHow = compare(core.getParent(), core, sysroot, "gdb-multiarch");
        assertEquals(1, byHow.getOrDefault(CfiWalk.How.SIGNAL, 0), "frames out of qemu's signal trampoline");
    }

    /**
     * Return addresses signed with pointer authentication (B key), on qemu's {@code -cpu max}: gdb
     * stops at the first signed one (the qemu core keeps no PAC mask); the walk strips the
     * signature and goes on, through every frame gdb finds, to {@code main} and the thread's start.
     */
    @Test
    void aarch64PointerAuthenticatedFramesGoPastGdb() throws ElfException {
        Path sysroot = Path.of("/usr/aarch64-linux-gnu");
        Path corePath = qemuCoreWith("aarch64-pac", "cfiwalk.c", 6, "aarch64-linux-gnu-gcc",
                "qemu-aarch64 -cpu max -L " + sysroot, sysroot, List.of("-mbranch-protection=pac-ret+b-key"));
        compare(corePath.getParent(), corePath, sysroot, "gdb-multiarch");
        CoreFile core = CoreFile.read(ElfFile.open(corePath, arena));
        SymbolFiles files = SymbolFiles.of(arena, sysroot, List.of(SymbolFiles.DEFAULT_DEBUG_DIRECTORY),
                List.of(corePath.resolveSibling("cfiwalk")), Demangler.none());
        ModuleMap modules = CoreModules.find(core, files).modules();
        Walks walks = walk(core, modules);
        List<Frame> crashed = walks.frames().get(core.threads().getFirst().tid());
        List<String> names = new ArrayList<>();
        for (int i = 0; i < crashed.size(); i++) {
            names.add(name(modules, i == 0 ? crashed.get(i).pc() : crashed.get(i).pc() - 1));
        }
        assertEquals(4, names.stream().filter("crash_here"::equals).count(), names.toString());
        assertTrue(names.contains("main"), names.toString());
        assertEquals(CfiWalk.End.OUTERMOST, walks.ends().get(core.threads().getFirst().tid()), names.toString());
    }

    /**
     * The handler thread of an aarch64 qemu core: from {@code nanosleep} in the handler, through
     * qemu's trampoline (in no module, no CFI), to the {@code read} the signal interrupted and on to
     * the thread's start.
     */
    @Test
    void aarch64QemuSignalTrampolineIsCrossed() throws ElfException {
        Path sysroot = Path.of("/usr/aarch64-linux-gnu");
        Path corePath = qemuCore("aarch64-signal", "cfiwalk.c", 6, "aarch64-linux-gnu-gcc", "qemu-aarch64", sysroot,
                List.of("-DCFIWALK_SIGNAL"));
        CoreFile core = CoreFile.read(ElfFile.open(corePath, arena));
        SymbolFiles files = SymbolFiles.of(arena, sysroot, List.of(SymbolFiles.DEFAULT_DEBUG_DIRECTORY),
                List.of(corePath.resolveSibling("cfiwalk")), Demangler.none());
        ModuleMap modules = CoreModules.find(core, files).modules();
        Walks walks = walk(core, modules);
        List<String> handlerThreads = new ArrayList<>();
        for (Map.Entry<Integer, List<Frame>> thread : walks.frames().entrySet()) {
            List<Frame> frames = thread.getValue();
            List<String> names = new ArrayList<>();
            for (int i = 0; i < frames.size(); i++) {
                Frame frame = frames.get(i);
                // A return address is named by the call before it; the innermost pc and one a signal
                // interrupted, by themselves.
                boolean exact = i == 0 || frame.how() == CfiWalk.How.SIGNAL;
                names.add(name(modules, exact ? frame.pc() : frame.pc() - 1) + "/" + frame.how());
            }
            if (names.stream().anyMatch(n -> n.startsWith("handler/"))) {
                handlerThreads.add(thread.getKey() + ": " + names + " " + walks.ends().get(thread.getKey()));
                int handler = names.indexOf("handler/CFI");
                assertTrue(handler >= 2 && names.get(handler - 1).endsWith("nanosleep/CFI"), handlerThreads.getLast());
                assertEquals("??/CFI", names.get(handler + 1), handlerThreads.getLast());
                assertEquals("read/SIGNAL", names.get(handler + 2), handlerThreads.getLast());
                assertEquals("signalled_forever/CFI", names.get(handler + 3), handlerThreads.getLast());
                assertEquals(CfiWalk.End.OUTERMOST, walks.ends().get(thread.getKey()), handlerThreads.getLast());
            }
        }
        assertEquals(1, handlerThreads.size(), handlerThreads.toString());
    }

    private static String name(ModuleMap modules, long address) {
        String name = modules.symbolName(address);
        return name == null ? "??" : name;
    }

    /** Builds a test program for this x86_64 host and crashes it; returns the kernel's core. */
    private static Path kernelCore(String name, String source, List<String> defines, int signal) {
        TestPrograms.requireTools("bash", "gcc", "gdb");
        String arch = System.getProperty("os.arch");
        if (!arch.equals("amd64") && !arch.equals("x86_64")) {
            TestPrograms.unavailable("the kernel-core test needs an x86_64 host; this one is " + arch);
        }
        Path dir = TestPrograms.freshDirectory(name);
        build(dir, "gcc", source, defines);
        TestPrograms.Result crashed = TestPrograms.run(dir, List.of("bash", "-c", "ulimit -c unlimited; exec ./cfiwalk"));
        assertEquals(128 + signal, crashed.status(), crashed.err());
        Path core = dir.resolve("core");
        assertTrue(Files.isRegularFile(core), "no core in " + dir + ": kernel.core_pattern must be 'core'");
        return core;
    }

    /** Builds a test program for an architecture and crashes it under qemu-user; returns qemu's core. */
    private static Path qemuCore(String name, String source, int signal, String compiler, String qemu, Path sysroot,
                                 List<String> defines) {
        return qemuCoreWith(name, source, signal, compiler, qemu + " -L " + sysroot, sysroot, defines);
    }

    /** As above, with qemu's whole command line up to the program ({@code qemu-aarch64 -cpu max -L DIR}). */
    private static Path qemuCoreWith(String name, String source, int signal, String compiler, String qemuCommand,
                                     Path sysroot, List<String> defines) {
        String qemu = qemuCommand.split(" ")[0];
        TestPrograms.requireTools("bash", compiler, qemu, "gdb-multiarch");
        Path dir = TestPrograms.freshDirectory("cfiwalk-" + name);
        List<String> options = new ArrayList<>(List.of("-no-pie"));
        options.addAll(defines);
        build(dir, compiler, source, options);
        TestPrograms.Result crashed = TestPrograms.run(dir, List.of("bash", "-c",
                "echo 0 > /proc/self/coredump_filter; ulimit -c unlimited; ulimit -s 1024; exec " + qemuCommand
                        + " -s 1M ./cfiwalk"));
        assertEquals(128 + signal, crashed.status(), crashed.err());
        List<Path> cores = list(dir).stream().filter(f -> f.getFileName().toString().startsWith("qemu_cfiwalk_")
                && f.getFileName().toString().endsWith(".core")).toList();
        assertEquals(1, cores.size(), "qemu cores in " + dir + ": " + list(dir));
        return cores.getFirst();
    }

    private static void build(Path dir, String compiler, String source, List<String> extra) {
        List<String> command = new ArrayList<>(List.of(compiler, "-O2", "-g", "-fno-omit-frame-pointer"));
        command.addAll(extra);
        command.addAll(List.of("-o", "cfiwalk", TestPrograms.sources().resolve(source).toString(), "-lpthread"));
        TestPrograms.check(dir, command.toArray(String[]::new));
    }

    /**
     * Walks every thread of the core and compares with gdb; writes a summary to dir/summary.txt.
     * Returns the number of frames found each way.
     */
    private static Map<CfiWalk.How, Integer> compare(Path dir, Path corePath, Path sysroot, String gdb) {
        Map<Integer, List<Long>> expected = gdbFrames(dir, corePath, sysroot, gdb);
        Walks walks;
        try {
            CoreFile core = CoreFile.read(ElfFile.open(corePath, arena));
            SymbolFiles files = SymbolFiles.of(arena, sysroot, List.of(SymbolFiles.DEFAULT_DEBUG_DIRECTORY),
                    List.of(dir.resolve("cfiwalk")), Demangler.none());
            ModuleMap modules = CoreModules.find(core, files).modules();
            walks = walk(core, modules);
            assertAllocationFree(core, modules);
        } catch (ElfException e) {
            throw new AssertionError(e);
        }
        assertEquals(expected.keySet(), walks.frames().keySet());
        StringBuilder summary = new StringBuilder();
        int gdbTotal = 0;
        int walkTotal = 0;
        Map<CfiWalk.How, Integer> byHow = new TreeMap<>();
        for (Map.Entry<Integer, List<Long>> thread : expected.entrySet()) {
            List<Frame> frames = walks.frames().get(thread.getKey());
            List<Long> pcs = frames.stream().map(Frame::pc).toList();
            List<Long> want = thread.getValue();
            assertTrue(pcs.size() >= want.size() && pcs.subList(0, want.size()).equals(want),
                    "thread " + thread.getKey() + ": gdb " + hex(want) + ", walk " + hex(pcs) + " ("
                            + walks.ends().get(thread.getKey()) + ")");
            gdbTotal += want.size();
            walkTotal += frames.size();
            frames.forEach(f -> byHow.merge(f.how(), 1, Integer::sum));
            summary.append(String.format("thread %d: gdb %d, walk %d %s, end %s%n", thread.getKey(), want.size(),
                    frames.size(), frames.stream().map(f -> f.how().name().toLowerCase()).toList(),
                    walks.ends().get(thread.getKey())));
        }
        summary.append(String.format("total: gdb %d, walk %d, by how %s%n", gdbTotal, walkTotal, byHow));
        try {
            Files.writeString(dir.resolve("summary.txt"), summary);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        assertTrue(byHow.getOrDefault(CfiWalk.How.CFI, 0) > 0, summary.toString());
        return byHow;
    }

    /** Once the modules' tables are loaded, walking every thread again allocates nothing. */
    private static void assertAllocationFree(CoreFile core, ModuleMap modules) {
        CfiWalk walker = new CfiWalk(Plugins.of(core.machine()), modules, arena);
        int spRegister = Plugins.stackPointer(core.machine());
        List<CoreFile.CoreThread> threads = core.threads();
        List<long[]> registers = threads.stream().map(CoreFile.CoreThread::dwarfRegisters).toList();
        List<StackMemory> memories = registers.stream().map(r -> core.segmentMemory(r[spRegister])).toList();
        long[] frames = new long[1];
        CfiWalk.Visitor count = (index, pc, sp, how) -> {
            frames[0]++;
            return true;
        };
        Runnable walkAll = () -> {
            for (int i = 0; i < threads.size(); i++) {
                walker.walk(threads.get(i).pc(), registers.get(i), memories.get(i), null, MAX_FRAMES, count);
            }
        };
        for (int warm = 0; warm < 200; warm++) {
            walkAll.run();
        }
        frames[0] = 0;
        // The least of five counts: the JIT's own work on this thread may be counted once in a while.
        long least = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            least = Math.min(least, Allocations.bytesAllocatedBy(walkAll));
        }
        assertEquals(0, least, "bytes allocated by a walk of every thread");
        assertTrue(frames[0] > threads.size(), frames[0] + " frames");
    }

    private static Walks walk(CoreFile core, ModuleMap modules) {
        CfiWalk walker = new CfiWalk(Plugins.of(core.machine()), modules, arena);
        int spRegister = Plugins.stackPointer(core.machine());
        Map<Integer, List<Frame>> frames = new LinkedHashMap<>();
        Map<Integer, CfiWalk.End> ends = new LinkedHashMap<>();
        for (CoreFile.CoreThread thread : core.threads()) {
            long[] registers = thread.dwarfRegisters();
            var memory = core.segmentMemory(registers[spRegister]);
            assertNotNull(memory, "thread " + thread.tid() + ": no stack memory");
            List<Frame> list = new ArrayList<>();
            ends.put(thread.tid(), walker.walk(thread.pc(), registers, memory, core::segmentMemory, MAX_FRAMES,
                    (index, pc, sp, how) -> {
                list.add(new Frame(pc, how));
                return true;
            }));
            frames.put(thread.tid(), list);
        }
        return new Walks(frames, ends);
    }

    /** gdb's real frames' pcs per thread: its NORMAL and SIGTRAMP frames, not INLINE or TAILCALL ones. */
    private static Map<Integer, List<Long>> gdbFrames(Path dir, Path core, Path sysroot, String gdb) {
        Path script = TestPrograms.module().resolveSibling("scripts").resolve("gdb_frames.py");
        List<String> command = new ArrayList<>(List.of(gdb, "-nx", "-batch"));
        if (sysroot != null) {
            command.addAll(List.of("-iex", "set sysroot " + sysroot));
        }
        command.addAll(List.of("-x", script.toString(), dir.resolve("cfiwalk").toString(), core.toString()));
        TestPrograms.Result result = TestPrograms.run(dir, command);
        try {
            Files.writeString(dir.resolve("gdb.txt"), result.out(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<Integer, List<Long>> frames = new TreeMap<>();
        boolean ended = false;
        for (String line : result.out().split("\n")) {
            String[] f = line.split("\t");
            switch (f[0]) {
                case "THREAD" -> frames.put(Integer.parseInt(f[1]), new ArrayList<>());
                case "FRAME" -> {
                    if (!f[5].equals("INLINE_FRAME") && !f[5].equals("TAILCALL_FRAME")) {
                        frames.get(Integer.parseInt(f[1])).add(Long.parseUnsignedLong(f[3].substring(2), 16));
                    }
                }
                case "END" -> ended = true;
                default -> { }
            }
        }
        if (!ended || frames.isEmpty()) {
            fail(gdb + " did not list the frames:\n" + result.out() + result.err());
        }
        return frames;
    }

    private static List<String> hex(List<Long> pcs) {
        return pcs.stream().map(pc -> "0x" + Long.toHexString(pc)).toList();
    }

    private static List<Path> list(Path dir) {
        try (var files = Files.list(dir)) {
            return files.toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
