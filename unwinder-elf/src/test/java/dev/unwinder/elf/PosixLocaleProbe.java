package dev.unwinder.elf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Run by {@link PosixLocaleTest} in a JVM of its own, started in the POSIX locale: finds the
 * modules of a core and loads files whose names this JVM cannot turn into paths, and prints what
 * it got, one line each.
 */
final class PosixLocaleProbe {
    private PosixLocaleProbe() {}

    /**
     * Prints the JVM's file-name encoding, then one line per case.
     *
     * @param args a core whose NT_FILE note names a file {@code .../?rashlib.so} with a byte
     *     that is not UTF-8, and a program whose .gnu_debuglink names a file that is not ASCII
     * @throws Exception whatever a case throws: the parent test fails on it
     */
    public static void main(String[] args) throws Exception {
        System.out.println(System.getProperty("sun.jnu.encoding"));
        try (Arena arena = Arena.ofConfined()) {
            SymbolFiles files = SymbolFiles.of(arena, null, List.of(), List.of(), Demangler.none());
            CoreFile core = CoreFile.read(ElfFile.of("bent.core", MemorySegment.ofArray(Files.readAllBytes(Path.of(args[0])))));
            CoreModules modules = CoreModules.find(core, files);
            System.out.println("find: " + modules.modules().modules().size() + " modules, problems " + modules.problems());
            for (Module module : modules.modules().modules()) {
                if (module.path().endsWith("rashlib.so")) {
                    System.out.println("bent: " + module.symbolState() + " " + module.problem());
                }
            }
            Module module = files.load("/home/jos\u00e9/prog", 0x1000, 0x2000, SymbolFiles.Placement.bias(0), null);
            System.out.println("load: " + module.symbolState() + " " + module.problem());
            Module linked = files.load(args[1], 0x1000, 0x2000, SymbolFiles.Placement.bias(0), null);
            System.out.println("debuglink: " + linked.symbolState() + " " + linked.problem());
        }
    }
}
