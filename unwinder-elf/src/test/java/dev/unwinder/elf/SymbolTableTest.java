package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.TestPrograms.NmSymbol;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link SymbolTable} against nm on real files: a program that gcc builds here from
 * {@code src/test/c/symbols.c} (four names at one address, a sized local symbol nested in a larger
 * function, a function symbol of size 0), and this machine's C library with its debug file.
 *
 * <p>The oracle, from nm's symbols only: an address gets the function symbols of a non-zero size
 * that cover it, of these the ones that start last (the innermost), and of these the longest; a
 * global name before a weak one before a local one where that leaves several. No symbol covers it:
 * no name.
 */
final class SymbolTableTest {
    /** Load biases: none, a shared library's, and one in the upper half, where signed comparisons go wrong. */
    private static final long[] BIASES = {0, 0x7f3a_1c40_0000L, 0xffff_8000_0000_0000L};

    private static Arena arena;
    private static Path program;
    private static List<NmSymbol> programFunctions;

    @BeforeAll
    static void build() {
        arena = Arena.ofShared();
        Path dir = TestPrograms.freshDirectory("symbol-table");
        program = TestPrograms.symbolsProgram(dir, "symbols");
        List<NmSymbol> all = new ArrayList<>(TestPrograms.nm(program, false));
        all.addAll(TestPrograms.nm(program, true));
        programFunctions = TestPrograms.sizedFunctions(all);
    }

    @AfterAll
    static void close() {
        if (arena != null) {
            arena.close();
        }
    }

    /** The names the oracle gives an address: see the class comment. Empty where no symbol covers it. */
    static Set<String> expectedNames(List<NmSymbol> functions, long address) {
        long innermost = -1;
        long longest = 0;
        boolean any = false;
        for (NmSymbol symbol : functions) {
            if (!symbol.covers(address)) {
                continue;
            }
            if (!any || Long.compareUnsigned(symbol.value(), innermost) > 0) {
                innermost = symbol.value();
                longest = symbol.size();
            } else if (symbol.value() == innermost && Long.compareUnsigned(symbol.size(), longest) > 0) {
                longest = symbol.size();
            }
            any = true;
        }
        Set<String> names = new TreeSet<>();
        int bestRank = -1;
        for (NmSymbol symbol : functions) {
            if (any && symbol.value() == innermost && symbol.size() == longest) {
                int rank = rank(symbol.letter());
                if (rank > bestRank) {
                    names.clear();
                    bestRank = rank;
                }
                if (rank == bestRank) {
                    names.add(symbol.name());
                }
            }
        }
        return names;
    }

    /** The span the oracle picks for an address, as {@code [start, +size)}, or {@code none}. */
    static String expectedSpan(List<NmSymbol> functions, long address) {
        NmSymbol best = null;
        for (NmSymbol symbol : functions) {
            if (symbol.covers(address) && (best == null || Long.compareUnsigned(symbol.value(), best.value()) > 0
                    || symbol.value() == best.value() && Long.compareUnsigned(symbol.size(), best.size()) > 0)) {
                best = symbol;
            }
        }
        return best == null ? "none" : String.format("[0x%x, +0x%x)", best.value(), best.size());
    }

    /** The span of the symbol the table gives an address, as {@code [start, +size)}, or {@code none}. */
    private static String span(SymbolTable table, long address) {
        int index = table.lookup(address);
        return index < 0 ? "none" : String.format("[0x%x, +0x%x)", table.start(index), table.size(index));
    }

    /** nm's class letters: upper case is global, except W and V, weak; lower case is local. */
    private static int rank(String letter) {
        if (letter.equals("W") || letter.equals("V") || letter.equals("w") || letter.equals("v")) {
            return 1;
        }
        return Character.isUpperCase(letter.charAt(0)) ? 2 : 0;
    }

    /** The name the table gives an address, checked against the span it reports; null for none. */
    private static String lookup(SymbolTable table, long address) {
        int index = table.lookup(address);
        if (index < 0) {
            assertEquals(-1, index);
            return null;
        }
        assertTrue(Long.compareUnsigned(address - table.start(index), table.size(index)) < 0,
                String.format("0x%x is not inside the symbol %s it got, [0x%x, +0x%x)", address, table.name(index),
                        table.start(index), table.size(index)));
        return table.name(index);
    }

    @Test
    void everyAddressOfTheProgramGetsTheInnermostSymbolNmListsThere() throws ElfException {
        ElfFile elf = ElfFile.open(program, arena);
        long low = programFunctions.stream().mapToLong(NmSymbol::value).min().orElseThrow();
        long high = programFunctions.stream().mapToLong(symbol -> symbol.value() + symbol.size()).max().orElseThrow();
        for (long bias : BIASES) {
            SymbolTable table = SymbolTable.read(elf, bias, Demangler.none());
            int named = 0;
            for (long address = low - 32; address < high + 32; address++) {
                Set<String> expected = expectedNames(programFunctions, address);
                String name = lookup(table, address + bias);
                if (expected.isEmpty()) {
                    assertEquals(null, name, String.format("0x%x (bias 0x%x)", address, bias));
                } else {
                    named++;
                    assertTrue(expected.contains(name),
                            String.format("0x%x (bias 0x%x): %s, expected one of %s", address, bias, name, expected));
                    int index = table.lookup(address + bias);
                    NmSymbol symbol = programFunctions.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
                    assertEquals(symbol.value() + bias, table.start(index), name);
                    assertEquals(symbol.size(), table.size(index), name);
                }
            }
            assertTrue(named > 300, "the program has more than 300 bytes of named code: " + named);
            assertEquals(programFunctions.stream().map(NmSymbol::value).distinct().count(), table.size(),
                    "one entry per address where nm lists a sized function");
        }
    }

    @Test
    void everySizedFunctionIsFoundAtItsStartAndLastByteButNotPastItsEnd() throws ElfException {
        SymbolTable table = SymbolTable.read(ElfFile.open(program, arena), 0, Demangler.none());
        int checked = 0;
        for (NmSymbol symbol : programFunctions) {
            Set<String> atStart = expectedNames(programFunctions, symbol.value());
            Set<String> atLast = expectedNames(programFunctions, symbol.value() + symbol.size() - 1);
            Set<String> atEnd = expectedNames(programFunctions, symbol.value() + symbol.size());
            String name = lookup(table, symbol.value());
            assertTrue(atStart.contains(name), symbol + ": " + name + " at its start, expected " + atStart);
            assertTrue(atLast.contains(lookup(table, symbol.value() + symbol.size() - 1)), symbol + " at its last byte");
            String after = lookup(table, symbol.value() + symbol.size());
            assertTrue(atEnd.isEmpty() ? after == null : atEnd.contains(after), symbol + ": " + after + " past its end");
            if (!atEnd.contains(symbol.name())) {
                checked++;
            }
        }
        assertTrue(checked >= 10, "at least 10 functions end where no alias of theirs goes on: " + checked);
    }

    @Test
    void aliasesNestedSymbolsAndLabelsOfTheProgram() throws ElfException {
        Map<String, NmSymbol> byName = new java.util.HashMap<>();
        for (NmSymbol symbol : TestPrograms.nm(program, false)) {
            byName.put(symbol.name(), symbol);
        }
        long add = byName.get("add").value();
        long outer = byName.get("outer").value();
        long sized100 = byName.get("sized_100").value();
        // What symbols.c promises, as nm sees it.
        for (String alias : List.of("add_alias", "add_weak", "add_local")) {
            assertEquals(add, byName.get(alias).value(), alias);
            assertEquals(byName.get("add").size(), byName.get(alias).size(), alias);
        }
        assertEquals(List.of("T", "T", "W", "t"), List.of(byName.get("add").letter(), byName.get("add_alias").letter(),
                byName.get("add_weak").letter(), byName.get("add_local").letter()));
        assertEquals(64, byName.get("outer").size());
        assertEquals(outer + 16, byName.get("nested_local").value());
        assertEquals(16, byName.get("nested_local").size());
        assertEquals(outer + 48, byName.get("mark").value());
        assertEquals(0, byName.get("mark").size());
        assertEquals(outer + 64, sized100);
        assertEquals(100, byName.get("sized_100").size());

        long bias = 0x5555_5555_4000L;
        SymbolTable table = SymbolTable.read(ElfFile.open(program, arena), bias, Demangler.none());
        // Four names at one address: a global one wins over the weak and the local one.
        assertTrue(Set.of("add", "add_alias").contains(lookup(table, add + bias)), lookup(table, add + bias));
        assertEquals(add + bias, table.start(table.lookup(add + bias)));
        // A sized local symbol inside a function: inside it, it; before and after it, the function.
        assertEquals("outer", lookup(table, outer + bias));
        assertEquals("outer", lookup(table, outer + 15 + bias));
        assertEquals("nested_local", lookup(table, outer + 16 + bias));
        assertEquals("nested_local", lookup(table, outer + 31 + bias));
        assertEquals("outer", lookup(table, outer + 32 + bias));
        // A symbol of size 0 names nothing: its address belongs to the function around it.
        assertEquals("outer", lookup(table, outer + 48 + bias));
        assertEquals("outer", lookup(table, outer + 63 + bias));
        assertEquals("sized_100", lookup(table, outer + 64 + bias));
        assertEquals("sized_100", lookup(table, sized100 + 99 + bias));
        // Without the bias, the same addresses are someone else's or no one's.
        assertEquals(-1, table.lookup(outer + 16));
    }

    @Test
    void libcsFunctionsAreFoundAtTheirStartsWithItsDebugFile() throws ElfException {
        Path debug = TestPrograms.libcDebugFile();
        List<NmSymbol> dynamic = TestPrograms.sizedFunctions(TestPrograms.nm(TestPrograms.LIBC, true));
        List<NmSymbol> full = TestPrograms.sizedFunctions(TestPrograms.nm(debug, false));
        List<NmSymbol> functions = new ArrayList<>(dynamic);
        functions.addAll(full);
        Map<String, List<NmSymbol>> byName = TestPrograms.group(functions, NmSymbol::name);

        ElfFile libc = ElfFile.open(TestPrograms.LIBC, arena);
        SymbolTable table = SymbolTable.read(List.of(libc, ElfFile.open(debug, arena)), 0, Demangler.none());
        SymbolTable dynamicOnly = SymbolTable.read(libc, 0, Demangler.none());
        assertTrue(dynamic.size() > 2000 && full.size() > 5000, dynamic.size() + " and " + full.size() + " functions");
        List<String> wrong = new ArrayList<>();
        for (NmSymbol symbol : functions) {
            int index = table.lookup(symbol.value());
            String name = index < 0 ? null : table.name(index);
            boolean nmAgrees = name != null && byName.getOrDefault(name, List.of()).stream()
                    .anyMatch(other -> other.value() == symbol.value());
            if (!nmAgrees || table.start(index) != symbol.value()) {
                wrong.add(String.format("%s at 0x%x: %s", symbol.name(), symbol.value(), name));
            }
            // At its last byte and past its end, the span of the symbol the oracle picks (nm's class
            // letters do not tell an IFUNC's binding, so names are not compared there).
            for (long address : new long[] {symbol.value() + symbol.size() - 1, symbol.value() + symbol.size()}) {
                String expected = expectedSpan(functions, address);
                String found = span(table, address);
                if (!expected.equals(found)) {
                    wrong.add(String.format("%s [0x%x, +0x%x) at 0x%x: %s, expected %s", symbol.name(), symbol.value(),
                            symbol.size(), address, found, expected));
                }
            }
        }
        assertEquals(List.of(), wrong.subList(0, Math.min(wrong.size(), 20)), wrong.size() + " wrong");
        // One entry per address where nm lists a sized function, aliases counted once; the debug file
        // names what .dynsym does not: libc's local functions.
        assertEquals(functions.stream().map(NmSymbol::value).distinct().count(), table.size());
        assertEquals(dynamic.stream().map(NmSymbol::value).distinct().count(), dynamicOnly.size());
        NmSymbol local = full.stream().filter(symbol -> symbol.name().equals("__pthread_kill_implementation"))
                .findFirst().orElseThrow(() -> new AssertionError("libc's debug file names __pthread_kill_implementation"));
        assertEquals("__pthread_kill_implementation", table.name(table.lookup(local.value() + 1)));
        int withoutDebug = dynamicOnly.lookup(local.value() + 1);
        assertTrue(withoutDebug < 0 || !dynamicOnly.name(withoutDebug).equals("__pthread_kill_implementation"));
    }

    @Test
    void lookupAllocatesNothing() throws ElfException {
        Path debug = TestPrograms.libcDebugFile();
        SymbolTable table = SymbolTable.read(List.of(ElfFile.open(TestPrograms.LIBC, arena), ElfFile.open(debug, arena)),
                0x7f00_0000_0000L, Demangler.none());
        long low = table.start(0);
        long high = table.start(table.size() - 1) + table.size(table.size() - 1);
        java.util.Random random = new java.util.Random(42);
        long[] pcs = new long[100_000];
        for (int i = 0; i < pcs.length; i++) {
            pcs[i] = low + random.nextLong(high - low);
        }
        long[] found = new long[1];
        for (int round = 0; round < 5; round++) {
            lookupAll(table, pcs, found); // warm up: let the JIT compile lookup
        }
        assertEquals(0, Allocations.bytesAllocatedBy(() -> lookupAll(table, pcs, found)), "bytes allocated by 100,000 lookups");
        assertTrue(found[0] > 6 * 90_000L, "most pcs in libc's text are in a function: " + found[0] / 6);
    }

    private static void lookupAll(SymbolTable table, long[] pcs, long[] found) {
        for (long pc : pcs) {
            if (table.lookup(pc) >= 0) {
                found[0]++;
            }
        }
    }

    @Test
    void namesAreDemangledButRawNamesAreAsTheTableHoldsThem() throws ElfException {
        SymbolTable table = SymbolTable.read(ElfFile.open(program, arena), 0, name -> "<" + name + ">");
        NmSymbol nested = programFunctions.stream().filter(symbol -> symbol.name().equals("nested_local")).findFirst().orElseThrow();
        int index = table.lookup(nested.value());
        assertEquals("<nested_local>", table.name(index));
        assertEquals("nested_local", table.rawName(index));
        assertEquals("<nested_local>", table.name(index), "kept after the first use");
    }

    @Test
    void anEmptyTableNamesNothing() throws ElfException {
        assertEquals(0, SymbolTable.EMPTY.size());
        for (long address : new long[] {0, 1, 0x1000, -1, Long.MIN_VALUE}) {
            assertEquals(-1, SymbolTable.EMPTY.lookup(address));
        }
        SymbolTable none = SymbolTable.read(List.of(), 0, Demangler.none());
        assertEquals(0, none.size());
        assertEquals(-1, none.lookup(0x1139));
    }

    @Test
    void lyingSymbolTablesAreRejectedWithTheFieldThatLies() throws ElfException {
        byte[] original = TestPrograms.read(program);
        ElfFile elf = ElfFile.open(program, arena);
        ElfFile.SectionHeader symtab = elf.section(".symtab");
        long header = elf.u64(40) + 64L * symtab.index();
        int strtab = symtab.link();
        long strtabHeader = elf.u64(40) + 64L * strtab;

        assertEquals("symbols: symbol table section " + symtab.index() + " has entries of 0 bytes (expected: at least 24)",
                readPatched(original, header + 56, 8, 0).getMessage());
        assertEquals(String.format("symbols: symbol table section %d claims 0x%x bytes at file offset 0x%x, past the end"
                        + " of the file", symtab.index(), symtab.size(), original.length - 8),
                readPatched(original, header + 24, 8, original.length - 8).getMessage());
        assertEquals("symbols: symbol table section " + symtab.index() + " links to section " + symtab.index()
                        + ", which is not a string table",
                readPatched(original, header + 40, 4, symtab.index()).getMessage());
        assertEquals("symbols: symbol table section " + symtab.index() + " links to section 0, which is not a string table",
                readPatched(original, header + 40, 4, 0).getMessage());
        assertEquals("symbols: symbol table section " + symtab.index() + " links to section 65535, which is not a string"
                        + " table", readPatched(original, header + 40, 4, 0xffff).getMessage());
        assertEquals(String.format("symbols: string table section %d claims 0x%x bytes at file offset 0x%x, past the end"
                        + " of the file", strtab, 0x7fff_0000L, elf.sectionHeaders().get(strtab).offset()),
                readPatched(original, strtabHeader + 32, 8, 0x7fff_0000L).getMessage());
    }

    /** Reads the symbols of the program with one field of {@code width} bytes overwritten: it must fail. */
    private static ElfException readPatched(byte[] original, long offset, int width, long value) {
        byte[] bytes = original.clone();
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (width == 4) {
            buffer.putInt((int) offset, (int) value);
        } else {
            buffer.putLong((int) offset, value);
        }
        return assertThrows(ElfException.class,
                () -> SymbolTable.read(ElfFile.of("symbols", MemorySegment.ofArray(bytes)), 0, Demangler.none()));
    }

    @Test
    void theOracleItselfPicksTheInnermostThenTheLongestThenTheGlobalName() {
        List<NmSymbol> symbols = List.of(
                new NmSymbol("outer", 0x100, 0x40, "FUNC", "T"),
                new NmSymbol("inner", 0x110, 0x10, "FUNC", "t"),
                new NmSymbol("short_alias", 0x100, 0x08, "FUNC", "T"),
                new NmSymbol("weak", 0x100, 0x40, "FUNC", "W"),
                new NmSymbol("local", 0x100, 0x40, "FUNC", "t"));
        assertEquals(Set.of("outer"), expectedNames(symbols, 0x100));
        assertEquals(Set.of("inner"), expectedNames(symbols, 0x11f));
        assertEquals(Set.of("outer"), expectedNames(symbols, 0x120));
        assertEquals(Set.of(), expectedNames(symbols, 0x140));
        assertEquals(Set.of(), expectedNames(symbols, 0xff));
        assertEquals(Set.of("weak"), expectedNames(List.of(symbols.get(3), symbols.get(4)), 0x100),
                "a weak name before a local one");
    }
}
