package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.TestPrograms.CrashCore;
import dev.unwinder.elf.TestPrograms.LoadedModule;
import dev.unwinder.elf.TestPrograms.MapLine;
import dev.unwinder.elf.TestPrograms.NmSymbol;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link CoreModules} on cores of a program that gcc builds here ({@code src/test/c/crash.c}, a
 * position-independent executable linked with a shared library of its own, dying by abort()),
 * against what the program wrote down before it crashed: its {@code /proc/self/maps} (where each
 * file is) and {@code dl_iterate_phdr} (each module's name and load bias, which the dynamic
 * loader's {@code link_map} holds), and against {@code readelf -n} (each file's build-id).
 *
 * <ul>
 * <li>The kernel's core, by its {@code NT_FILE} note.
 * <li>The same core with its {@code NT_FILE} note renamed, by the {@code link_map} chain in its
 *     memory: the same modules.
 * <li>That core with the chain bent: a cycle, an entry that is its own successor, a name outside
 *     the core, a chain longer than 4096 entries: the modules found up to the lie, and a problem
 *     that says what the lie was.
 * <li>qemu-user's core of the same program built for aarch64, which has no {@code NT_FILE} note.
 * </ul>
 */
final class CoreModulesTest {
    private static final Duration QUICKLY = Duration.ofSeconds(10);

    private static Arena arena;
    private static CrashCore crash;
    private static CoreBytes original;
    private static CoreBytes withoutFileNote;

    @BeforeAll
    static void make() {
        arena = Arena.ofShared();
        crash = TestPrograms.kernelCore().crash();
        original = new CoreBytes(TestPrograms.read(crash.core()));
        withoutFileNote = original.copy();
        withoutFileNote.buffer.putInt(withoutFileNote.note(CoreFile.NT_FILE).headerAt() + 8, 0x46494c46);
    }

    @AfterAll
    static void close() {
        if (arena != null) {
            arena.close();
        }
    }

    private static SymbolFiles files() {
        return SymbolFiles.of(arena, null, List.of(SymbolFiles.DEFAULT_DEBUG_DIRECTORY), List.of(), Demangler.none());
    }

    private static CoreModules find(CoreBytes core) throws ElfException {
        CoreFile file = CoreFile.read(ElfFile.of("bent.core", MemorySegment.ofArray(core.bytes)));
        return assertTimeoutPreemptively(QUICKLY, () -> CoreModules.find(file, files()));
    }

    /** The module of each path, in base order. */
    private static Map<String, Module> byPath(CoreModules modules) {
        Map<String, Module> byPath = new LinkedHashMap<>();
        for (Module module : modules.modules().modules()) {
            byPath.put(module.path(), module);
        }
        return byPath;
    }

    /** The paths of the ELF files the program had mapped, by its maps, in address order; and its vDSO. */
    private static List<String> elfFilesOfTheMaps() {
        List<String> paths = new ArrayList<>();
        for (MapLine line : crash.maps()) {
            boolean elf = line.path().startsWith("/") && isElf(Path.of(line.path()));
            if ((elf || line.path().equals("[vdso]")) && !paths.contains(line.path())) {
                paths.add(line.path());
            }
        }
        return paths;
    }

    private static boolean isElf(Path file) {
        byte[] bytes = TestPrograms.read(file);
        return bytes.length > 4 && bytes[0] == 0x7f && bytes[1] == 'E' && bytes[2] == 'L' && bytes[3] == 'F';
    }

    @Test
    void theModulesOfAKernelCoreAreWhereTheProgramsMapsPutThem() throws ElfException {
        CoreFile core = CoreFile.read(ElfFile.open(crash.core(), arena));
        CoreModules found = CoreModules.find(core, files());
        assertEquals(List.of(), found.problems());
        Map<String, Module> modules = byPath(found);
        List<String> expected = elfFilesOfTheMaps();
        assertEquals(expected, List.copyOf(modules.keySet()));
        assertTrue(expected.contains(crash.program().toString()) && expected.contains(crash.library().toString())
                && expected.stream().anyMatch(path -> path.endsWith("/libc.so.6"))
                && expected.stream().anyMatch(path -> path.endsWith("/ld-linux-x86-64.so.2")) && expected.contains("[vdso]"),
                "the program, its library, libc, the dynamic loader and the vDSO: " + expected);
        for (Module module : modules.values()) {
            long[] span = module.path().equals("[vdso]") ? vdsoSpan() : crash.span(module.path());
            assertEquals(span[0], module.base(), module.path());
            assertEquals(span[1], module.end(), module.path());
            assertEquals(span[0], module.bias(), module.path() + ": every file here is linked at 0");
            assertEquals(Module.Symbols.LOADED, module.symbolState(), module.path());
            assertEquals(buildIdOf(module, core), module.buildIdHex(), module.path());
        }
        Module libc = modules.values().stream().filter(module -> module.name().equals("libc.so.6")).findFirst().orElseThrow();
        assertEquals(TestPrograms.libcDebugFile(), libc.debugFile());

        long pc = core.threads().getFirst().pc();
        assertEquals(libc, found.modules().find(pc), "abort() raises the signal in libc");
        List<NmSymbol> functions = new ArrayList<>(TestPrograms.sizedFunctions(TestPrograms.nm(TestPrograms.LIBC, true)));
        functions.addAll(TestPrograms.sizedFunctions(TestPrograms.nm(libc.debugFile(), false)));
        Set<String> names = SymbolTableTest.expectedNames(functions, pc - libc.bias());
        int symbol = libc.symbols().lookup(pc);
        assertTrue(symbol >= 0 && names.contains(libc.symbols().name(symbol)),
                "the pc's function in libc, by nm: " + names + ", ours: " + (symbol < 0 ? null : libc.symbols().name(symbol)));
    }

    private static long[] vdsoSpan() {
        MapLine vdso = crash.maps().stream().filter(line -> line.path().equals("[vdso]")).findFirst().orElseThrow();
        return new long[] {vdso.start(), vdso.end()};
    }

    /** readelf's build-id of the module's file; of the vDSO, of its bytes in the core written to a file. */
    private static String buildIdOf(Module module, CoreFile core) {
        if (!module.path().equals("[vdso]")) {
            return TestPrograms.readelfBuildId(module.file());
        }
        long[] span = vdsoSpan();
        MemorySegment bytes = core.bytesAt(span[0], span[1] - span[0]);
        assertNotNull(bytes, "the core holds the vDSO");
        Path file = crash.dir().resolve("vdso.so");
        TestPrograms.write(file, bytes.toArray(ValueLayout.JAVA_BYTE));
        return TestPrograms.readelfBuildId(file);
    }

    /**
     * Every module keeps the file it was read from, mapped once: a walker whose own arena is closed
     * (so it can map nothing) still walks every thread with the modules' call-frame information.
     */
    @Test
    void everyModuleKeepsItsMappedFilesForTheCallFrameInformation() throws ElfException {
        for (CoreBytes bytes : List.of(original, withoutFileNote)) {
            CoreFile core = CoreFile.read(ElfFile.of("bent.core", MemorySegment.ofArray(bytes.bytes)));
            ModuleMap modules = find(bytes).modules();
            for (Module module : modules.modules()) {
                assertTrue(module.elf() != null, module.path());
                assertEquals(module.debugFile() != null, module.debugElf() != null, module.path());
            }
            Arena closed = Arena.ofConfined();
            closed.close();
            CfiWalk walker = new CfiWalk(Plugins.of(core.machine()), modules, closed);
            int sp = Plugins.stackPointer(core.machine());
            for (CoreFile.CoreThread thread : core.threads()) {
                long[] registers = thread.dwarfRegisters();
                List<CfiWalk.How> hows = new ArrayList<>();
                CfiWalk.End end = walker.walk(thread.pc(), registers, core.segmentMemory(registers[sp]), 64,
                        (index, pc, frameSp, how) -> hows.add(how));
                assertEquals(CfiWalk.End.OUTERMOST, end, thread.tid() + ": " + hows + " " + walker.endDetail());
                assertTrue(hows.size() > 2 && hows.subList(1, hows.size()).stream().allMatch(how -> how == CfiWalk.How.CFI),
                        thread.tid() + ": " + hows);
            }
        }
    }

    @Test
    void withoutTheFileNoteTheLinkMapGivesTheSameModules() throws ElfException {
        CoreModules byNote = find(original);
        CoreModules byLinkMap = find(withoutFileNote);
        assertEquals(List.of(), byLinkMap.problems());
        assertEquals(describe(byNote), describe(byLinkMap));

        // And the names and biases the dynamic loader had, as dl_iterate_phdr listed them.
        Map<String, Long> loaded = new TreeMap<>();
        for (LoadedModule module : crash.loaded()) {
            String name = module.name().isEmpty() ? crash.program().toString() : module.name();
            loaded.put(name.startsWith("linux-vdso") ? "[vdso]" : name, module.bias());
        }
        Map<String, Long> ours = new TreeMap<>();
        for (Module module : byLinkMap.modules().modules()) {
            ours.put(module.path(), module.bias());
        }
        assertEquals(loaded, ours);
    }

    /** Each module as its real file (through Debian's /lib symbolic link), base, bias and build-id, by base. */
    private static List<String> describe(CoreModules modules) {
        List<String> lines = new ArrayList<>();
        for (Module module : modules.modules().modules()) {
            String file = module.file() == null ? module.path() : TestPrograms.real(module.file()).toString();
            lines.add(String.format("%s 0x%x bias 0x%x %s %s", file, module.base(), module.bias(), module.buildIdHex(),
                    module.symbolState()));
        }
        return lines;
    }

    private static List<String> pathsOf(CoreModules modules) {
        return modules.modules().modules().stream().map(Module::path).toList();
    }

    @Test
    void aLinkMapChainThatLoopsBackEndsWithTheLoop() throws ElfException {
        List<Long> chain = withoutFileNote.linkMap();
        List<Long> entries = chain.subList(1, chain.size());
        assertEquals(crash.loaded().size(), entries.size(), "one entry per module dl_iterate_phdr listed");
        CoreModules straight = find(withoutFileNote);

        CoreBytes looped = withoutFileNote.copy();
        looped.putWord(entries.getLast() + 24, entries.getFirst());
        CoreModules cycle = find(looped);
        assertEquals(List.of(String.format("the link_map chain loops back to 0x%x after %d entries", entries.getFirst(),
                entries.size())), cycle.problems());
        assertEquals(pathsOf(straight), pathsOf(cycle), "every entry was read once");

        CoreBytes self = withoutFileNote.copy();
        self.putWord(entries.get(1) + 24, entries.get(1));
        CoreModules selfLoop = find(self);
        assertEquals(List.of(String.format("the link_map chain loops back to 0x%x after 2 entries", entries.get(1))),
                selfLoop.problems());
        assertEquals(List.of(crash.program().toString(), "[vdso]"), pathsOf(selfLoop).stream().sorted().toList(),
                "the program, by its headers; the second entry is the vDSO's, which is added from AT_SYSINFO_EHDR");
    }

    @Test
    void aLinkMapEntryWhoseNameIsOutsideTheCoreIsSkipped() throws ElfException {
        List<Long> chain = withoutFileNote.linkMap();
        CoreModules straight = find(withoutFileNote);
        // The entry of the program's own library: its name goes, the chain goes on.
        long entry = chain.stream().skip(1).filter(e -> nameOf(withoutFileNote, e).equals(crash.library().toString()))
                .findFirst().orElseThrow();
        CoreBytes bent = withoutFileNote.copy();
        bent.putWord(entry + 8, 0x10);
        CoreModules found = find(bent);
        assertEquals(List.of(String.format("link_map entry 0x%x names its file at 0x10, outside the core's memory", entry)),
                found.problems());
        List<String> expected = new ArrayList<>(pathsOf(straight));
        expected.remove(crash.library().toString());
        assertEquals(expected, pathsOf(found));
    }

    @Test
    void aLinkMapThatPointsOutsideTheCoreEndsThere() throws ElfException {
        long rDebug = withoutFileNote.linkMap().getFirst();
        CoreBytes bent = withoutFileNote.copy();
        bent.putWord(rDebug + 8, 0x10);
        CoreModules found = find(bent);
        assertEquals(List.of("bent.core: link_map.l_addr at 0x10 is not in the core's memory"), found.problems());
        assertEquals(List.of(crash.program().toString(), "[vdso]"), pathsOf(found).stream().sorted().toList());
    }

    @Test
    void aLinkMapChainOfMoreThan4096EntriesIsCutThere() throws ElfException {
        List<Long> chain = withoutFileNote.linkMap();
        // 4,098 entries of 32 bytes, unnamed, each pointing to the next, in a writable segment that
        // holds none of the real chain.
        int entries = 4098;
        CoreBytes.Segment room = withoutFileNote.segments().stream()
                .filter(segment -> segment.type() == ElfFile.PT_LOAD && segment.fileSize() >= 32L * entries
                        && chain.stream().noneMatch(e -> Long.compareUnsigned(e - segment.vaddr(), segment.fileSize()) < 0))
                .findFirst().orElseThrow(() -> new AssertionError("no segment of the core has room for the chain"));
        CoreBytes bent = withoutFileNote.copy();
        for (int i = 0; i < entries; i++) {
            long entry = room.vaddr() + 32L * i;
            bent.putWord(entry, 0);
            bent.putWord(entry + 8, 0);
            bent.putWord(entry + 24, i + 1 < entries ? entry + 32 : 0);
        }
        bent.putWord(chain.getFirst() + 8, room.vaddr());
        CoreModules found = find(bent);
        assertEquals(List.of("the link_map chain has more than 4096 entries; the rest are ignored"), found.problems());
        assertEquals(List.of(crash.program().toString(), "[vdso]"), pathsOf(found).stream().sorted().toList());
    }

    private static String nameOf(CoreBytes core, long entry) {
        long name = core.word(entry + 8);
        int at = core.fileOffset(name);
        int end = at;
        while (core.bytes[end] != 0) {
            end++;
        }
        return new String(core.bytes, at, end - at, java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * qemu-user's core: no NT_FILE note, so the link_map chain; the names and biases are the ones
     * dl_iterate_phdr listed, the files are found under the sysroot or given, and each build-id is
     * readelf's.
     */
    @Test
    void theModulesOfAQemuCoreAreTheDynamicLoadersList() throws ElfException {
        TestPrograms.QemuCore qemu = TestPrograms.qemuCore();
        CrashCore crash = qemu.crash();
        CoreFile core = CoreFile.read(ElfFile.open(crash.core(), arena));
        SymbolFiles files = SymbolFiles.of(arena, qemu.sysroot(), List.of(SymbolFiles.DEFAULT_DEBUG_DIRECTORY),
                List.of(crash.program(), crash.library()), Demangler.none());
        CoreModules found = assertTimeoutPreemptively(QUICKLY, () -> CoreModules.find(core, files));
        assertEquals(false, core.hasFileNote());
        assertEquals(List.of(), found.problems());

        Map<String, Long> loaded = new TreeMap<>();
        for (LoadedModule module : crash.loaded()) {
            loaded.put(module.name().isEmpty() ? "./crash" : module.name(), module.bias());
        }
        Map<String, Long> ours = new TreeMap<>();
        for (Module module : found.modules().modules()) {
            ours.put(module.path(), module.bias());
            assertEquals(Module.Symbols.LOADED, module.symbolState(), module + ": " + module.problem());
            assertEquals(TestPrograms.readelfBuildId(module.file()), module.buildIdHex(), module.path());
            long[] span = crash.span(TestPrograms.real(module.file()).toString());
            assertEquals(span[0], module.base(), module.path());
        }
        assertEquals(loaded, ours);
        Module libc = found.modules().find(core.threads().getFirst().pc());
        assertNotNull(libc, "the pc is in a module");
        assertEquals("/lib/libc.so.6", libc.path());
        assertEquals(qemu.sysroot().resolve("lib/libc.so.6"), libc.file());
        assertTrue(Files.isRegularFile(libc.file()));
    }
}
