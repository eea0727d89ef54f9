package dev.unwinder.cli;

import dev.unwinder.elf.Demangler;
import dev.unwinder.elf.ElfException;
import dev.unwinder.elf.Module;
import dev.unwinder.elf.PerfMap;
import dev.unwinder.elf.SymbolFiles;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The options that {@code core} and {@code walk} share: files and symbols, output format and the frame cap. */
final class WalkOptions {
    @Option(names = "--exe", paramLabel = "ELF",
            description = "A file of the process (its executable or a shared library) to use instead of looking for it;"
                    + " matched by path, else by file name. Repeat for more.")
    List<Path> executables = new ArrayList<>();

    @Option(names = "--sysroot", paramLabel = "DIR",
            description = "Look for the process's files under DIR, as if it were / (a core of another machine or"
                    + " architecture, such as /usr/aarch64-linux-gnu).")
    Path sysroot;

    @Option(names = "--debug-dir", paramLabel = "DIR",
            description = "Where separate debug files are (by build-id, DIR/.build-id/xx/rest.debug, and by"
                    + " .gnu_debuglink); repeat for more (default: /usr/lib/debug).")
    List<Path> debugDirectories = new ArrayList<>();

    @Option(names = "--perf-map", paramLabel = "FILE",
            description = "A perf map file (/tmp/perf-PID.map, as HotSpot, V8 and Wasmtime write them) that names JIT code;"
                    + " repeat for more.")
    List<Path> perfMaps = new ArrayList<>();

    @Option(names = "--format", paramLabel = "text|json", defaultValue = "text",
            description = "Output format: text, like a debugger's backtrace, or json (default: ${DEFAULT-VALUE}).")
    OutputFormat format;

    @Option(names = "--max-frames", paramLabel = "N", defaultValue = "4096",
            description = "The most frames a lenient walk prints (default: ${DEFAULT-VALUE}).")
    int maxFrames;

    @Option(names = "--fp-only",
            description = "Walk the frame-pointer chain only, as the command did before it read call-frame information:"
                    + " no .eh_frame or .debug_frame, an fp per frame.")
    boolean fpOnly;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    /** Creates the options; picocli fills them in. */
    WalkOptions() {}

    /** Rejects values that no walk can use. */
    void check() throws BadInputException {
        if (maxFrames < 0) {
            throw new BadInputException("--max-frames: " + maxFrames + " (expected: >= 0)");
        }
        if (sysroot != null && !Files.isDirectory(sysroot)) {
            throw new BadInputException("--sysroot " + sysroot + ": not a directory");
        }
        for (Path directory : debugDirectories) {
            if (!Files.isDirectory(directory)) {
                throw new BadInputException("--debug-dir " + directory + ": not a directory");
            }
        }
        for (Path file : executables) {
            if (!Files.isRegularFile(file)) {
                throw new BadInputException("--exe " + file + (Files.exists(file) ? ": not a regular file" : ": no such file"));
            }
        }
    }

    /** The perf maps given, each as a module. */
    List<Module> perfMaps() throws ElfException {
        List<Module> modules = new ArrayList<>();
        for (Path file : perfMaps) {
            modules.add(PerfMap.read(file).module());
        }
        return modules;
    }

    /** Where the process's files and their symbols are found, mapped into {@code arena}. */
    SymbolFiles symbolFiles(Arena arena) {
        List<Path> debug = debugDirectories.isEmpty() ? List.of(SymbolFiles.DEFAULT_DEBUG_DIRECTORY) : debugDirectories;
        return SymbolFiles.of(arena, sysroot, debug, executables, Demangler.system());
    }
}
