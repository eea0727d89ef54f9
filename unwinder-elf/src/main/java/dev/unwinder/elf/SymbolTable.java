package dev.unwinder.elf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The function symbols of one module, from any number of ELF symbol tables ({@code .symtab} and
 * {@code .dynsym} of the file, of its separate debug file and of its MiniDebugInfo), at their
 * run-time addresses, for turning a pc into a function's name.
 *
 * <p>A symbol covers {@code [start, start + size)}: an address that no symbol covers has no name,
 * and a symbol of size 0 names nothing. Where symbols nest (a sized local symbol inside a larger
 * function), the innermost that covers an address wins; where several start at the same address
 * (aliases), the longest wins, then a global name before a weak one before a local one.
 *
 * <p>The table is built once, into sorted arrays: {@link #lookup(long)} is a binary search that
 * allocates nothing. Names are read from the files' string tables and demangled on first use,
 * then kept; the files' bytes must stay readable (their arena open) while the table is used.
 * Safe to share between threads.
 */
public final class SymbolTable implements SymbolLookup {
    /** A table without symbols: every lookup finds nothing. */
    public static final SymbolTable EMPTY = new SymbolTable(new long[0], new long[0], new int[0], new int[0],
            new byte[0], new MemorySegment[0], Demangler.none());

    private static final int SYM_SIZE = 24;
    private static final int STT_FUNC = 2;
    private static final int STT_GNU_IFUNC = 10;
    private static final int STB_LOCAL = 0;
    private static final int STB_GLOBAL = 1;
    private static final int SHN_UNDEF = 0;
    private static final int SHN_ABS = 0xfff1;
    private static final int MAX_NAME = 4096;

    private final long[] starts;
    private final long[] ends;
    /** The index of the nearest earlier symbol that covers this one's start and goes on past its end, or -1. */
    private final int[] parents;
    private final int[] nameOffsets;
    private final byte[] nameTables;
    private final MemorySegment[] stringTables;
    private final Demangler demangler;
    private final String[] names;

    private SymbolTable(long[] starts, long[] ends, int[] nameOffsets, int[] parents, byte[] nameTables,
                        MemorySegment[] stringTables, Demangler demangler) {
        this.starts = starts;
        this.ends = ends;
        this.parents = parents;
        this.nameOffsets = nameOffsets;
        this.nameTables = nameTables;
        this.stringTables = stringTables;
        this.demangler = demangler;
        this.names = new String[starts.length];
    }

    /**
     * Reads the function symbols of every {@code .symtab} and {@code .dynsym} of {@code files}.
     *
     * @param files the files whose tables to read: a module's file, its debug file, its
     *     MiniDebugInfo, in any order
     * @param bias what to add to a symbol's value to get its run-time address (the load bias of a
     *     shared object or position-independent executable; 0 for others)
     * @param demangler how names are demangled
     * @return the table, empty if no file has a symbol table
     * @throws ElfException if a symbol table or its string table is malformed
     */
    public static SymbolTable read(List<ElfFile> files, long bias, Demangler demangler) throws ElfException {
        Builder builder = new Builder();
        for (ElfFile file : files) {
            List<ElfFile.SectionHeader> sections = file.sectionHeaders();
            for (ElfFile.SectionHeader table : sections) {
                if (table.type() == ElfFile.SHT_SYMTAB || table.type() == ElfFile.SHT_DYNSYM) {
                    builder.add(file, sections, table, bias);
                }
            }
        }
        return builder.build(demangler);
    }

    /**
     * Reads the function symbols of one file's {@code .symtab} and {@code .dynsym}.
     *
     * @param file the file
     * @param bias what to add to a symbol's value to get its run-time address
     * @param demangler how names are demangled
     * @return the table, empty if the file has no symbol table
     * @throws ElfException if a symbol table or its string table is malformed
     */
    public static SymbolTable read(ElfFile file, long bias, Demangler demangler) throws ElfException {
        return read(List.of(file), bias, demangler);
    }

    /** Collects symbols from tables, then sorts them once into arrays. */
    private static final class Builder {
        private long[] starts = new long[1024];
        private long[] sizes = new long[1024];
        private int[] nameOffsets = new int[1024];
        private byte[] tables = new byte[1024];
        private byte[] bindings = new byte[1024];
        private int count;
        private final List<MemorySegment> stringTables = new ArrayList<>();

        void add(ElfFile file, List<ElfFile.SectionHeader> sections, ElfFile.SectionHeader table, long bias)
                throws ElfException {
            if (table.entrySize() < SYM_SIZE) {
                throw file.bad(String.format("symbol table section %d has entries of %d bytes (expected: at least 24)",
                        table.index(), table.entrySize()));
            }
            if (!file.fits(table.offset(), table.size())) {
                throw file.bad(String.format("symbol table section %d claims 0x%x bytes at file offset 0x%x, past the end of the file",
                        table.index(), table.size(), table.offset()));
            }
            if (table.link() <= 0 || table.link() >= sections.size() || sections.get(table.link()).type() != ElfFile.SHT_STRTAB) {
                throw file.bad(String.format("symbol table section %d links to section %d, which is not a string table",
                        table.index(), table.link()));
            }
            ElfFile.SectionHeader strings = sections.get(table.link());
            if (!file.fits(strings.offset(), strings.size())) {
                throw file.bad(String.format("string table section %d claims 0x%x bytes at file offset 0x%x, past the end of the file",
                        strings.index(), strings.size(), strings.offset()));
            }
            if (stringTables.size() == 255) {
                throw file.bad("more than 255 symbol tables for one module");
            }
            int tableIndex = stringTables.size();
            stringTables.add(file.bytes().asSlice(strings.offset(), strings.size()));
            long entries = table.size() / table.entrySize();
            for (long i = 0; i < entries; i++) {
                long at = table.offset() + i * table.entrySize();
                int info = file.u8(at + 4) & 0xff;
                int type = info & 0xf;
                int shndx = file.u16(at + 6);
                long value = file.u64(at + 8);
                long size = file.u64(at + 16);
                if ((type != STT_FUNC && type != STT_GNU_IFUNC) || shndx == SHN_UNDEF || size == 0
                        || Long.compareUnsigned(size, 1L << 32) > 0) {
                    continue;
                }
                long start = shndx == SHN_ABS ? value : value + bias;
                if (Long.compareUnsigned(start + size, start) < 0) {
                    continue; // wraps around the address space: a lie
                }
                if (count == starts.length) {
                    grow();
                }
                starts[count] = start;
                sizes[count] = size;
                nameOffsets[count] = file.u32(at);
                tables[count] = (byte) tableIndex;
                bindings[count] = (byte) (info >>> 4);
                count++;
            }
        }

        private void grow() {
            int length = starts.length * 2;
            starts = Arrays.copyOf(starts, length);
            sizes = Arrays.copyOf(sizes, length);
            nameOffsets = Arrays.copyOf(nameOffsets, length);
            tables = Arrays.copyOf(tables, length);
            bindings = Arrays.copyOf(bindings, length);
        }

        SymbolTable build(Demangler demangler) {
            if (count == 0) {
                return new SymbolTable(new long[0], new long[0], new int[0], new int[0], new byte[0],
                        stringTables.toArray(MemorySegment[]::new), demangler);
            }
            // Sort by start (unsigned), then best alias first: longest, then by binding rank.
            long[] keys = new long[count];
            Integer[] order = new Integer[count];
            for (int i = 0; i < count; i++) {
                order[i] = i;
                keys[i] = starts[i] ^ Long.MIN_VALUE;
            }
            Arrays.sort(order, (a, b) -> {
                int byStart = Long.compare(keys[a], keys[b]);
                if (byStart != 0) {
                    return byStart;
                }
                int bySize = Long.compareUnsigned(sizes[b], sizes[a]);
                return bySize != 0 ? bySize : Integer.compare(rank(bindings[b]), rank(bindings[a]));
            });
            long[] sortedStarts = new long[count];
            long[] sortedEnds = new long[count];
            int[] sortedNames = new int[count];
            byte[] sortedTables = new byte[count];
            int n = 0;
            for (int k = 0; k < count; k++) {
                int i = order[k];
                if (n > 0 && sortedStarts[n - 1] == starts[i]) {
                    continue; // an alias of the symbol already kept, which is at least as long
                }
                sortedStarts[n] = starts[i];
                sortedEnds[n] = starts[i] + sizes[i];
                sortedNames[n] = nameOffsets[i];
                sortedTables[n] = tables[i];
                n++;
            }
            long[] finalStarts = Arrays.copyOf(sortedStarts, n);
            long[] finalEnds = Arrays.copyOf(sortedEnds, n);
            int[] parents = new int[n];
            int[] open = new int[n];
            int depth = 0;
            for (int i = 0; i < n; i++) {
                while (depth > 0 && Long.compareUnsigned(finalEnds[open[depth - 1]], finalStarts[i]) <= 0) {
                    depth--;
                }
                parents[i] = depth > 0 ? open[depth - 1] : -1;
                if (depth == 0 || Long.compareUnsigned(finalEnds[i], finalEnds[open[depth - 1]]) < 0) {
                    open[depth++] = i;
                } else {
                    // Overlaps its parent's end: it replaces its parent as the symbol that is open.
                    open[depth - 1] = i;
                    parents[i] = depth > 1 ? open[depth - 2] : -1;
                }
            }
            return new SymbolTable(finalStarts, finalEnds, Arrays.copyOf(sortedNames, n), parents,
                    Arrays.copyOf(sortedTables, n), stringTables.toArray(MemorySegment[]::new), demangler);
        }

        private static int rank(byte binding) {
            return binding == STB_GLOBAL ? 2 : binding == STB_LOCAL ? 0 : 1;
        }
    }

    /**
     * The symbol that covers {@code address}. Allocates nothing.
     *
     * @param address an unsigned run-time address
     * @return the symbol's index, or -1 if no symbol covers the address
     */
    @Override
    public int lookup(long address) {
        int low = 0;
        int high = starts.length - 1;
        int found = -1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            if (Long.compareUnsigned(starts[mid], address) <= 0) {
                found = mid;
                low = mid + 1;
            } else {
                high = mid - 1;
            }
        }
        while (found >= 0 && Long.compareUnsigned(address, ends[found]) >= 0) {
            found = parents[found];
        }
        return found;
    }

    /**
     * How many symbols the table holds, aliases counted once.
     *
     * @return the count
     */
    @Override
    public int size() {
        return starts.length;
    }

    /**
     * A symbol's run-time start address.
     *
     * @param index an index from {@link #lookup(long)}
     * @return its start
     */
    @Override
    public long start(int index) {
        return starts[index];
    }

    /**
     * A symbol's size.
     *
     * @param index an index from {@link #lookup(long)}
     * @return its size in bytes
     */
    @Override
    public long size(int index) {
        return ends[index] - starts[index];
    }

    /**
     * A symbol's name, demangled. Read and demangled on first use, then kept.
     *
     * @param index an index from {@link #lookup(long)}
     * @return its name
     */
    @Override
    public String name(int index) {
        String name = names[index];
        if (name == null) {
            name = demangler.demangle(rawName(index));
            names[index] = name;
        }
        return name;
    }

    /**
     * A symbol's name as its symbol table holds it, not demangled.
     *
     * @param index an index from {@link #lookup(long)}
     * @return its name, cut at 4096 bytes; {@code "??"} if the string table has no such string
     */
    public String rawName(int index) {
        MemorySegment strings = stringTables[nameTables[index] & 0xff];
        long offset = Integer.toUnsignedLong(nameOffsets[index]);
        if (offset >= strings.byteSize()) {
            return "??";
        }
        long limit = Math.min(strings.byteSize() - offset, MAX_NAME);
        int length = 0;
        while (length < limit && strings.get(ValueLayout.JAVA_BYTE, offset + length) != 0) {
            length++;
        }
        if (length == 0) {
            return "??";
        }
        return new String(strings.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }
}
