package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.ProcessMaps.Mapping;
import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Reads the maps of this JVM and of a child process, as the kernel writes them. */
final class ProcessMapsLiveTest {

    private static Mapping containing(List<Mapping> mappings, long address) {
        for (Mapping mapping : mappings) {
            if (mapping.contains(address)) {
                return mapping;
            }
        }
        throw new AssertionError(String.format("no mapping contains 0x%x", address));
    }

    private static Mapping named(List<Mapping> mappings, String suffix) {
        return mappings.stream().filter(m -> m.path().endsWith(suffix)).findFirst()
                .orElseThrow(() -> new AssertionError("no mapping whose path ends with " + suffix + " in " + mappings));
    }

    @Test
    void strlenIsInTheCodeOfLibc() throws ElfException {
        long strlen = Linker.nativeLinker().defaultLookup().find("strlen").orElseThrow().address();
        Mapping libc = containing(ProcessMaps.self(), strlen);
        assertTrue(libc.path().endsWith("/libc.so.6"), libc::toString);
        assertTrue(libc.executable(), libc::toString);
        assertFalse(libc.deleted());
        assertTrue(libc.inode() != 0, libc::toString);
    }

    @Test
    @SuppressWarnings("restricted")
    void jniCreateJavaVmIsInTheCodeOfLibjvm() throws ElfException {
        List<Mapping> mappings = ProcessMaps.self();
        Mapping libjvm = named(mappings, "/libjvm.so");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment function = SymbolLookup.libraryLookup(Path.of(libjvm.path()), arena).find("JNI_CreateJavaVM")
                    .orElseThrow();
            Mapping code = containing(mappings, function.address());
            assertEquals(libjvm.path(), code.path());
            assertTrue(code.executable(), code::toString);
        }
    }

    @Test
    void theJvmsOwnMappingsAreAllThere() throws ElfException {
        List<Mapping> mappings = ProcessMaps.self();
        Mapping stack = named(mappings, "[stack]");
        assertEquals("rw-p", stack.permissions());
        assertTrue(named(mappings, "[vdso]").executable());
        assertTrue(mappings.stream().anyMatch(Mapping::anonymous));
        // By pid, the same file: libc's mappings do not move while the JVM runs.
        List<Mapping> byPid = ProcessMaps.read(ProcessHandle.current().pid());
        assertEquals(mappings.stream().filter(m -> m.path().endsWith("/libc.so.6")).toList(),
                byPid.stream().filter(m -> m.path().endsWith("/libc.so.6")).toList());
    }

    @Test
    void aFileMappedThenDeletedIsMarkedDeleted(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("a mapped file.bin");
        Files.write(file, new byte[8192]);
        Path real = file.toRealPath();
        long inode = (Long) Files.getAttribute(file, "unix:ino");
        try (Arena arena = Arena.ofConfined(); FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment mapped = channel.map(FileChannel.MapMode.READ_ONLY, 4096, 4096, arena);
            Mapping before = containing(ProcessMaps.self(), mapped.address());
            assertEquals(real.toString(), before.path());
            assertFalse(before.deleted());
            assertEquals(4096, before.offset());
            assertEquals(inode, before.inode());
            assertEquals("r--s", before.permissions());
            Files.delete(file);
            Mapping after = containing(ProcessMaps.self(), mapped.address());
            assertEquals(real.toString(), after.path());
            assertTrue(after.deleted(), after::toString);
            assertEquals(inode, after.inode());
        }
    }

    @Test
    @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aChildProcessThenItsEnd() throws Exception {
        Process sleep = new ProcessBuilder("sleep", "30").start();
        long pid = sleep.pid();
        try {
            // Until the child has exec'd sleep, its maps are the forked JVM's or the spawn helper's;
            // then, until ld.so has loaded libc, they hold sleep and ld.so alone.
            List<Mapping> mappings = ProcessMaps.read(pid);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!(mappings.stream().anyMatch(m -> m.path().endsWith("/sleep"))
                    && mappings.stream().anyMatch(m -> m.path().endsWith("/libc.so.6")))
                    && System.nanoTime() < deadline) {
                Thread.sleep(10);
                mappings = ProcessMaps.read(pid);
            }
            Mapping program = named(mappings, "/sleep");
            assertTrue(mappings.stream().anyMatch(m -> m.path().endsWith("/sleep") && m.executable()), mappings::toString);
            assertNotNull(named(mappings, "/libc.so.6"));
            assertNotNull(named(mappings, "[stack]"));
            assertTrue(Files.isSameFile(Path.of(program.path()), Path.of("/proc", Long.toString(pid), "exe")));
        } finally {
            sleep.destroyForcibly();
            assertTrue(sleep.waitFor(10, TimeUnit.SECONDS));
        }
        // Reaped: the pid is gone (the kernel hands pids out in turn, so it is not reused this soon).
        assertEquals("/proc/" + pid + "/maps: no such process (pid " + pid + " has exited, or never existed)",
                assertThrows(ElfException.class, () -> ProcessMaps.read(pid)).getMessage());
    }

    @Test
    void aPidPastTheLargestIsNoSuchProcess() {
        // PID_MAX_LIMIT on 64-bit Linux is 2^22: no setting of kernel.pid_max hands out more.
        long pid = (1L << 22) + 1;
        assertEquals("/proc/" + pid + "/maps: no such process (pid " + pid + " has exited, or never existed)",
                assertThrows(ElfException.class, () -> ProcessMaps.read(pid)).getMessage());
    }
}
