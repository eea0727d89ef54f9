package dev.unwinder.cli;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The function symbols of an executable's ELF symbol table ({@code .symtab}, or {@code .dynsym} if
 * it was stripped), sorted by address, for turning a pc into {@code name+offset}.
 *
 * <p>Memory is bounded by the real size of the table in the file; names are read from the string
 * table only when a lookup finds them.
 */
final class SymbolTable {
    private static final int SYM_SIZE = 24;
    private static final int SHT_STRTAB = 3;
    private static final int STT_FUNC = 2;
    private static final int STT_GNU_IFUNC = 10;
    private static final int STB_LOCAL = 0;
    private static final int STB_GLOBAL = 1;
    private static final int MAX_NAME = 4096;

    /** A symbol found for an address: its name and the address's offset from its start. */
    record Symbol(String name, long offset) {}

    private record Entry(long value, long size, int nameOffset, int binding) {}

    private final ElfFile elf;
    private final long stringsOffset;
    private final long stringsSize;
    private final List<Entry> entries;

    private SymbolTable(ElfFile elf, long stringsOffset, long stringsSize, List<Entry> entries) {
        this.elf = elf;
        this.stringsOffset = stringsOffset;
        this.stringsSize = stringsSize;
        this.entries = entries;
    }

    /**
     * Reads the function symbols of {@code elf}.
     *
     * @param bias what to add to the symbols' values to get run-time addresses (the load address
     *     of a position-independent executable; 0 for others)
     * @throws BadInputException if the file has no symbol table, or its tables run past the end of
     *     the file
     */
    static SymbolTable read(ElfFile elf, long bias) throws BadInputException {
        List<ElfFile.SectionHeader> sections = elf.sectionHeaders();
        ElfFile.SectionHeader table = null;
        for (int wanted : new int[] {ElfFile.SHT_SYMTAB, ElfFile.SHT_DYNSYM}) {
            for (ElfFile.SectionHeader section : sections) {
                if (table == null && section.type() == wanted) {
                    table = section;
                }
            }
        }
        if (table == null) {
            throw elf.bad("has no symbol table (.symtab or .dynsym) to name functions with");
        }
        if (table.entrySize() < SYM_SIZE) {
            throw elf.bad(String.format("symbol table section %d has entries of %d bytes (expected: at least 24)",
                    table.index(), table.entrySize()));
        }
        if (!elf.fits(table.offset(), table.size())) {
            throw elf.bad(String.format("symbol table section %d claims 0x%x bytes at file offset 0x%x, past the end of the file",
                    table.index(), table.size(), table.offset()));
        }
        if (table.link() < 0 || table.link() >= sections.size() || sections.get(table.link()).type() != SHT_STRTAB) {
            throw elf.bad(String.format("symbol table section %d links to section %d, which is not a string table",
                    table.index(), table.link()));
        }
        ElfFile.SectionHeader strings = sections.get(table.link());
        if (!elf.fits(strings.offset(), strings.size())) {
            throw elf.bad(String.format("string table section %d claims 0x%x bytes at file offset 0x%x, past the end of the file",
                    strings.index(), strings.size(), strings.offset()));
        }
        long count = table.size() / table.entrySize();
        List<Entry> entries = new ArrayList<>();
        for (long i = 0; i < count; i++) {
            long at = table.offset() + i * table.entrySize();
            int info = elf.u8(at + 4) & 0xff;
            int type = info & 0xf;
            int shndx = elf.u16(at + 6);
            long value = elf.u64(at + 8);
            if ((type == STT_FUNC || type == STT_GNU_IFUNC) && shndx != 0 && value != 0) {
                entries.add(new Entry(value + bias, elf.u64(at + 16), elf.u32(at), info >>> 4));
            }
        }
        entries.sort(Comparator.comparing(Entry::value, Long::compareUnsigned));
        return new SymbolTable(elf, strings.offset(), strings.size(), List.copyOf(entries));
    }

    /**
     * Returns the function that contains {@code address}: the one with the highest start at or
     * below it whose size covers it (a global name before a weak or local alias), or the nearest
     * start below it when that symbol has no size.
     *
     * @param address an unsigned run-time address
     * @return the symbol and the offset of {@code address} into it, or null if none covers it
     */
    Symbol lookup(long address) {
        int low = 0;
        int high = entries.size() - 1;
        int found = -1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            if (Long.compareUnsigned(entries.get(mid).value(), address) <= 0) {
                found = mid;
                low = mid + 1;
            } else {
                high = mid - 1;
            }
        }
        if (found < 0) {
            return null;
        }
        Entry best = null;
        long start = entries.get(found).value();
        for (int i = found; i >= 0 && entries.get(i).value() == start; i--) {
            Entry entry = entries.get(i);
            if (Long.compareUnsigned(address - start, entry.size()) < 0 && (best == null || rank(entry) > rank(best))) {
                best = entry;
            }
        }
        if (best == null) {
            Entry nearest = entries.get(found);
            if (nearest.size() != 0) {
                return null;
            }
            best = nearest;
        }
        return new Symbol(name(best.nameOffset()), address - best.value());
    }

    private static int rank(Entry entry) {
        return entry.binding() == STB_GLOBAL ? 2 : entry.binding() == STB_LOCAL ? 0 : 1;
    }

    /** The NUL-terminated name at {@code offset} in the string table, cut at its end or at 4096 characters. */
    private String name(int offset) {
        long start = Integer.toUnsignedLong(offset);
        StringBuilder name = new StringBuilder();
        for (long i = start; i < stringsSize && name.length() < MAX_NAME; i++) {
            byte b = elf.u8(stringsOffset + i);
            if (b == 0) {
                break;
            }
            name.append((char) (b & 0xff));
        }
        return name.isEmpty() ? "??" : name.toString();
    }
}
