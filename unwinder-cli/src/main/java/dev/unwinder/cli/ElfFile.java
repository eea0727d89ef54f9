package dev.unwinder.cli;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A strict reader of 64-bit ELF files, either byte order, over a file mapped into memory.
 *
 * <p>Every offset, size and count that a header claims is checked against the real size of the
 * file before it is used: a file that lies costs no memory beyond what its real size allows and is
 * never read outside its bounds. Every problem is a {@link BadInputException} whose message names
 * the file and the field.
 */
final class ElfFile {
    static final int ET_EXEC = 2;
    static final int ET_DYN = 3;
    static final int ET_CORE = 4;
    static final int PT_LOAD = 1;
    static final int PT_NOTE = 4;
    static final int SHT_SYMTAB = 2;
    static final int SHT_DYNSYM = 11;
    static final int SHT_NOBITS = 8;

    private static final int EHDR_SIZE = 64;
    private static final int PHDR_SIZE = 56;
    private static final int SHDR_SIZE = 64;
    private static final int PN_XNUM = 0xffff;

    private final String name;
    private final MemorySegment bytes;
    private final long size;
    private final ByteOrder order;
    private final ValueLayout.OfShort u16;
    private final ValueLayout.OfInt u32;
    private final ValueLayout.OfLong u64;
    private final int type;
    private final int machine;
    private final long entry;
    private final List<ProgramHeader> programHeaders;

    /** One program header: a segment's place in the file and in memory. */
    record ProgramHeader(int index, int type, long offset, long vaddr, long fileSize, long memorySize) {

        /** Whether the unsigned {@code address} lies in {@code [vaddr, vaddr + memorySize)}. */
        boolean containsAddress(long address) {
            return Long.compareUnsigned(address - vaddr, memorySize) < 0;
        }

        /** Whether the file holds the bytes of {@code [address, address + length)}. */
        boolean fileHolds(long address, long length) {
            long offsetInSegment = address - vaddr;
            return Long.compareUnsigned(offsetInSegment, fileSize) < 0 && length <= fileSize - offsetInSegment;
        }
    }

    /** One section header, as far as symbol tables need it. */
    record SectionHeader(int index, int type, long offset, long size, int link, long entrySize) {}

    /** One note of a {@code PT_NOTE} segment; its descriptor is {@code descSize} bytes at {@code descOffset} in the file. */
    record Note(String owner, int type, long descOffset, long descSize) {}

    private ElfFile(String name, MemorySegment bytes) throws BadInputException {
        this.name = name;
        this.bytes = bytes;
        this.size = bytes.byteSize();
        if (size < 4 || bytes.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 0) != 0x7f454c46) {
            throw bad("not an ELF file (it does not start with the ELF magic 7f 45 4c 46)");
        }
        if (size < EHDR_SIZE) {
            throw bad("truncated ELF header: the file has " + size + " bytes (expected: at least 64)");
        }
        int elfClass = bytes.get(ValueLayout.JAVA_BYTE, 4);
        if (elfClass != 2) {
            throw bad("ELF class " + elfClass + (elfClass == 1 ? " (32-bit)" : "") + " (expected: 2, 64-bit)");
        }
        int data = bytes.get(ValueLayout.JAVA_BYTE, 5);
        order = switch (data) {
            case 1 -> ByteOrder.LITTLE_ENDIAN;
            case 2 -> ByteOrder.BIG_ENDIAN;
            default -> throw bad("ELF data encoding " + data + " (expected: 1, little-endian, or 2, big-endian)");
        };
        u16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(order);
        u32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(order);
        u64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(order);
        type = u16(16);
        machine = u16(18);
        entry = u64(24);
        programHeaders = readProgramHeaders();
    }

    /**
     * Maps {@code path} into {@code arena} and reads its ELF header and program headers.
     *
     * @throws BadInputException if the file cannot be read or is not a well-formed 64-bit ELF file
     */
    static ElfFile open(Path path, Arena arena) throws BadInputException {
        return of(path.toString(), map(path, arena));
    }

    /** Reads an ELF file from bytes already in memory; {@code name} is the file's name in messages. */
    static ElfFile of(String name, MemorySegment bytes) throws BadInputException {
        return new ElfFile(name, bytes);
    }

    /**
     * Maps a whole file read-only into {@code arena}. Mapping costs address space, not memory: the
     * pages that are read come from the file as they are touched.
     */
    static MemorySegment map(Path path, Arena arena) throws BadInputException {
        if (Files.isDirectory(path)) {
            throw new BadInputException(path + ": is a directory (expected: a file)");
        }
        if (Files.exists(path) && !Files.isRegularFile(path)) {
            // Opening a pipe would wait for a writer; a device has no size to map.
            throw new BadInputException(path + ": is not a regular file, but a device, pipe or socket (expected: a file)");
        }
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            return channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
        } catch (NoSuchFileException e) {
            throw new BadInputException(path + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new BadInputException(path + ": permission denied", e);
        } catch (IOException | UnsupportedOperationException e) {
            throw new BadInputException(path + ": cannot be read (" + e.getMessage() + ")", e);
        }
    }

    private List<ProgramHeader> readProgramHeaders() throws BadInputException {
        long phoff = u64(32);
        int phentsize = u16(54);
        long phnum = u16(56);
        if (phnum == PN_XNUM) {
            // More than 65534 segments: the real count is sh_info of section header 0.
            long shoff = u64(40);
            if (!fits(shoff, SHDR_SIZE)) {
                throw bad(String.format("e_phnum is PN_XNUM but section header 0 at 0x%x is outside the file (%d bytes)",
                        shoff, size));
            }
            phnum = Integer.toUnsignedLong(u32(shoff + 44));
        }
        if (phnum == 0) {
            return List.of();
        }
        if (phentsize < PHDR_SIZE) {
            throw bad("e_phentsize " + phentsize + " (expected: at least 56)");
        }
        // phnum < 2^32 and phentsize < 2^16: the product cannot overflow.
        long tableSize = phnum * phentsize;
        if (!fits(phoff, tableSize)) {
            throw bad(String.format("truncated: %d program headers at file offset 0x%x need 0x%x bytes, the file has 0x%x",
                    phnum, phoff, tableSize, size));
        }
        List<ProgramHeader> headers = new ArrayList<>((int) Math.min(phnum, 1024));
        for (long i = 0; i < phnum; i++) {
            long at = phoff + i * phentsize;
            ProgramHeader header = new ProgramHeader((int) i, u32(at), u64(at + 8), u64(at + 16), u64(at + 32), u64(at + 40));
            if ((header.type() == PT_LOAD || header.type() == PT_NOTE) && !fits(header.offset(), header.fileSize())) {
                throw bad(String.format("truncated or corrupt: %s segment %d claims 0x%x bytes at file offset 0x%x,"
                                + " but the file has 0x%x bytes",
                        header.type() == PT_LOAD ? "PT_LOAD" : "PT_NOTE", i, header.fileSize(), header.offset(), size));
            }
            headers.add(header);
        }
        return List.copyOf(headers);
    }

    /**
     * Returns the notes of every {@code PT_NOTE} segment whose owner is {@code owner} and whose type
     * is one of {@code types}, in file order. Every note is checked; only those asked for are kept,
     * so a segment of many tiny notes costs no memory.
     *
     * @throws BadInputException if a note's sizes run past the end of its segment
     */
    List<Note> notes(String owner, Set<Integer> types) throws BadInputException {
        List<Note> notes = new ArrayList<>();
        for (ProgramHeader header : programHeaders) {
            if (header.type() != PT_NOTE) {
                continue;
            }
            long at = header.offset();
            long end = header.offset() + header.fileSize();
            int index = 0;
            while (end - at >= 12) {
                long nameSize = Integer.toUnsignedLong(u32(at));
                long descSize = Integer.toUnsignedLong(u32(at + 4));
                int noteType = u32(at + 8);
                long nameAt = at + 12;
                long descAt = nameAt + align4(nameSize);
                if (align4(nameSize) > end - nameAt || align4(descSize) > end - descAt) {
                    throw bad(String.format("note %d of PT_NOTE segment %d claims a %d-byte name and a %d-byte descriptor,"
                                    + " but only %d bytes of the segment remain", index, header.index(), nameSize, descSize,
                            end - nameAt));
                }
                if (types.contains(noteType) && noteOwner(nameAt, nameSize).equals(owner)) {
                    notes.add(new Note(owner, noteType, descAt, descSize));
                }
                at = descAt + align4(descSize);
                index++;
            }
        }
        return notes;
    }

    private static long align4(long value) {
        return (value + 3) & ~3L;
    }

    /** A note's owner, such as "CORE"; owners longer than 32 bytes are of no interest and read as "". */
    private String noteOwner(long at, long nameSize) {
        if (nameSize > 32) {
            return "";
        }
        StringBuilder owner = new StringBuilder();
        for (long i = 0; i < nameSize; i++) {
            byte b = bytes.get(ValueLayout.JAVA_BYTE, at + i);
            if (b == 0) {
                break;
            }
            owner.append((char) (b & 0xff));
        }
        return owner.toString();
    }

    /**
     * Returns the section headers, or an empty list if the file has none.
     *
     * @throws BadInputException if the table runs past the end of the file
     */
    List<SectionHeader> sectionHeaders() throws BadInputException {
        long shoff = u64(40);
        int shentsize = u16(58);
        long shnum = u16(60);
        if (shoff == 0) {
            return List.of();
        }
        if (shnum == 0) {
            // More than 65279 sections: the real count is sh_size of section header 0.
            if (!fits(shoff, SHDR_SIZE)) {
                throw bad(String.format("section header 0 at file offset 0x%x is outside the file (0x%x bytes)", shoff, size));
            }
            shnum = u64(shoff + 32);
        }
        if (shnum == 0) {
            return List.of();
        }
        if (shentsize < SHDR_SIZE) {
            throw bad("e_shentsize " + shentsize + " (expected: at least 64)");
        }
        if (Long.compareUnsigned(shnum, size / shentsize) > 0 || !fits(shoff, shnum * shentsize)) {
            throw bad(String.format("truncated: %s section headers at file offset 0x%x do not fit in the file (0x%x bytes)",
                    Long.toUnsignedString(shnum), shoff, size));
        }
        List<SectionHeader> headers = new ArrayList<>((int) Math.min(shnum, 1024));
        for (long i = 0; i < shnum; i++) {
            long at = shoff + i * shentsize;
            headers.add(new SectionHeader((int) i, u32(at + 4), u64(at + 24), u64(at + 32), u32(at + 40), u64(at + 56)));
        }
        return List.copyOf(headers);
    }

    /** Whether the {@code length} bytes from file offset {@code offset} are all inside the file. */
    boolean fits(long offset, long length) {
        return Long.compareUnsigned(offset, size) <= 0 && Long.compareUnsigned(length, size - offset) <= 0;
    }

    /** A {@link BadInputException} about this file. */
    BadInputException bad(String problem) {
        return new BadInputException(name + ": " + problem);
    }

    int u16(long offset) {
        return Short.toUnsignedInt(bytes.get(u16, offset));
    }

    int u32(long offset) {
        return bytes.get(u32, offset);
    }

    long u64(long offset) {
        return bytes.get(u64, offset);
    }

    byte u8(long offset) {
        return bytes.get(ValueLayout.JAVA_BYTE, offset);
    }

    /** The file's name, as messages give it. */
    String name() {
        return name;
    }

    /** The bytes of the whole file. */
    MemorySegment bytes() {
        return bytes;
    }

    ByteOrder byteOrder() {
        return order;
    }

    /** e_type: {@link #ET_EXEC}, {@link #ET_DYN}, {@link #ET_CORE}, ... */
    int type() {
        return type;
    }

    /** e_machine. */
    int machine() {
        return machine;
    }

    /** e_entry. */
    long entry() {
        return entry;
    }

    List<ProgramHeader> programHeaders() {
        return programHeaders;
    }

    /** A readable name of an e_type value, for messages. */
    static String typeName(int type) {
        return switch (type) {
            case 0 -> "ET_NONE";
            case 1 -> "ET_REL, a relocatable object";
            case ET_EXEC -> "ET_EXEC, an executable";
            case ET_DYN -> "ET_DYN, a shared object or position-independent executable";
            case ET_CORE -> "ET_CORE, a core file";
            default -> String.format("0x%x", type);
        };
    }
}
