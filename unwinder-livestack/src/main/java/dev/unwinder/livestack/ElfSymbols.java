package dev.unwinder.livestack;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The defined function symbols of a 64-bit ELF file, with their link-time addresses: a small
 * reader of the section headers and of {@code .symtab} (or {@code .dynsym} when the file is
 * stripped). Every read is bounds-checked; malformed input ends in {@link IllegalArgumentException}.
 */
final class ElfSymbols {
    private static final int SHT_SYMTAB = 2;
    private static final int SHT_DYNSYM = 11;
    private static final int STT_FUNC = 2;
    private static final int SHN_UNDEF = 0;
    private static final int SECTION_HEADER_SIZE = 64;
    private static final int SYMBOL_SIZE = 24;

    private ElfSymbols() {}

    /**
     * Returns the defined functions of an ELF64 file with a non-zero size, at their link-time
     * addresses ({@code st_value}), in symbol-table order.
     */
    static List<NativeFunction> functions(byte[] elf) {
        try {
            return read(elf);
        } catch (IndexOutOfBoundsException | BufferUnderflowException e) {
            throw new IllegalArgumentException("ELF file: truncated or inconsistent (" + e.getMessage() + ")", e);
        }
    }

    private static List<NativeFunction> read(byte[] elf) {
        if (elf.length < 64 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F') {
            throw new IllegalArgumentException("ELF file: no ELF header (expected: 0x7f 'E' 'L' 'F' and 64 bytes)");
        }
        if (elf[4] != 2) {
            throw new IllegalArgumentException("ELF file: class " + elf[4] + " (expected: 2, ELFCLASS64)");
        }
        ByteBuffer bytes = ByteBuffer.wrap(elf).order(switch (elf[5]) {
            case 1 -> ByteOrder.LITTLE_ENDIAN;
            case 2 -> ByteOrder.BIG_ENDIAN;
            default -> throw new IllegalArgumentException(
                    "ELF file: data encoding " + elf[5] + " (expected: 1 or 2, little or big endian)");
        });
        long sectionHeaders = bytes.getLong(0x28);
        int entrySize = Short.toUnsignedInt(bytes.getShort(0x3a));
        int sectionCount = Short.toUnsignedInt(bytes.getShort(0x3c));
        if (entrySize != SECTION_HEADER_SIZE) {
            throw new IllegalArgumentException("ELF file: e_shentsize " + entrySize + " (expected: 64)");
        }
        int symtab = -1;
        int dynsym = -1;
        for (int i = 0; i < sectionCount; i++) {
            int type = bytes.getInt(sectionHeader(sectionHeaders, i, elf.length) + 4);
            if (type == SHT_SYMTAB && symtab < 0) {
                symtab = i;
            } else if (type == SHT_DYNSYM && dynsym < 0) {
                dynsym = i;
            }
        }
        int table = symtab >= 0 ? symtab : dynsym;
        if (table < 0) {
            throw new IllegalArgumentException("ELF file: no symbol table (expected: .symtab or .dynsym)");
        }
        int header = sectionHeader(sectionHeaders, table, elf.length);
        int symbols = slice(bytes.getLong(header + 0x18), bytes.getLong(header + 0x20), elf.length, "symbol table");
        int symbolsSize = (int) bytes.getLong(header + 0x20);
        long linked = Integer.toUnsignedLong(bytes.getInt(header + 0x28));
        if (linked >= sectionCount) {
            throw new IllegalArgumentException(
                    "ELF file: sh_link " + linked + " of the symbol table (expected: below " + sectionCount + ")");
        }
        int stringHeader = sectionHeader(sectionHeaders, (int) linked, elf.length);
        long stringsSize = bytes.getLong(stringHeader + 0x20);
        int strings = slice(bytes.getLong(stringHeader + 0x18), stringsSize, elf.length, "string table");

        List<NativeFunction> functions = new ArrayList<>();
        for (int offset = 0; offset + SYMBOL_SIZE <= symbolsSize; offset += SYMBOL_SIZE) {
            int symbol = symbols + offset;
            int info = Byte.toUnsignedInt(bytes.get(symbol + 4));
            int section = Short.toUnsignedInt(bytes.getShort(symbol + 6));
            long value = bytes.getLong(symbol + 8);
            long size = bytes.getLong(symbol + 16);
            if ((info & 0xf) != STT_FUNC || section == SHN_UNDEF || size <= 0) {
                continue;
            }
            long name = Integer.toUnsignedLong(bytes.getInt(symbol));
            String symbolName = string(elf, strings, stringsSize, name);
            if (Long.compareUnsigned(value + size - 1, value) < 0) {
                throw new IllegalArgumentException(String.format(
                        "ELF file: symbol %s at 0x%x, %d bytes (expected: to fit below 2^64)", symbolName, value, size));
            }
            functions.add(new NativeFunction(symbolName, value, size));
        }
        return functions;
    }

    /** The file offset of section header {@code index}, checked to lie inside the file. */
    private static int sectionHeader(long sectionHeaders, int index, int fileSize) {
        return slice(sectionHeaders + (long) index * SECTION_HEADER_SIZE, SECTION_HEADER_SIZE, fileSize,
                "section header " + index);
    }

    /** Checks that {@code [offset, offset + size)} lies inside the file and returns the offset. */
    private static int slice(long offset, long size, int fileSize, String what) {
        if (offset < 0 || size < 0 || offset > fileSize || size > fileSize - offset) {
            throw new IllegalArgumentException(String.format(
                    "ELF file: %s at offset 0x%x, %d bytes (expected: inside the file's %d bytes)",
                    what, offset, size, fileSize));
        }
        return (int) offset;
    }

    /** The NUL-terminated string at {@code name} in the string table. */
    private static String string(byte[] elf, int strings, long stringsSize, long name) {
        if (name >= stringsSize) {
            throw new IllegalArgumentException(
                    "ELF file: symbol name at " + name + " (expected: below the string table's size " + stringsSize + ")");
        }
        int start = strings + (int) name;
        int end = start;
        int limit = strings + (int) stringsSize;
        while (end < limit && elf[end] != 0) {
            end++;
        }
        if (end == limit) {
            throw new IllegalArgumentException("ELF file: symbol name at " + name + " (expected: NUL-terminated)");
        }
        return new String(elf, start, end - start, StandardCharsets.UTF_8);
    }
}
