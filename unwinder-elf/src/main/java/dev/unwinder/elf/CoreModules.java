package dev.unwinder.elf;

import static java.util.Objects.requireNonNull;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The modules of a core: its executable, shared libraries and vDSO, each placed where the process
 * had it and with its symbols.
 *
 * <ul>
 * <li>Where the core has an {@code NT_FILE} note (the kernel writes one), every ELF file it maps.
 * <li>Where it has none (qemu-user writes none), the dynamic loader's list read from the core's
 *     memory: the executable's program headers from {@code AT_PHDR}, its {@code PT_DYNAMIC},
 *     {@code DT_DEBUG}, {@code r_debug} and the {@code link_map} chain, whose {@code l_addr} is each
 *     library's load bias.
 * <li>The vDSO from {@code AT_SYSINFO_EHDR}, its symbols read from the core's own copy.
 * </ul>
 *
 * <p>A core that lies (a chain with a cycle, names or entries outside its memory) yields the
 * modules found up to the lie and a {@linkplain #problems() problem} that says what it was; the
 * chain is followed at most 4096 steps.
 */
public final class CoreModules {
    private static final int MAX_LINK_MAP = 4096;
    private static final long DT_NULL = 0;
    private static final long DT_DEBUG = 21;
    private static final int MAX_DYNAMIC = 4096;
    private static final long MAX_VDSO = 1 << 20;

    private final ModuleMap modules;
    private final List<String> problems;

    private CoreModules(ModuleMap modules, List<String> problems) {
        this.modules = modules;
        this.problems = problems;
    }

    /**
     * Finds the modules of a core.
     *
     * @param core the core
     * @param files where to find the modules' files and how to read their symbols
     * @return the modules, and what went wrong finding them
     */
    public static CoreModules find(CoreFile core, SymbolFiles files) {
        requireNonNull(core, "core");
        requireNonNull(files, "files");
        List<Module> found = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        if (core.hasFileNote()) {
            fromFileNote(core, files, found);
        } else {
            fromLinkMap(core, files, found, problems);
        }
        vdso(core, files, found, problems);
        return new CoreModules(ModuleMap.of(found), List.copyOf(problems));
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
     * What went wrong finding the modules, one line each, such as a {@code link_map} chain that
     * loops.
     *
     * @return the problems; empty if there were none
     */
    public List<String> problems() {
        return problems;
    }

    private static void fromFileNote(CoreFile core, SymbolFiles files, List<Module> found) {
        Map<String, List<CoreFile.FileMapping>> byPath = new LinkedHashMap<>();
        for (CoreFile.FileMapping mapping : core.fileMappings()) {
            byPath.computeIfAbsent(mapping.path(), path -> new ArrayList<>()).add(mapping);
        }
        for (Map.Entry<String, List<CoreFile.FileMapping>> entry : byPath.entrySet()) {
            for (List<CoreFile.FileMapping> run : loadedCopies(entry.getValue())) {
                fileModule(core, files, entry.getKey(), run, found);
            }
        }
    }

    /**
     * The runs of address-adjacent mappings of one file that are copies the loader made: each
     * starts at file offset 0, and has more than one mapping where any run does (the loader maps
     * a file's segments side by side; a program's own read-only mapping of the file is a single
     * mapping).
     */
    private static List<List<CoreFile.FileMapping>> loadedCopies(List<CoreFile.FileMapping> mappings) {
        List<List<CoreFile.FileMapping>> runs = new ArrayList<>();
        List<CoreFile.FileMapping> run = null;
        for (CoreFile.FileMapping mapping : mappings) {
            if (run == null || run.getLast().end() != mapping.start()) {
                run = new ArrayList<>();
                runs.add(run);
            }
            run.add(mapping);
        }
        runs.removeIf(candidate -> candidate.getFirst().fileOffset() != 0);
        boolean anyLong = runs.stream().anyMatch(candidate -> candidate.size() > 1);
        if (anyLong) {
            runs.removeIf(candidate -> candidate.size() == 1);
        } else if (runs.size() > 1) {
            runs.subList(1, runs.size()).clear();
        }
        return runs;
    }

    private static void fileModule(CoreFile core, SymbolFiles files, String path, List<CoreFile.FileMapping> run,
                                   List<Module> found) {
        CoreFile.FileMapping first = run.getFirst();
        boolean elfInCore = ElfImage.hasMagic(core, first.start());
        if (!elfInCore && !ElfFile.startsWithMagic(files.locate(path))) {
            return; // a data file such as the locale archive, or a file we cannot tell about
        }
        byte[] buildId = null;
        if (elfInCore) {
            ElfImage image = ElfImage.at(core, first.start());
            if (image != null) {
                ElfImage.Segment load = image.first(ElfFile.PT_LOAD);
                long bias = load == null ? first.start() : first.start() - (load.vaddr() - load.offset());
                buildId = image.buildId(core, bias);
            }
        }
        found.add(files.load(path, first.start(), run.getLast().end(), SymbolFiles.Placement.mapped(first.start(), 0),
                buildId));
    }

    private static void fromLinkMap(CoreFile core, SymbolFiles files, List<Module> found, List<String> problems) {
        OptionalLong phdr = core.auxv(CoreFile.AT_PHDR);
        OptionalLong phnum = core.auxv(CoreFile.AT_PHNUM);
        if (phdr.isEmpty() || phnum.isEmpty()) {
            givenOnly(core, files, found, problems);
            return;
        }
        String exePath = "[executable]";
        OptionalLong execfn = core.auxv(CoreFile.AT_EXECFN);
        if (execfn.isPresent()) {
            String name = core.string(execfn.getAsLong());
            if (name != null && !name.isEmpty()) {
                exePath = name;
            }
        }
        // The executable's program headers: the core's copy, else the file's (a static executable's
        // first page is code, which qemu leaves out of its cores).
        ElfImage exe = ElfImage.headers(core, phdr.getAsLong(), (int) Math.min(phnum.getAsLong(), 1 << 16), 56);
        long headersOffset = 64;
        Path exeFile = files.locateExecutable(exePath);
        if (exe == null) {
            Path file = exeFile;
            if (file != null) {
                try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
                    ElfFile elf = ElfFile.open(file, arena);
                    exe = ElfImage.of(elf);
                    headersOffset = elf.u64(32);
                } catch (ElfException e) {
                    problems.add(e.getMessage());
                }
            }
        }
        if (exe == null) {
            problems.add(String.format("the executable's %d program headers at AT_PHDR 0x%x are not in the core, and its"
                    + " file %s is not found: give it with --exe", phnum.getAsLong(), phdr.getAsLong(), exePath));
            return;
        }
        ElfImage.Segment self = exe.first(ElfFile.PT_PHDR);
        ElfImage.Segment firstLoad = exe.first(ElfFile.PT_LOAD);
        long exeBias;
        if (self != null) {
            exeBias = phdr.getAsLong() - self.vaddr();
        } else if (firstLoad != null && firstLoad.offset() == 0) {
            exeBias = phdr.getAsLong() - headersOffset - firstLoad.vaddr();
        } else {
            problems.add("the executable has no PT_PHDR segment: its load address is unknown");
            return;
        }
        if (exe.lowestLoad() == -1) {
            problems.add("the executable's program headers have no PT_LOAD segment: it cannot be placed");
            return;
        }
        long exeBase = exe.lowestLoad() + exeBias;
        long exeEnd = exe.highestLoadEnd() + exeBias;
        found.add(files.load(exePath, exeFile, exeBase, exeEnd, SymbolFiles.Placement.bias(exeBias),
                ElfImage.at(core, exeBase) == null ? null : exe.buildId(core, exeBias)));

        ElfImage.Segment dynamic = exe.first(ElfFile.PT_DYNAMIC);
        long rDebug = 0;
        if (dynamic != null) {
            try {
                rDebug = dtDebug(core, dynamic.vaddr() + exeBias, dynamic.memorySize());
            } catch (ElfException e) {
                problems.add(e.getMessage());
            }
        }
        if (rDebug == 0) {
            interpreter(core, files, exe, exeBias, found, problems);
            return;
        }
        Set<Long> seen = new HashSet<>();
        try {
            long entry = core.word(rDebug + 8, "r_debug.r_map");
            while (entry != 0) {
                if (!seen.add(entry)) {
                    problems.add(String.format("the link_map chain loops back to 0x%x after %d entries", entry, seen.size()));
                    break;
                }
                if (seen.size() > MAX_LINK_MAP) {
                    problems.add("the link_map chain has more than " + MAX_LINK_MAP + " entries; the rest are ignored");
                    break;
                }
                long lAddr = core.word(entry, "link_map.l_addr");
                long lName = core.word(entry + 8, "link_map.l_name");
                long next = core.word(entry + 24, "link_map.l_next");
                String name = lName == 0 ? "" : core.string(lName);
                if (name == null) {
                    // The loader's own entry names it by the executable's PT_INTERP string, in a
                    // read-only page that qemu leaves out of its cores: read it from the file.
                    name = fileString(exeFile, lName - exeBias);
                }
                if (name == null) {
                    problems.add(String.format("link_map entry 0x%x names its file at 0x%x, outside the core's memory",
                            entry, lName));
                } else if (!name.isEmpty() && !name.startsWith("linux-vdso") && !name.startsWith("linux-gate")) {
                    library(core, files, name, lAddr, found);
                }
                entry = next;
            }
        } catch (ElfException e) {
            problems.add(e.getMessage());
        }
    }

    /**
     * Without the auxiliary vector: each executable given to {@code files} at its link-time
     * address, or for a position-independent one where {@code AT_ENTRY} puts its entry point.
     */
    private static void givenOnly(CoreFile core, SymbolFiles files, List<Module> found, List<String> problems) {
        problems.add("the core has no NT_FILE note and no AT_PHDR in an auxiliary vector: only the files given are"
                + " placed, at their link-time addresses");
        for (Path file : files.givenFiles()) {
            try {
                // Mapped once, where the module keeps it: its span, its symbols and its CFI read the same mapping.
                ElfFile elf = files.open(file);
                if (elf.type() != ElfFile.ET_EXEC && !(elf.type() == ElfFile.ET_DYN && core.entryPoint().isPresent())) {
                    continue;
                }
                long bias = elf.type() == ElfFile.ET_DYN ? core.entryPoint().getAsLong() - elf.entry() : 0;
                ElfImage image = ElfImage.of(elf);
                if (image.lowestLoad() == -1) {
                    continue;
                }
                found.add(files.load(file.toString(), elf, file, image.lowestLoad() + bias, image.highestLoadEnd() + bias,
                        SymbolFiles.Placement.bias(bias), null));
            } catch (ElfException e) {
                problems.add(e.getMessage());
            }
        }
    }

    /** The address of r_debug from the executable's DT_DEBUG entry, or 0 where the loader did not set it. */
    private static long dtDebug(CoreFile core, long address, long size) throws ElfException {
        long entries = Math.min(size / 16, MAX_DYNAMIC);
        for (long i = 0; i < entries; i++) {
            long tag = core.word(address + 16 * i, "the executable's dynamic section");
            if (tag == DT_NULL) {
                break;
            }
            if (tag == DT_DEBUG) {
                return core.word(address + 16 * i + 8, "DT_DEBUG");
            }
        }
        return 0;
    }

    /** Without the loader's list: the dynamic loader itself, from AT_BASE and PT_INTERP. */
    private static void interpreter(CoreFile core, SymbolFiles files, ElfImage exe, long exeBias, List<Module> found,
                                    List<String> problems) {
        OptionalLong base = core.auxv(CoreFile.AT_BASE);
        ElfImage.Segment interp = exe.first(ElfFile.PT_INTERP);
        if (base.isEmpty() || base.getAsLong() == 0 || interp == null) {
            return; // a static executable: it is the only module
        }
        String path = core.string(interp.vaddr() + exeBias);
        if (path == null) {
            problems.add("the executable's PT_INTERP path is not in the core");
            return;
        }
        library(core, files, path, base.getAsLong(), found);
    }

    /** One shared library, loaded with bias lAddr. */
    private static void library(CoreFile core, SymbolFiles files, String path, long lAddr, List<Module> found) {
        long base;
        long end;
        ElfImage image = ElfImage.at(core, lAddr);
        Path file = files.locate(path);
        // Mapped once, where the module keeps it: its span, its symbols and its CFI read the same mapping.
        ElfFile elf = null;
        if (file != null) {
            try {
                elf = files.open(file);
            } catch (ElfException e) {
                // files.load below says why, as the module's problem
            }
        }
        long[] span = elf == null ? null : fileSpan(elf);
        if (span != null) {
            base = span[0] + lAddr;
            end = span[1] + lAddr;
        } else if (image != null) {
            base = image.lowestLoad() + lAddr;
            end = image.highestLoadEnd() + lAddr;
        } else {
            base = lAddr;
            end = lAddr + 1;
        }
        byte[] buildId = image == null ? null : image.buildId(core, lAddr);
        found.add(elf == null ? files.load(path, file, base, end, SymbolFiles.Placement.bias(lAddr), buildId)
                : files.load(path, elf, file, base, end, SymbolFiles.Placement.bias(lAddr), buildId));
    }

    /** The NUL-terminated string at a link-time address of a file's PT_LOAD bytes, or null. */
    private static String fileString(Path file, long address) {
        if (file == null) {
            return null;
        }
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            ElfFile elf = ElfFile.open(file, arena);
            for (ElfFile.ProgramHeader header : elf.programHeaders()) {
                if (header.type() == ElfFile.PT_LOAD && header.fileHolds(address, 1)) {
                    return elf.cString(header.offset(), header.fileSize(), address - header.vaddr(), 4096);
                }
            }
            return null;
        } catch (ElfException e) {
            return null;
        }
    }

    /** The link-time span of a file's PT_LOAD segments, page-aligned, or null if it has none. */
    private static long[] fileSpan(ElfFile elf) {
        long low = -1;
        long high = -1;
        for (ElfFile.ProgramHeader header : elf.programHeaders()) {
            if (header.type() != ElfFile.PT_LOAD) {
                continue;
            }
            long end = header.vaddr() + header.memorySize();
            low = low == -1 || Long.compareUnsigned(header.vaddr(), low) < 0 ? header.vaddr() : low;
            high = high == -1 || Long.compareUnsigned(end, high) > 0 ? end : high;
        }
        return low == -1 ? null : new long[] {low & ~0xfffL, (high + 0xfff) & ~0xfffL};
    }

    /** The vDSO, read from the core's copy of it. */
    private static void vdso(CoreFile core, SymbolFiles files, List<Module> found, List<String> problems) {
        OptionalLong at = core.auxv(CoreFile.AT_SYSINFO_EHDR);
        if (at.isEmpty() || at.getAsLong() == 0) {
            return;
        }
        long base = at.getAsLong();
        for (Module module : found) {
            if (module.contains(base)) {
                return;
            }
        }
        ElfImage image = ElfImage.at(core, base);
        if (image == null) {
            problems.add(String.format("the vDSO at AT_SYSINFO_EHDR 0x%x is not in the core", base));
            return;
        }
        long fileEnd = 0;
        for (ElfImage.Segment segment : image.segments()) {
            if (segment.type() == ElfFile.PT_LOAD) {
                fileEnd = Math.max(fileEnd, segment.offset() + segment.fileSize());
            }
        }
        MemorySegment header = core.bytesAt(base, 64);
        long shoff = header.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(core.elf().byteOrder()), 40);
        int shentsize = Short.toUnsignedInt(header.get(
                java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(core.elf().byteOrder()), 58));
        int shnum = Short.toUnsignedInt(header.get(
                java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(core.elf().byteOrder()), 60));
        long size = Math.max(fileEnd, shoff + (long) shentsize * shnum);
        MemorySegment bytes = size > 0 && size <= MAX_VDSO ? core.bytesAt(base, size) : null;
        long end = base + Math.max(image.highestLoadEnd() - image.lowestLoad(), 0x1000);
        if (bytes == null) {
            problems.add(String.format("the vDSO at 0x%x claims %d bytes, which the core does not hold", base, size));
            return;
        }
        try {
            ElfFile elf = ElfFile.of("[vdso]", bytes);
            found.add(files.load("[vdso]", elf, null, base, end, SymbolFiles.Placement.mapped(base, 0), null));
        } catch (ElfException e) {
            problems.add(e.getMessage());
        }
    }
}
