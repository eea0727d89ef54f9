package dev.unwinder.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.api.StackMemory;
import dev.unwinder.arch.x86_64.X86_64Unwind;
import dev.unwinder.elf.CfiWalk;
import dev.unwinder.elf.Demangler;
import dev.unwinder.elf.ElfException;
import dev.unwinder.elf.ModuleMap;
import dev.unwinder.elf.ProcessMaps;
import dev.unwinder.elf.ProcessModules;
import dev.unwinder.elf.SymbolFiles;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * {@link LiveProcess} on processes the test starts (threads blocked in the C library and in signal
 * handlers, a frameless leaf spinning, the main thread in {@code pause}), walked with
 * {@link CfiWalk} over the process's
 * modules and compared with {@code gdb -p}: every frame gdb finds, same pc, same order, for every
 * thread; afterwards no thread is stopped or traced.
 */
final class LiveProcessTest {
    private static final int MAX_FRAMES = 256;

    @Test
    void oneThreadAtATimeMatchesGdb() throws Exception {
        matchesGdb("one-at-a-time", false);
    }

    @Test
    void frozenMatchesGdb() throws Exception {
        matchesGdb("freeze", true);
    }

    private static void matchesGdb(String name, boolean freeze) throws Exception {
        assumeX86_64();
        Targets.requireTools("gcc", "gdb");
        Path dir = Targets.directory(name);
        Path program = Targets.buildLive(dir);
        ProcessHandle target = Targets.start(program);
        try (Arena arena = Arena.ofConfined()) {
            long pid = target.pid();
            Map<Integer, List<Targets.GdbFrame>> gdb = Targets.gdbFrames(dir, pid);
            LiveProcess process = LiveProcess.open(pid);
            LiveProcess.Snapshot snapshot = process.capture(freeze, 1 << 20, arena);
            assertEquals(List.of(), snapshot.notes());
            ModuleMap modules = modules(pid, arena, program);
            CfiWalk walker = new CfiWalk(new X86_64Unwind(), modules, arena);
            var code = process.code(arena);
            Map<Integer, List<Long>> walked = new TreeMap<>();
            StringBuilder summary = new StringBuilder();
            for (LiveProcess.ThreadStack thread : snapshot.threads()) {
                List<Long> pcs = new ArrayList<>();
                CfiWalk.End end = walker.walk(thread.pc(), thread.dwarfRegisters(), thread.stack(), code, MAX_FRAMES,
                        (index, pc, sp, how) -> pcs.add(pc));
                walked.put(thread.tid(), pcs);
                summary.append(String.format("thread %d %s: %d frames, %s, stopped %d us%n", thread.tid(),
                        thread.name(), pcs.size(), end, thread.stoppedNanos() / 1000));
                // Stopped for a while, after the interrupt, and released well within the wait's 1 s bound.
                assertTrue(thread.stoppedNanos() > 0 && thread.stoppedNanos() <= thread.interruptedNanos()
                        && thread.interruptedNanos() < 1_000_000_000L, "stopped " + thread.stoppedNanos()
                        + " ns of the " + thread.interruptedNanos() + " ns from the interrupt to the detach");
            }
            Files.writeString(dir.resolve("summary.txt"), summary);
            assertEquals(gdb.keySet(), walked.keySet());
            for (Map.Entry<Integer, List<Targets.GdbFrame>> thread : gdb.entrySet()) {
                List<Long> want = thread.getValue().stream().map(Targets.GdbFrame::pc).toList();
                List<Long> got = walked.get(thread.getKey());
                // The spinning leaf's pc moves between gdb's stop and ours; its callers do not.
                boolean spinning = thread.getValue().getFirst().symbol().equals("frameless_leaf");
                int from = spinning ? 1 : 0;
                assertTrue(got.size() >= want.size() && got.subList(from, want.size()).equals(want.subList(from,
                        want.size())), "thread " + thread.getKey() + ": gdb " + hex(want) + ", walk " + hex(got)
                        + "\n" + summary);
            }
            assertAllRunning(pid);
        } finally {
            Targets.kill(target);
        }
    }

    /**
     * A main thread's stack larger than the 64 KiB buffer a capture starts with (three environment
     * variables of 80,000 bytes at its top; the kernel takes at most 128 KiB for one): the buffer
     * grows in the stop, the copy is the whole of [sp, end of the stack's mapping) with the
     * variables' bytes in it, and the threads after it are copied whole too, into the grown buffer.
     */
    @Test
    void aStackLargerThanTheFirstBufferIsCopiedWhole() throws Exception {
        assumeX86_64();
        Targets.requireTools("gcc");
        Path dir = Targets.directory("large-stack");
        Map<String, String> pads = Map.of("UNWINDER_PAD_A", "a".repeat(80_000), "UNWINDER_PAD_B",
                "b".repeat(80_000), "UNWINDER_PAD_C", "c".repeat(80_000));
        ProcessHandle target = Targets.start(Targets.buildLive(dir), pads);
        try (Arena arena = Arena.ofConfined()) {
            long pid = target.pid();
            List<ProcessMaps.Mapping> maps = ProcessMaps.read(pid);
            LiveProcess.Snapshot snapshot = LiveProcess.open(pid).capture(false, 1 << 20, arena);
            assertEquals(List.of(), snapshot.notes());
            assertEquals(pid, snapshot.threads().getFirst().tid());
            for (LiveProcess.ThreadStack thread : snapshot.threads()) {
                long sp = thread.dwarfRegisters()[7];
                ProcessMaps.Mapping mapping = maps.stream().filter(m -> m.contains(sp)).findFirst().orElseThrow();
                StackMemory copy = thread.stack();
                assertEquals(sp & ~7L, copy.baseAddress(), () -> "thread " + thread.tid());
                assertEquals(mapping.end(), copy.baseAddress() + copy.size(), () -> "thread " + thread.tid());
            }
            StackMemory main = snapshot.threads().getFirst().stack();
            assertTrue(main.size() > 240_000, () -> "main stack copy of " + main.size() + " bytes");
            byte[] bytes = new byte[(int) main.size()];
            for (int i = 0; i + 8 <= bytes.length; i += 8) {
                long word = main.readLong(main.baseAddress() + i);
                for (int b = 0; b < 8; b++) {
                    bytes[i + b] = (byte) (word >>> 8 * b);
                }
            }
            String text = new String(bytes, StandardCharsets.ISO_8859_1);
            for (Map.Entry<String, String> pad : pads.entrySet()) {
                assertTrue(text.contains(pad.getKey() + "=" + pad.getValue()),
                        pad.getKey() + " at the top of the main stack");
            }
            assertAllRunning(pid);
        } finally {
            Targets.kill(target);
        }
    }

    @Test
    void noSuchProcess() throws IOException {
        long beyond = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/kernel/pid_max")).getFirst().strip()) + 1;
        assertFalse(Files.exists(Path.of("/proc", Long.toString(beyond))), "/proc/" + beyond);
        ProcessException e = assertThrows(ProcessException.class, () -> LiveProcess.open(beyond), () -> "opened " + beyond);
        assertEquals(ProcessException.Kind.NO_SUCH_PROCESS, e.kind());
        assertEquals("no such process: " + beyond, e.getMessage());
        assertEquals("no such process: -1",
                assertThrows(ProcessException.class, () -> LiveProcess.open(-1)).getMessage());
    }

    @Test
    void thisProcessIsRefused() {
        long self = ProcessHandle.current().pid();
        ProcessException e = assertThrows(ProcessException.class, () -> LiveProcess.open(self));
        assertEquals(ProcessException.Kind.SELF, e.kind());
        assertEquals("process " + self + " is this one: a process cannot trace itself (walk it in-process instead)",
                e.getMessage());
    }

    @Test
    void aZombieIsRefused() throws Exception {
        Targets.requireTools("sh", "sleep");
        // sh starts a child that exits soon, then becomes sleep, which never reaps it.
        Process parent = new ProcessBuilder("sh", "-c", "sleep 0.2 & echo $!; exec sleep 30").start();
        try {
            long zombie = Long.parseLong(new java.io.BufferedReader(new java.io.InputStreamReader(
                    parent.getInputStream())).readLine().strip());
            for (int i = 0; i < 500 && !state(zombie).startsWith("Z"); i++) {
                Thread.sleep(10);
            }
            ProcessException e = assertThrows(ProcessException.class, () -> LiveProcess.open(zombie));
            assertEquals(ProcessException.Kind.ZOMBIE, e.kind());
            assertEquals("process " + zombie + " is a zombie: it has exited and has no stacks (its parent has not"
                    + " reaped it)", e.getMessage());
        } finally {
            parent.destroyForcibly().waitFor();
        }
    }

    @Test
    void aThreadIdIsNotAProcess() throws Exception {
        assumeX86_64();
        Targets.requireTools("gcc");
        Path dir = Targets.directory("thread-id");
        ProcessHandle target = Targets.start(Targets.buildLive(dir));
        try {
            long pid = target.pid();
            int thread = LiveProcess.open(pid).threadIds().get(1);
            ProcessException e = assertThrows(ProcessException.class, () -> LiveProcess.open(thread));
            assertEquals(thread + " is a thread of process " + pid + ", not a process: give " + pid, e.getMessage());
        } finally {
            Targets.kill(target);
        }
    }

    /** A process another tracer holds cannot be seized: the error says who holds it, and nothing is left stopped. */
    @Test
    void aProcessThatGdbHoldsIsNotPermitted() throws Exception {
        assumeX86_64();
        Targets.requireTools("gcc", "gdb");
        Path dir = Targets.directory("traced");
        ProcessHandle target = Targets.start(Targets.buildLive(dir));
        Process gdb = null;
        try (Arena arena = Arena.ofConfined()) {
            long pid = target.pid();
            gdb = new ProcessBuilder("gdb", "-nx", "-batch", "-p", Long.toString(pid), "-ex", "echo held\\n",
                    "-ex", "shell sleep 20").redirectErrorStream(true).start();
            var out = new java.io.BufferedReader(new java.io.InputStreamReader(gdb.getInputStream()));
            for (String line = out.readLine(); line != null && !line.contains("held"); line = out.readLine()) {
                // wait until gdb has attached every thread
            }
            LiveProcess process = LiveProcess.open(pid);
            ProcessException e = assertThrows(ProcessException.class, () -> process.capture(false, 1 << 16, arena));
            assertEquals(ProcessException.Kind.NOT_PERMITTED, e.kind());
            assertTrue(e.getMessage().startsWith("not permitted to trace process " + pid + ": process " + gdb.pid()
                    + " already traces it"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
            gdb.destroy();
            gdb.waitFor();
            gdb = null;
            assertAllRunning(pid);
        } finally {
            if (gdb != null) {
                gdb.destroyForcibly().waitFor();
            }
            Targets.kill(target);
        }
    }

    private static ModuleMap modules(long pid, Arena arena, Path program) throws ElfException {
        SymbolFiles files = SymbolFiles.of(arena, null, List.of(SymbolFiles.DEFAULT_DEBUG_DIRECTORY), List.of(program),
                Demangler.none());
        return ProcessModules.of(pid, files).modules();
    }

    /** No thread of the target is stopped or traced (a moment to settle: detached threads resume at once). */
    static void assertAllRunning(long pid) throws Exception {
        Map<Integer, String> states = Targets.states(pid);
        for (int i = 0; i < 100 && states.values().stream().anyMatch(s -> !s.startsWith("S") && !s.startsWith("R"));
                i++) {
            Thread.sleep(10);
            states = Targets.states(pid);
        }
        for (Map.Entry<Integer, String> state : states.entrySet()) {
            assertTrue(state.getValue().startsWith("S") || state.getValue().startsWith("R"),
                    "thread " + state.getKey() + " is " + state.getValue() + ": " + states);
        }
    }

    private static String state(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("State:")) {
                    return line.substring(6).strip();
                }
            }
        } catch (IOException e) {
            return "";
        }
        return "";
    }

    private static void assumeX86_64() {
        String arch = System.getProperty("os.arch");
        if (!arch.equals("amd64") && !arch.equals("x86_64")) {
            org.junit.jupiter.api.Assumptions.abort("these tests compare with an x86_64 build; this host is " + arch);
        }
    }

    private static List<String> hex(List<Long> pcs) {
        return pcs.stream().map(pc -> "0x" + Long.toHexString(pc)).toList();
    }
}
