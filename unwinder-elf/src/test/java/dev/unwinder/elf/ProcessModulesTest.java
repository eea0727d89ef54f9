package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The modules of live processes: this JVM's own, and a child's. */
final class ProcessModulesTest {

    private static SymbolFiles files(Arena arena) {
        return SymbolFiles.of(arena, null, List.of(SymbolFiles.DEFAULT_DEBUG_DIRECTORY), List.of(), Demangler.none());
    }

    @Test
    void thisProcessNamesItsOwnCLibraryFunctions() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            ProcessModules self = ProcessModules.self(files(arena));
            // The address the dynamic linker gives for getpid, in this process's libc.
            MemorySegment getpid = Linker.nativeLinker().defaultLookup().find("getpid").orElseThrow();
            Module libc = self.modules().find(getpid.address());
            assertNotNull(libc, self.modules().modules().toString());
            assertEquals("libc.so.6", libc.name());
            assertEquals(Module.Symbols.LOADED, libc.symbolState(), String.valueOf(libc.problem()));
            int symbol = libc.symbols().lookup(getpid.address());
            assertTrue(symbol >= 0, "no symbol at getpid's address in " + libc);
            assertEquals(getpid.address(), libc.symbols().start(symbol));
            assertTrue(List.of("getpid", "__getpid").contains(libc.symbols().name(symbol)), libc.symbols().name(symbol));
            assertEquals(libc.symbols().name(symbol), self.modules().symbolName(getpid.address() + 1));
            assertNull(self.modules().symbolName(0), "no module at address 0");
            // Its base is where the kernel mapped libc's first page.
            String first = Files.readString(Path.of("/proc/self/maps")).lines()
                    .filter(line -> line.endsWith("/libc.so.6") && line.split("\\s+")[1].endsWith("p")
                            && line.split("\\s+")[2].equals("00000000"))
                    .findFirst().orElseThrow();
            assertEquals(Long.parseUnsignedLong(first.substring(0, first.indexOf('-')), 16), libc.base(), first);
        }
    }

    @Test
    void aChildsModulesIncludeItsLoaderItsLibraryAndItsVdso() throws Exception {
        Process child = new ProcessBuilder("sleep", "30").start();
        try (Arena arena = Arena.ofConfined()) {
            ProcessModules modules = null;
            for (int i = 0; i < 100; i++) {
                modules = ProcessModules.of(child.pid(), files(arena));
                if (modules.modules().modules().stream().anyMatch(module -> module.name().equals("libc.so.6"))) {
                    break;
                }
                Thread.sleep(20);
            }
            List<String> names = modules.modules().modules().stream().map(Module::name).toList();
            assertTrue(names.contains("sleep"), names.toString());
            assertTrue(names.contains("libc.so.6"), names.toString());
            assertTrue(names.stream().anyMatch(name -> name.startsWith("ld-linux")), names.toString());
            Module vdso = modules.modules().modules().stream().filter(module -> module.path().equals("[vdso]")).findFirst()
                    .orElseThrow(() -> new AssertionError("no [vdso] in " + names));
            assertEquals(Module.Symbols.LOADED, vdso.symbolState());
            boolean clockGettime = false;
            for (long address = vdso.base(); address < vdso.end() && !clockGettime; address++) {
                int symbol = vdso.symbols().lookup(address);
                clockGettime = symbol >= 0 && vdso.symbols().name(symbol).contains("clock_gettime");
            }
            assertTrue(clockGettime, "the vDSO names no clock_gettime");
            assertEquals(List.of(), modules.problems());
        } finally {
            child.destroyForcibly();
            child.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aProcessThatIsGoneIsAClearError() throws Exception {
        Process child = new ProcessBuilder("true").start();
        child.waitFor(10, TimeUnit.SECONDS);
        try (Arena arena = Arena.ofConfined()) {
            ElfException e = org.junit.jupiter.api.Assertions.assertThrows(ElfException.class,
                    () -> ProcessModules.of(child.pid(), files(arena)));
            assertTrue(e.getMessage().startsWith("/proc/" + child.pid() + "/maps: "), e.getMessage());
        }
    }
}
