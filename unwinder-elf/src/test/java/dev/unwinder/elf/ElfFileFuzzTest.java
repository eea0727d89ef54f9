package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.Fuzzing.Edit;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Fuzzes {@link ElfFile}, {@link SymbolTable#read} and {@link SymbolFiles#load} with real files
 * built here, bent: a program with its symbol table, the same stripped with a
 * {@code .gnu_debuglink} (its debug file beside it) or a MiniDebugInfo {@code .gnu_debugdata}, its
 * separate debug file, a shared library. Three edits in four hit a field that a reader trusts
 * (header fields, program and section headers, notes, symbols, the debug link's name and CRC, the
 * xz stream's headers), the rest a random offset; some files are cut short.
 *
 * <p>The rule, whatever the bytes: the readers end in a result or an {@link ElfException} whose
 * message names the file on one line, never another exception; {@code SymbolFiles.load} always
 * returns a module; every run ends within seconds and allocates a bounded amount, whatever a
 * header claims. Fixed seeds and tries: a few seconds in all.
 */
final class ElfFileFuzzTest {
    private static final String NAME = "fuzzed";
    private static final long BASE = 0x5600_0000_0000L;
    private static final long MAX_BYTES = 96L << 20;

    /** A file to bend, where to write it, and the debug directories to load it with. */
    record Target(String name, byte[] bytes, List<Integer> fields, Path file, List<Path> debugDirectories) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Map<String, Target> targets;

    static synchronized Map<String, Target> targets() {
        if (targets != null) {
            return targets;
        }
        TestPrograms.requireTools("gcc", "objcopy", "strip", "xz", "bash", "nm", "awk", "sort", "comm");
        Path dir = TestPrograms.freshDirectory("elf-fuzz");
        Path program = TestPrograms.symbolsProgram(dir, "symbols");
        TestPrograms.check(dir, "objcopy", "--only-keep-debug", "symbols", "symbols.debug");
        TestPrograms.check(dir, "cp", "symbols", "debuglinked");
        TestPrograms.check(dir, "strip", "debuglinked");
        TestPrograms.check(dir, "objcopy", "--add-gnu-debuglink=symbols.debug", "debuglinked");
        TestPrograms.shell(dir, String.join("; ",
                "cp symbols mini",
                "nm -D mini --format=posix --defined-only | awk '{ print $1 }' | sort > dynsyms",
                "nm mini --format=posix --defined-only | awk '{ if ($2 == \"T\" || $2 == \"t\" || $2 == \"D\") print $1 }'"
                        + " | sort > funcsyms",
                "comm -13 dynsyms funcsyms > keep_symbols",
                "objcopy --only-keep-debug mini mini_debuginfo",
                "objcopy -S --remove-section .gdb_index --remove-section .comment --keep-symbols=keep_symbols"
                        + " mini_debuginfo mini_debuginfo.stripped",
                "strip --strip-all -R .comment mini",
                "xz -f mini_debuginfo.stripped",
                "objcopy --add-section .gnu_debugdata=mini_debuginfo.stripped.xz mini"));
        TestPrograms.check(dir, "gcc", "-O2", "-g", "-shared", "-fPIC", "-o", "libcrashlib.so",
                TestPrograms.sources().resolve("crashlib.c").toString());
        Path debugDirectory = dir.resolve("debug");
        TestPrograms.copy(dir.resolve("symbols.debug"),
                TestPrograms.buildIdPath(debugDirectory, TestPrograms.readelfBuildId(program)));
        Map<String, Target> made = new LinkedHashMap<>();
        for (String name : List.of("symbols", "debuglinked", "mini", "symbols.debug", "libcrashlib.so")) {
            byte[] bytes = TestPrograms.read(dir.resolve(name));
            // Each bent file goes into a directory of its own, beside an intact copy of the debug file.
            Path home = dir.resolve("bent-" + name);
            TestPrograms.copy(dir.resolve("symbols.debug"), home.resolve("symbols.debug"));
            List<Path> debugDirectories = name.equals("debuglinked") ? List.of() : List.of(debugDirectory);
            made.put(name, new Target(name, bytes, fields(bytes), home.resolve(name), debugDirectories));
        }
        targets = made;
        return targets;
    }

    /** The offsets of the fields a reader trusts, found by walking the file with plain buffer reads. */
    static List<Integer> fields(byte[] bytes) {
        ByteBuffer elf = ByteBuffer.wrap(bytes).order(bytes[5] == 2 ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        List<Integer> offsets = new ArrayList<>(List.of(4, 5, 16, 18, 24, 32, 40, 54, 56, 58, 60, 62));
        int phoff = (int) elf.getLong(32);
        for (int i = 0; i < Short.toUnsignedInt(elf.getShort(56)); i++) {
            for (int field : new int[] {0, 8, 16, 32, 40}) {
                offsets.add(phoff + 56 * i + field);
            }
        }
        int shoff = (int) elf.getLong(40);
        int count = Short.toUnsignedInt(elf.getShort(60));
        int names = shoff + 64 * Short.toUnsignedInt(elf.getShort(62));
        for (int i = 0; i < count; i++) {
            int at = shoff + 64 * i;
            for (int field : new int[] {0, 4, 24, 32, 40, 44, 56}) {
                offsets.add(at + field);
            }
            int type = elf.getInt(at + 4);
            int offset = (int) elf.getLong(at + 24);
            int size = (int) elf.getLong(at + 32);
            if (type == ElfFile.SHT_NOBITS || offset + size > bytes.length) {
                continue;
            }
            String name = cString(bytes, (int) elf.getLong(names + 24) + elf.getInt(at));
            if (type == ElfFile.SHT_NOTE) {
                for (int note = offset; note + 12 <= offset + size; ) {
                    offsets.addAll(List.of(note, note + 4, note + 8));
                    note += 12 + ((elf.getInt(note) + 3) & ~3) + ((elf.getInt(note + 4) + 3) & ~3);
                }
            } else if (type == ElfFile.SHT_SYMTAB || type == ElfFile.SHT_DYNSYM) {
                for (int symbol = offset; symbol + 24 <= offset + size; symbol += 24) {
                    for (int field : new int[] {0, 4, 6, 8, 16}) {
                        offsets.add(symbol + field);
                    }
                }
            } else if (name.equals(".gnu_debuglink") || name.equals(".gnu_debugdata")) {
                // The link's name and CRC; the xz stream's header, block header and first bytes of data.
                for (int at2 = offset; at2 < offset + Math.min(size, 256); at2++) {
                    offsets.add(at2);
                }
                offsets.add(offset + size - 4);
                offsets.add(offset + size - 12);
            } else if (type == ElfFile.SHT_STRTAB) {
                for (int at2 = offset; at2 < offset + size; at2 += Math.max(1, size / 16)) {
                    offsets.add(at2);
                }
            }
        }
        return List.copyOf(offsets);
    }

    private static String cString(byte[] bytes, int at) {
        int end = at;
        while (end < bytes.length && bytes[end] != 0) {
            end++;
        }
        return new String(bytes, at, end - at, StandardCharsets.ISO_8859_1);
    }

    /** Everything a reader does with a file; only an ElfException about the file may come out of it. */
    static void read(byte[] bytes) {
        try {
            ElfFile elf = ElfFile.of(NAME, MemorySegment.ofArray(bytes));
            elf.programHeaders();
            elf.sectionHeaders();
            elf.buildId();
            elf.notes("GNU", Set.of(ElfFile.NT_GNU_BUILD_ID, 1, 5));
            elf.sectionNotes("GNU", Set.of(ElfFile.NT_GNU_BUILD_ID, 1, 5));
            for (String name : List.of(".gnu_debuglink", ".gnu_debugdata", ".text", ".symtab")) {
                ElfFile.SectionHeader section = elf.section(name);
                if (section != null) {
                    elf.sectionBytes(section);
                }
            }
            checkTable(SymbolTable.read(elf, BASE, Demangler.none()));
        } catch (ElfException e) {
            assertTrue(e.getMessage().startsWith(NAME + ": "), e.getMessage());
            Fuzzing.assertOneLine(e.getMessage());
        }
    }

    /** Every symbol is found at its start and names something; nothing is found below the first. */
    static void checkTable(SymbolLookup table) {
        for (int i = 0; i < table.size(); i++) {
            int found = table.lookup(table.start(i));
            assertTrue(found >= 0 && Long.compareUnsigned(table.start(i) - table.start(found), table.size(found)) < 0);
            assertTrue(table.name(i) != null && (!(table instanceof SymbolTable elf) || elf.rawName(i) != null));
        }
        if (table.size() > 0) {
            assertEquals(-1, table.lookup(table.start(0) - 1));
        }
    }

    /** The whole of loading a module from the bent file on disk: never an exception, always a module. */
    static void load(Target target, byte[] bytes) {
        TestPrograms.write(target.file(), bytes);
        try (Arena arena = Arena.ofConfined()) {
            SymbolFiles files = SymbolFiles.of(arena, null, target.debugDirectories(), List.of(), Demangler.none());
            Module module = files.load(target.file().toString(), BASE, BASE + 0x10000, SymbolFiles.Placement.mapped(BASE, 0),
                    null);
            if (module.problem() != null) {
                Fuzzing.assertOneLine(module.problem());
            }
            if (module.symbolState() != Module.Symbols.LOADED) {
                assertEquals(0, module.symbols().size());
            }
            checkTable(module.symbols());
        }
    }

    private static void readAndLoad(Target target, byte[] bytes) {
        Fuzzing.bounded(target + " bent", MAX_BYTES + 64L * bytes.length, () -> {
            read(bytes);
            load(target, bytes);
        });
    }

    @Provide
    Arbitrary<String> files() {
        return Arbitraries.of("symbols", "debuglinked", "mini", "symbols.debug", "libcrashlib.so");
    }

    @Provide
    Arbitrary<Edit> edits() {
        return Fuzzing.edits();
    }

    @Property(tries = 500, seed = "20261130")
    void aFileWithLyingFields(@ForAll("files") String name, @ForAll @Size(min = 1, max = 6) List<@From("edits") Edit> edits) {
        Target target = targets().get(name);
        readAndLoad(target, Fuzzing.mutate(target.bytes(), ByteOrder.LITTLE_ENDIAN, target.fields(), List.of(), edits, 100));
    }

    @Property(tries = 150, seed = "20261130")
    void aFileCutShort(@ForAll("files") String name, @ForAll @IntRange(min = 0, max = 99) int keepPercent,
                       @ForAll @Size(max = 2) List<@From("edits") Edit> edits) {
        Target target = targets().get(name);
        readAndLoad(target, Fuzzing.mutate(target.bytes(), ByteOrder.LITTLE_ENDIAN, target.fields(), List.of(), edits,
                keepPercent));
    }

    @Property(tries = 150, seed = "20261130")
    void randomBytesBehindAnElfHeader(@ForAll("files") String name, @ForAll @Size(max = 4096) byte[] random,
                                      @ForAll @IntRange(min = 0, max = 64) int headerBytes) {
        Target target = targets().get(name);
        byte[] bytes = Arrays.copyOf(target.bytes(), headerBytes + random.length);
        System.arraycopy(random, 0, bytes, headerBytes, random.length);
        readAndLoad(target, bytes);
    }

    /** The unbent files read and load without a problem: the fuzzing starts from good files. */
    @Property(tries = 5, seed = "20261130")
    void theFilesAsBuiltLoadCleanly(@ForAll("files") String name) {
        Target target = targets().get(name);
        load(target, target.bytes());
        try (Arena arena = Arena.ofConfined()) {
            Module module = SymbolFiles.of(arena, null, target.debugDirectories(), List.of(), Demangler.none())
                    .load(target.file().toString(), BASE, BASE + 0x10000, SymbolFiles.Placement.mapped(BASE, 0), null);
            assertEquals(Module.Symbols.LOADED, module.symbolState());
            assertEquals(null, module.problem());
            String function = target.name().equals("libcrashlib.so") ? "crash_in_library" : "exported";
            assertTrue(java.util.stream.IntStream.range(0, module.symbols().size())
                    .anyMatch(i -> module.symbols().name(i).equals(function)), target + " names " + function);
        }
    }
}
