package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * {@link SymbolTable#lookup(long)} over generated symbol tables, against a search of every symbol:
 * functions nested in functions to any depth, overlapping their parents' ends, sharing starts,
 * of size 0, near the top of the address space, with bindings global, weak and local, and objects
 * that are not functions. The tables are written into small ELF files in memory. Fixed seeds.
 */
final class SymbolTableNestingTest {
    private static final int STT_OBJECT = 1;
    private static final int STT_FUNC = 2;
    private static final int STT_GNU_IFUNC = 10;

    /**
     * One symbol as the table holds it.
     *
     * @param value {@code st_value}
     * @param size {@code st_size}
     * @param type {@code STT_*}
     * @param binding {@code STB_*}: 0 local, 1 global, 2 weak
     * @param shndx {@code st_shndx}: 0 undefined, 0xfff1 absolute, else a section
     */
    record Sym(long value, long size, int type, int binding, int shndx) {
        String name(int index) {
            return "s" + index;
        }

        boolean counts() {
            return (type == STT_FUNC || type == STT_GNU_IFUNC) && shndx != 0 && size != 0
                    && Long.compareUnsigned(size, 1L << 32) <= 0;
        }
    }

    /** A 64-bit ELF file of one {@code .symtab} and its {@code .strtab}, symbol i named {@code s<i>}. */
    static byte[] elfWithSymbols(List<Sym> symbols, ByteOrder order) {
        ByteArrayOutputStream strings = new ByteArrayOutputStream();
        strings.write(0);
        int[] nameOffsets = new int[symbols.size()];
        for (int i = 0; i < symbols.size(); i++) {
            nameOffsets[i] = strings.size();
            strings.writeBytes((symbols.get(i).name(i) + "\0").getBytes(StandardCharsets.US_ASCII));
        }
        byte[] strtab = strings.toByteArray();
        int symtabOffset = 64;
        int symtabSize = 24 * (symbols.size() + 1);
        int strtabOffset = symtabOffset + symtabSize;
        int shoff = (strtabOffset + strtab.length + 7) & ~7;
        ByteBuffer elf = ByteBuffer.allocate(shoff + 3 * 64).order(order);
        elf.put(new byte[] {0x7f, 'E', 'L', 'F', 2, (byte) (order == ByteOrder.LITTLE_ENDIAN ? 1 : 2), 1});
        elf.putShort(16, (short) ElfFile.ET_DYN).putShort(18, (short) 62).putInt(20, 1);
        elf.putLong(40, shoff).putShort(52, (short) 64).putShort(54, (short) 56).putShort(58, (short) 64)
                .putShort(60, (short) 3);
        for (int i = 0; i < symbols.size(); i++) {
            Sym symbol = symbols.get(i);
            int at = symtabOffset + 24 * (i + 1);
            elf.putInt(at, nameOffsets[i]);
            elf.put(at + 4, (byte) (symbol.binding() << 4 | symbol.type()));
            elf.putShort(at + 6, (short) symbol.shndx());
            elf.putLong(at + 8, symbol.value());
            elf.putLong(at + 16, symbol.size());
        }
        elf.put(strtabOffset, strtab);
        // [1] .symtab, linked to [2] .strtab
        elf.putInt(shoff + 64 + 4, ElfFile.SHT_SYMTAB).putLong(shoff + 64 + 24, symtabOffset)
                .putLong(shoff + 64 + 32, symtabSize).putInt(shoff + 64 + 40, 2).putLong(shoff + 64 + 56, 24);
        elf.putInt(shoff + 128 + 4, ElfFile.SHT_STRTAB).putLong(shoff + 128 + 24, strtabOffset)
                .putLong(shoff + 128 + 32, strtab.length);
        return elf.array();
    }

    /**
     * The name the table must give an address: of the function symbols that cover it, the one that
     * starts last, of those the longest, of those the global before the weak before the local, of
     * those the first in the table.
     */
    static String expected(List<Sym> symbols, long bias, long address) {
        int best = -1;
        long bestStart = 0;
        for (int i = 0; i < symbols.size(); i++) {
            Sym symbol = symbols.get(i);
            long start = symbol.shndx() == 0xfff1 ? symbol.value() : symbol.value() + bias;
            if (!symbol.counts() || Long.compareUnsigned(start + symbol.size(), start) < 0
                    || Long.compareUnsigned(address - start, symbol.size()) >= 0) {
                continue;
            }
            if (best < 0 || better(start, symbol, bestStart, symbols.get(best))) {
                best = i;
                bestStart = start;
            }
        }
        return best < 0 ? null : "s" + best;
    }

    private static boolean better(long start, Sym symbol, long bestStart, Sym best) {
        if (start != bestStart) {
            return Long.compareUnsigned(start, bestStart) > 0;
        }
        if (symbol.size() != best.size()) {
            return Long.compareUnsigned(symbol.size(), best.size()) > 0;
        }
        return rank(symbol.binding()) > rank(best.binding());
    }

    private static int rank(int binding) {
        return binding == 1 ? 2 : binding == 0 ? 0 : 1;
    }

    /** Every address where the answer may change: each symbol's start and end, one byte either side, and bounds. */
    static List<Long> probes(List<Sym> symbols, long bias) {
        List<Long> probes = new ArrayList<>(List.of(0L, -1L, bias, bias - 1));
        for (Sym symbol : symbols) {
            long start = symbol.shndx() == 0xfff1 ? symbol.value() : symbol.value() + bias;
            for (long address : new long[] {start, start + symbol.size()}) {
                probes.add(address - 1);
                probes.add(address);
                probes.add(address + 1);
            }
        }
        return probes;
    }

    private static void checkAgainstTheSearch(List<Sym> symbols, long bias, ByteOrder order) throws ElfException {
        SymbolTable table = SymbolTable.read(ElfFile.of("generated", MemorySegment.ofArray(elfWithSymbols(symbols, order))),
                bias, Demangler.none());
        for (long address : probes(symbols, bias)) {
            int index = table.lookup(address);
            String name = index < 0 ? null : table.name(index);
            assertEquals(expected(symbols, bias, address), name, () -> String.format("0x%x in %s, bias 0x%x", address,
                    symbols, bias));
        }
    }

    @Provide
    Arbitrary<Sym> symbols() {
        // Values in a small window, so that symbols nest and overlap; sizes from 0 to past the window.
        Arbitrary<Long> values = Arbitraries.longs().between(0x1000, 0x1100);
        Arbitrary<Long> sizes = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, Arbitraries.longs().between(1, 0x40)),
                net.jqwik.api.Tuple.of(2, Arbitraries.longs().between(0x40, 0x200)),
                net.jqwik.api.Tuple.of(1, Arbitraries.of(0L, 1L, 1L << 32, (1L << 32) + 1, -1L)));
        Arbitrary<Integer> types = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(8, Arbitraries.just(STT_FUNC)),
                net.jqwik.api.Tuple.of(1, Arbitraries.just(STT_GNU_IFUNC)),
                net.jqwik.api.Tuple.of(1, Arbitraries.just(STT_OBJECT)));
        Arbitrary<Integer> bindings = Arbitraries.of(0, 1, 1, 2);
        Arbitrary<Integer> sections = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(18, Arbitraries.just(14)),
                net.jqwik.api.Tuple.of(1, Arbitraries.just(0)),
                net.jqwik.api.Tuple.of(1, Arbitraries.just(0xfff1)));
        return Combinators.combine(values, sizes, types, bindings, sections).as(Sym::new);
    }

    @Property(tries = 1500, seed = "20261130")
    void lookupFindsTheInnermostLongestBestBoundSymbol(@ForAll @Size(max = 40) List<@net.jqwik.api.From("symbols") Sym> symbols,
                                                       @ForAll("biases") long bias) throws ElfException {
        checkAgainstTheSearch(symbols, bias, ByteOrder.LITTLE_ENDIAN);
    }

    @Property(tries = 200, seed = "20261130")
    void bigEndianTablesReadTheSame(@ForAll @Size(max = 20) List<@net.jqwik.api.From("symbols") Sym> symbols)
            throws ElfException {
        checkAgainstTheSearch(symbols, 0x4000_0000L, ByteOrder.BIG_ENDIAN);
    }

    @Provide
    Arbitrary<Long> biases() {
        // None, a library's, the upper half, and one that pushes symbols past the top of the address space.
        return Arbitraries.of(0L, 0x7f00_0000_0000L, 0x8000_0000_0000_0000L, -0x1080L);
    }

    /** Deep nesting whose ends cross: the cases that a stack of open symbols gets wrong. */
    @Test
    void nestedSymbolsWhoseEndsCrossTheirParents() throws ElfException {
        List<Sym> symbols = List.of(
                new Sym(0x1000, 0x100, STT_FUNC, 1, 14),   // s0 [1000, 1100)
                new Sym(0x1010, 0x50, STT_FUNC, 0, 14),    // s1 [1010, 1060) inside s0
                new Sym(0x1020, 0x10, STT_FUNC, 0, 14),    // s2 [1020, 1030) inside s1
                new Sym(0x1025, 0x4b, STT_FUNC, 0, 14),    // s3 [1025, 1070) crosses s2's and s1's ends
                new Sym(0x1068, 0x4, STT_FUNC, 0, 14),     // s4 [1068, 106c) inside s3 only
                new Sym(0x1080, 0x100, STT_FUNC, 0, 14),   // s5 [1080, 1180) crosses s0's end
                new Sym(0x1090, 0x8, STT_FUNC, 0, 14));    // s6 [1090, 1098) inside s0 and s5
        checkAgainstTheSearch(symbols, 0, ByteOrder.LITTLE_ENDIAN);
        SymbolTable table = SymbolTable.read(ElfFile.of("nested", MemorySegment.ofArray(
                elfWithSymbols(symbols, ByteOrder.LITTLE_ENDIAN))), 0, Demangler.none());
        long[] addresses = {0x1005, 0x1015, 0x1022, 0x102f, 0x1061, 0x1069, 0x106c, 0x1075, 0x1085, 0x1095, 0x1100, 0x1180};
        List<String> names = new ArrayList<>();
        for (long address : addresses) {
            int index = table.lookup(address);
            names.add(index < 0 ? null : table.name(index));
        }
        assertEquals(java.util.Arrays.asList("s0", "s1", "s2", "s3", "s3", "s4", "s3", "s0", "s5", "s6", "s5", null), names);
    }
}
