package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.TestPrograms.NmSymbol;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link SymbolFiles} on a program that gcc builds here ({@code src/test/c/symbols.c}), stripped by
 * {@code strip}, with its symbols moved out the ways distributions ship them: a separate debug file
 * found by build-id ({@code objcopy --only-keep-debug}), by {@code .gnu_debuglink} next to the file,
 * in its {@code .debug} directory or under the debug directory ({@code objcopy --add-gnu-debuglink}),
 * with and without a sysroot; MiniDebugInfo built as Fedora builds it. The proof that a debug file
 * was used is {@code static_helper}, a static function that the stripped program does not name and
 * the debug file does, found at the address nm gives it.
 */
final class SymbolFilesTest {
    private static final long BASE = 0x5600_0000_0000L;

    private static Path program;
    private static String buildId;
    private static NmSymbol staticHelper;
    private static NmSymbol exported;

    private Arena arena;
    private Path dir;

    @BeforeAll
    static void build() {
        TestPrograms.requireTools("gcc", "objcopy", "strip", "readelf", "nm");
        Path dir = TestPrograms.freshDirectory("symbol-files");
        program = TestPrograms.symbolsProgram(dir, "symbols");
        buildId = TestPrograms.readelfBuildId(program);
        List<NmSymbol> symbols = TestPrograms.nm(program, false);
        staticHelper = symbols.stream().filter(symbol -> symbol.name().equals("static_helper")).findFirst().orElseThrow();
        exported = symbols.stream().filter(symbol -> symbol.name().equals("exported")).findFirst().orElseThrow();
    }

    @BeforeEach
    void open(org.junit.jupiter.api.TestInfo test) {
        arena = Arena.ofShared();
        dir = TestPrograms.freshDirectory("symbol-files/" + test.getTestMethod().orElseThrow().getName()
                + test.getDisplayName().replaceAll("[^A-Za-z0-9]", "_"));
    }

    @AfterEach
    void close() {
        arena.close();
    }

    /** The program copied to {@code to}, then stripped of every symbol but those of .dynsym by {@code strip}. */
    private static Path stripped(Path to) {
        TestPrograms.copy(program, to);
        TestPrograms.check(to.getParent(), "strip", to.toString());
        String sections = TestPrograms.check(to.getParent(), "readelf", "-SW", to.toString());
        assertTrue(!sections.contains(".symtab") && sections.contains(".dynsym"), "strip leaves .dynsym only:\n" + sections);
        return to;
    }

    /** {@code objcopy --only-keep-debug} of the program, into {@code to}. */
    private static Path debugFile(Path to) {
        try {
            Files.createDirectories(to.getParent());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        TestPrograms.check(to.getParent(), "objcopy", "--only-keep-debug", program.toString(), to.toString());
        return to;
    }

    private static byte[] buildIdBytes() {
        return HexFormat.of().parseHex(buildId);
    }

    private SymbolFiles files(Path sysroot, Path... debugDirectories) {
        return SymbolFiles.of(arena, sysroot, List.of(debugDirectories), List.of(), Demangler.none());
    }

    private static Module load(SymbolFiles files, Path file) {
        return files.load(file.toString(), BASE, BASE + 0x5000, SymbolFiles.Placement.mapped(BASE, 0), buildIdBytes());
    }

    /** The name of the function at {@code symbol}'s address in the module, or null. */
    private static String nameAt(Module module, NmSymbol symbol) {
        int index = module.symbols().lookup(module.bias() + symbol.value() + 1);
        return index < 0 ? null : module.symbols().name(index);
    }

    private static void assertUsedTheDebugFile(Module module, Path debug) {
        assertEquals(Module.Symbols.LOADED, module.symbolState(), module.problem());
        assertEquals(debug, module.debugFile());
        assertNull(module.problem());
        assertEquals(BASE, module.bias());
        assertEquals(buildId, module.buildIdHex());
        assertEquals("static_helper", nameAt(module, staticHelper));
        assertEquals("exported", nameAt(module, exported));
    }

    private static void assertUsedNoDebugFile(Module module) {
        assertEquals(Module.Symbols.LOADED, module.symbolState(), module.problem());
        assertNull(module.debugFile());
        assertEquals("exported", nameAt(module, exported), "the stripped program's own .dynsym");
        assertTrue(nameAt(module, staticHelper) == null || !nameAt(module, staticHelper).equals("static_helper"));
    }

    @Test
    void findsTheDebugFileByBuildId() {
        Path file = stripped(dir.resolve("bin/symbols"));
        Path debugDirectory = dir.resolve("debug");
        Path debug = debugFile(TestPrograms.buildIdPath(debugDirectory, buildId));
        assertUsedTheDebugFile(load(files(null, debugDirectory), file), debug);
        assertUsedNoDebugFile(load(files(null, dir.resolve("elsewhere")), file));
    }

    @Test
    void findsTheDebugFileByBuildIdUnderTheSysroot() {
        Path sysroot = dir.resolve("sysroot");
        Path file = stripped(sysroot.resolve("opt/app/symbols"));
        Path debug = debugFile(TestPrograms.buildIdPath(sysroot.resolve("usr/lib/debug"), buildId));
        Module module = files(sysroot, Path.of("/usr/lib/debug")).load("/opt/app/symbols", BASE, BASE + 0x5000,
                SymbolFiles.Placement.mapped(BASE, 0), buildIdBytes());
        assertEquals(file, module.file());
        assertUsedTheDebugFile(module, debug);
    }

    /** The three places gdb looks for a {@code .gnu_debuglink} file, and which of them each case uses. */
    @ParameterizedTest
    @ValueSource(strings = {"next to the file", "in its .debug directory", "under the debug directory"})
    void findsTheDebugFileByDebuglink(String where) {
        Path file = stripped(dir.resolve("bin/symbols"));
        Path debugDirectory = dir.resolve("debug");
        Path debug = debuglinked(file, switch (where) {
            case "next to the file" -> file.resolveSibling("symbols.debug");
            case "in its .debug directory" -> file.resolveSibling(".debug").resolve("symbols.debug");
            default -> debugDirectory.resolve(file.getParent().toAbsolutePath().toString().substring(1)).resolve("symbols.debug");
        });
        assertUsedTheDebugFile(load(files(null, debugDirectory), file), debug);
    }

    /** Links {@code file} to a debug file of the program, which ends up at {@code debug}. */
    private static Path debuglinked(Path file, Path debug) {
        Path made = debugFile(file.resolveSibling("symbols.debug"));
        TestPrograms.check(file.getParent(), "objcopy", "--add-gnu-debuglink=" + made, file.toString());
        if (!made.equals(debug)) {
            TestPrograms.copy(made, debug);
            TestPrograms.deleteRecursively(made);
        }
        return debug;
    }

    @Test
    void findsTheDebuglinkFileUnderTheDebugDirectoryOfTheSysroot() {
        Path sysroot = dir.resolve("sysroot");
        Path file = stripped(sysroot.resolve("opt/app/symbols"));
        Path debug = debuglinked(file, sysroot.resolve("usr/lib/debug/opt/app/symbols.debug"));
        Module module = files(sysroot, Path.of("/usr/lib/debug")).load("/opt/app/symbols", BASE, BASE + 0x5000,
                SymbolFiles.Placement.mapped(BASE, 0), buildIdBytes());
        assertUsedTheDebugFile(module, debug);
    }

    @Test
    void aDebuglinkFileWhoseCrcDoesNotMatchIsNotUsed() {
        Path file = stripped(dir.resolve("bin/symbols"));
        Path debug = debuglinked(file, file.resolveSibling("symbols.debug"));
        assertUsedTheDebugFile(load(files(null), file), debug);
        // One byte more: another file, by its CRC, although still a good ELF file with the right symbols.
        byte[] bytes = TestPrograms.read(debug);
        byte[] longer = java.util.Arrays.copyOf(bytes, bytes.length + 1);
        TestPrograms.write(debug, longer);
        assertUsedNoDebugFile(load(files(null), file));
    }

    @Test
    void aFileOfAnotherBuildIsAMismatch() {
        Path file = stripped(dir.resolve("bin/symbols"));
        byte[] other = buildIdBytes();
        other[0] ^= 1;
        Module module = files(null).load(file.toString(), BASE, BASE + 0x5000, SymbolFiles.Placement.mapped(BASE, 0), other);
        assertEquals(Module.Symbols.MISMATCH, module.symbolState());
        assertEquals(file + " has build-id " + buildId + ", the process had " + HexFormat.of().formatHex(other),
                module.problem());
        assertEquals(HexFormat.of().formatHex(other), module.buildIdHex(), "the process's build-id");
        assertEquals(0, module.symbols().size());
        assertEquals(BASE, module.bias());
        assertEquals(file, module.file());
    }

    @Test
    void aFileWithoutABuildIdIsAMismatchWhenTheProcessHadOne() {
        Path file = dir.resolve("no-build-id");
        TestPrograms.check(dir, "gcc", "-O1", "-Wl,--build-id=none", "-o", file.toString(),
                TestPrograms.sources().resolve("symbols.c").toString());
        Module module = files(null).load(file.toString(), BASE, BASE + 0x5000, SymbolFiles.Placement.mapped(BASE, 0),
                buildIdBytes());
        assertEquals(Module.Symbols.MISMATCH, module.symbolState());
        assertEquals(file + " has build-id none, the process had " + buildId, module.problem());
        Module unknown = files(null).load(file.toString(), BASE, BASE + 0x5000, SymbolFiles.Placement.mapped(BASE, 0), null);
        assertEquals(Module.Symbols.LOADED, unknown.symbolState(), "no build-id to compare: the file is used");
        assertNull(unknown.buildIdHex());
        assertEquals("exported", nameAt(unknown, exported));
    }

    @Test
    void aMissingFileIsMissingWithTheSysrootInTheProblem() {
        Path sysroot = dir.resolve("sysroot");
        Module module = files(sysroot).load("/usr/lib/libgone.so", 0x7f00_0000_0000L, 0x7f00_0001_0000L,
                SymbolFiles.Placement.mapped(0x7f00_0000_0000L, 0), buildIdBytes());
        assertEquals(Module.Symbols.MISSING, module.symbolState());
        assertEquals("not found under the sysroot " + sysroot, module.problem());
        assertNull(module.file());
        assertEquals(0x7f00_0000_0000L, module.bias(), "mapped from file offset 0: the bias is where");
        assertEquals(buildId, module.buildIdHex(), "the process's build-id");
        assertEquals(0, module.symbols().size());
        assertEquals("libgone.so", module.name());

        Module noSysroot = files(null).load(dir.resolve("gone").toString(), 0x1000, 0x2000,
                SymbolFiles.Placement.mapped(0x1000, 0x3000), null);
        assertEquals("not found", noSysroot.problem());
        assertEquals(0, noSysroot.bias(), "mapped from another file offset: the bias is not known without the file");
        assertEquals(Module.Symbols.MISSING, files(null).load("relative/path.so", 0, 1, SymbolFiles.Placement.bias(0), null)
                .symbolState());
    }

    @Test
    void aFileThatIsNotElfIsMissingWithTheReason() {
        Path file = dir.resolve("notes.txt");
        TestPrograms.write(file, "not an ELF file\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        Module module = files(null).load(file.toString(), 0x1000, 0x2000, SymbolFiles.Placement.bias(0x1000), null);
        assertEquals(Module.Symbols.MISSING, module.symbolState());
        assertEquals(file + ": not an ELF file (it does not start with the ELF magic 7f 45 4c 46)", module.problem());
        assertEquals(0x1000, module.bias());
    }

    /**
     * MiniDebugInfo as Fedora makes it (gdb's manual, "MiniDebugInfo"): the function symbols that
     * .dynsym lacks, in a stripped debug file, xz-compressed into the stripped program's
     * {@code .gnu_debugdata}.
     */
    @Test
    void findsAStaticFunctionOnlyThroughMiniDebugInfo() {
        TestPrograms.requireTools("bash", "xz", "awk", "sort", "comm");
        Path prog = dir.resolve("prog");
        TestPrograms.copy(program, prog);
        TestPrograms.shell(dir, String.join("; ",
                "nm -D prog --format=posix --defined-only | awk '{ print $1 }' | sort > dynsyms",
                "nm prog --format=posix --defined-only | awk '{ if ($2 == \"T\" || $2 == \"t\" || $2 == \"D\") print $1 }'"
                        + " | sort > funcsyms",
                "comm -13 dynsyms funcsyms > keep_symbols",
                "objcopy --only-keep-debug prog mini_debuginfo",
                "objcopy -S --remove-section .gdb_index --remove-section .comment --keep-symbols=keep_symbols"
                        + " mini_debuginfo mini_debuginfo.stripped",
                "strip --strip-all -R .comment prog",
                "cp prog prog.without",
                "xz mini_debuginfo.stripped",
                "objcopy --add-section .gnu_debugdata=mini_debuginfo.stripped.xz prog"));
        assertTrue(TestPrograms.lines(dir.resolve("keep_symbols")).contains("static_helper"));

        Module module = load(files(null), prog);
        assertEquals(Module.Symbols.LOADED, module.symbolState());
        assertNull(module.problem());
        assertNull(module.debugFile(), "no separate debug file: the symbols came from .gnu_debugdata");
        assertEquals("static_helper", nameAt(module, staticHelper));
        assertEquals("exported", nameAt(module, exported));

        Module without = load(files(null), dir.resolve("prog.without"));
        assertUsedNoDebugFile(without);
    }

    @Test
    void gnuDebugdataThatIsNotXzLeavesTheModuleItsOwnSymbolsAndSaysWhy() {
        Path file = stripped(dir.resolve("prog"));
        Path garbage = dir.resolve("garbage");
        TestPrograms.write(garbage, "this is not xz data".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        TestPrograms.check(dir, "objcopy", "--add-section", ".gnu_debugdata=" + garbage, file.toString());
        Module module = load(files(null), file);
        assertEquals(Module.Symbols.LOADED, module.symbolState());
        assertEquals(file + ": .gnu_debugdata is not valid xz data (Input is not in the XZ format)", module.problem());
        assertEquals("exported", nameAt(module, exported));
        assertEquals(buildId, module.buildIdHex());
    }

    @Test
    void gnuDebugdataThatIsXzButNotElfSaysSo() {
        TestPrograms.requireTools("xz");
        Path file = stripped(dir.resolve("prog"));
        Path text = dir.resolve("text");
        TestPrograms.write(text, "xz, but not an ELF file".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        TestPrograms.check(dir, "xz", text.toString());
        TestPrograms.check(dir, "objcopy", "--add-section", ".gnu_debugdata=" + text + ".xz", file.toString());
        Module module = load(files(null), file);
        assertEquals(Module.Symbols.LOADED, module.symbolState());
        assertEquals(file + " (.gnu_debugdata): not an ELF file (it does not start with the ELF magic 7f 45 4c 46)",
                module.problem());
        assertEquals("exported", nameAt(module, exported));
    }

    @Test
    void locatesGivenFilesByPathThenByNameThenUnderTheSysroot() {
        Path sysroot = dir.resolve("sysroot");
        Path inSysroot = sysroot.resolve("usr/lib/libx.so");
        TestPrograms.copy(program, inSysroot);
        Path givenByName = dir.resolve("given/libx.so");
        TestPrograms.copy(program, givenByName);
        Path givenByPath = dir.resolve("given/exact/liby.so");
        TestPrograms.copy(program, givenByPath);
        SymbolFiles files = SymbolFiles.of(arena, sysroot, List.of(), List.of(givenByName, givenByPath), Demangler.none());
        assertEquals(givenByPath, files.locate(givenByPath.toString()));
        assertEquals(givenByName, files.locate("/usr/lib/libx.so"), "a given file of the same name comes first");
        assertEquals(givenByPath, files.locate("/elsewhere/liby.so"));
        assertNull(files.locate("/usr/lib/libz.so"));
        assertEquals(inSysroot, SymbolFiles.of(arena, sysroot, List.of(), List.of(), Demangler.none()).locate("/usr/lib/libx.so"));
        assertNull(SymbolFiles.of(arena, sysroot, List.of(), List.of(), Demangler.none()).locate("libx.so"),
                "a relative path is only looked for among the given files");
        assertEquals(sysroot, files.sysroot());
        assertEquals(List.of(givenByName, givenByPath), files.givenFiles());
    }

    @Test
    void locatesTheExecutableAmongTheGivenFiles() {
        Path library = dir.resolve("libcrash.so");
        TestPrograms.check(dir, "gcc", "-shared", "-fPIC", "-o", library.toString(),
                TestPrograms.sources().resolve("crashlib.c").toString());
        Path text = dir.resolve("readme.txt");
        TestPrograms.write(text, "text".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        SymbolFiles files = SymbolFiles.of(arena, null, List.of(), List.of(text, library, program), Demangler.none());
        assertEquals(program, files.locateExecutable("./a.out"), "the first given file with a PT_INTERP segment");
        assertEquals(library, files.locateExecutable("/opt/libcrash.so"), "by name first");
        assertNull(SymbolFiles.of(arena, null, List.of(), List.of(text, library), Demangler.none()).locateExecutable("./a.out"));
    }

    private static final Pattern LOAD = Pattern.compile(
            "^\\s*LOAD\\s+0x([0-9a-f]+)\\s+0x([0-9a-f]+)\\s+0x[0-9a-f]+\\s+0x([0-9a-f]+)", Pattern.MULTILINE);

    /**
     * Each {@code PT_LOAD} segment mapped from its first byte, and from the start of the page that
     * holds it, as the kernel maps it, gives back the bias it was loaded with; but a page that
     * holds the bytes of two segments (a small program's last page of read-only data and first of
     * data) names the first, by the placement's contract, so it is not asked about.
     */
    @ParameterizedTest
    @ValueSource(strings = {"program", "libc"})
    void aMappingOfASegmentGivesTheLoadBias(String which) throws ElfException {
        Path file = which.equals("program") ? program : TestPrograms.LIBC;
        Matcher load = LOAD.matcher(TestPrograms.check(dir, "readelf", "-lW", file.toString()));
        List<long[]> segments = new java.util.ArrayList<>();
        while (load.find()) {
            segments.add(new long[] {Long.parseUnsignedLong(load.group(1), 16), Long.parseUnsignedLong(load.group(2), 16),
                Long.parseUnsignedLong(load.group(3), 16)});
        }
        assertTrue(segments.size() >= 4, file + " has " + segments.size() + " PT_LOAD segments");
        ElfFile elf = ElfFile.open(file, arena);
        long bias = 0x7f12_3450_0000L;
        int pages = 0;
        for (long[] segment : segments) {
            long offset = segment[0];
            long vaddr = segment[1];
            assertEquals(bias, SymbolFiles.Placement.mapped(bias + vaddr, offset).bias(elf),
                    String.format("%s: from the first byte of the PT_LOAD at file offset 0x%x", file, offset));
            long page = offset & ~0xfffL;
            boolean shared = segments.stream().anyMatch(other -> other != segment
                    && Long.compareUnsigned(page - other[0], other[2]) < 0);
            if (!shared) {
                assertEquals(bias, SymbolFiles.Placement.mapped(bias + (vaddr & ~0xfffL), page).bias(elf),
                        String.format("%s: from the page of the PT_LOAD at file offset 0x%x", file, offset));
                pages++;
            }
        }
        assertTrue(pages >= 3, "pages asked about: " + pages);
        assertEquals(bias, SymbolFiles.Placement.bias(bias).bias(elf));
        assertEquals(bias, SymbolFiles.Placement.bias(bias).biasWithoutFile());
        ElfException beyond = org.junit.jupiter.api.Assertions.assertThrows(ElfException.class,
                () -> SymbolFiles.Placement.mapped(bias, 0x4000_0000L).bias(elf));
        assertEquals(file + ": no PT_LOAD segment holds file offset 0x40000000, where the process mapped it",
                beyond.getMessage());
    }

    @Test
    void theModuleKeepsWhatItWasGiven() {
        Module module = load(files(null), program);
        assertEquals(program.toString(), module.path());
        assertEquals("symbols", module.name());
        assertEquals(BASE, module.base());
        assertEquals(BASE + 0x5000, module.end());
        assertTrue(module.contains(BASE) && module.contains(BASE + 0x4fff) && !module.contains(BASE + 0x5000));
        assertEquals(program.toString() + " [0x560000000000, 0x560000005000) loaded", module.toString());
        byte[] id = module.buildId();
        id[0] ^= 1;
        assertEquals(buildId, module.buildIdHex(), "buildId() returns a copy");
    }
}
