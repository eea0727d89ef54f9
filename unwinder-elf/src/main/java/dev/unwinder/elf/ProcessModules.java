package dev.unwinder.elf;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The modules of a live process, this one included, from {@code /proc/PID/maps}: every ELF file it
 * has mapped, placed where its first bytes were mapped; its vDSO, read from the process's memory
 * ({@code /proc/PID/mem}); and its JIT code from {@code /tmp/perf-PID.map}, where a JIT wrote one.
 *
 * <p>A profiler inside the process reads its own modules once and symbolizes its samples against
 * the {@link ModuleMap}, whose lookups allocate nothing. Modules mapped later (a library loaded
 * with {@code dlopen}, new JIT code) need a new read.
 */
public final class ProcessModules {
    private static final long MAX_VDSO = 1 << 20;

    private final ModuleMap modules;
    private final List<String> problems;

    private ProcessModules(ModuleMap modules, List<String> problems) {
        this.modules = modules;
        this.problems = problems;
    }

    /**
     * Reads the modules of this process.
     *
     * @param files how to read the modules' symbols; its sysroot should be null
     * @return the modules
     * @throws ElfException if {@code /proc/self/maps} cannot be read
     */
    public static ProcessModules self(SymbolFiles files) throws ElfException {
        return of(ProcessHandle.current().pid(), files);
    }

    /**
     * Reads the modules of a process.
     *
     * @param pid the process
     * @param files how to read the modules' symbols; its sysroot should be null
     * @return the modules
     * @throws ElfException if the process does not exist or its maps cannot be read
     */
    public static ProcessModules of(long pid, SymbolFiles files) throws ElfException {
        requireNonNull(files, "files");
        List<ProcessMaps.Mapping> mappings = ProcessMaps.read(pid);
        List<Module> found = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        Map<String, List<ProcessMaps.Mapping>> byPath = new LinkedHashMap<>();
        for (ProcessMaps.Mapping mapping : mappings) {
            if (mapping.path().startsWith("/")) {
                byPath.computeIfAbsent(mapping.path(), path -> new ArrayList<>()).add(mapping);
            } else if (mapping.path().equals("[vdso]")) {
                vdso(pid, mapping, files, found, problems);
            }
        }
        for (Map.Entry<String, List<ProcessMaps.Mapping>> entry : byPath.entrySet()) {
            file(entry.getKey(), entry.getValue(), files, found);
        }
        Path perfMap = Path.of("/tmp/perf-" + pid + ".map");
        if (Files.isRegularFile(perfMap)) {
            try {
                found.add(PerfMap.read(perfMap).module());
            } catch (ElfException e) {
                problems.add(e.getMessage());
            }
        }
        return new ProcessModules(ModuleMap.of(found), List.copyOf(problems));
    }

    /**
     * The modules of one file: each run of address-adjacent private mappings that starts at file
     * offset 0 and holds code is one loaded copy (a library opened in two link-map namespaces is
     * two); a file mapped as data, such as a symbol reader's own read-only mapping of it, is none.
     */
    private static void file(String path, List<ProcessMaps.Mapping> mappings, SymbolFiles files, List<Module> found) {
        if (!ElfFile.startsWithMagic(files.locate(path))) {
            return; // a data file such as the locale archive
        }
        int i = 0;
        while (i < mappings.size()) {
            ProcessMaps.Mapping first = mappings.get(i);
            long end = first.end();
            boolean code = first.executable();
            int j = i + 1;
            while (j < mappings.size() && mappings.get(j).start() == end && isPrivate(mappings.get(j))) {
                end = mappings.get(j).end();
                code |= mappings.get(j).executable();
                j++;
            }
            if (first.offset() == 0 && isPrivate(first) && code) {
                if (first.deleted()) {
                    found.add(new Module(path, first.start(), end, first.start(), null, null, null, Module.Symbols.MISSING,
                            "the file was deleted after the process mapped it", SymbolTable.EMPTY));
                } else {
                    found.add(files.load(path, first.start(), end, SymbolFiles.Placement.mapped(first.start(), 0), null));
                }
            }
            i = j;
        }
    }

    private static boolean isPrivate(ProcessMaps.Mapping mapping) {
        return mapping.permissions().length() > 3 && mapping.permissions().charAt(3) == 'p';
    }

    /** The vDSO, copied out of the process's memory through /proc/PID/mem. */
    private static void vdso(long pid, ProcessMaps.Mapping mapping, SymbolFiles files, List<Module> found,
                             List<String> problems) {
        long size = mapping.end() - mapping.start();
        if (size <= 0 || size > MAX_VDSO) {
            problems.add(String.format("the vDSO mapping [0x%x, 0x%x) is not 1 byte to 1 MiB", mapping.start(), mapping.end()));
            return;
        }
        ByteBuffer bytes = ByteBuffer.allocate((int) size);
        try (FileChannel mem = FileChannel.open(Path.of("/proc/" + pid + "/mem"), StandardOpenOption.READ)) {
            while (bytes.hasRemaining()) {
                if (mem.read(bytes, mapping.start() + bytes.position()) <= 0) {
                    break;
                }
            }
        } catch (NoSuchFileException e) {
            problems.add("process " + pid + " ended before its vDSO could be read");
            return;
        } catch (IOException e) {
            problems.add("the vDSO of process " + pid + " cannot be read from /proc/" + pid + "/mem: " + e.getMessage());
            return;
        }
        try {
            ElfFile elf = ElfFile.of("[vdso]", MemorySegment.ofArray(bytes.array()).asSlice(0, bytes.position()));
            found.add(files.load("[vdso]", elf, null, mapping.start(), mapping.end(),
                    SymbolFiles.Placement.mapped(mapping.start(), 0), null));
        } catch (ElfException e) {
            problems.add(e.getMessage());
        }
    }

    /**
     * The modules found.
     *
     * @return the modules
     */
    public ModuleMap modules() {
        return modules;
    }

    /**
     * What went wrong finding the modules, one line each.
     *
     * @return the problems; empty if there were none
     */
    public List<String> problems() {
        return problems;
    }
}
