package dev.unwinder.elf;

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
 * never read outside its bounds. Every problem is a {@link ElfException} whose message names
 * the file and the field.
 *
 * <p>Safe to share between threads: the headers are read when the file is opened, the section
 * headers on first use (two threads may both read them, with the same result).
 */
public final class ElfFile {
    /** {@code e_type} of an executable that is not position-independent. */
    public static final int ET_EXEC = 2;
    /** {@code e_type} of a shared object or position-independent executable. */
    public static final int ET_DYN = 3;
    /** {@code e_type} of a core file. */
    public static final int ET_CORE = 4;
    /** {@code p_type} of a loadable segment. */
    public static final int PT_LOAD = 1;
    /** {@code p_type} of the dynamic section's segment. */
    public static final int PT_DYNAMIC = 2;
    /** {@code p_type} of the path of the program's interpreter, the dynamic loader. */
    public static final int PT_INTERP = 3;
    /** {@code p_type} of a segment of notes. */
    public static final int PT_NOTE = 4;
    /** {@code p_type} of the program header table itself. */
    public static final int PT_PHDR = 6;
    /** {@code sh_type} of the full symbol table. */
    public static final int SHT_SYMTAB = 2;
    /** {@code sh_type} of a string table. */
    public static final int SHT_STRTAB = 3;
    /** {@code sh_type} of a section of notes. */
    public static final int SHT_NOTE = 7;
    /** {@code sh_type} of a section without bytes in the file. */
    public static final int SHT_NOBITS = 8;
    /** {@code sh_type} of the dynamic symbol table. */
    public static final int SHT_DYNSYM = 11;
    /** The type of the {@code "GNU"} note that holds a file's build-id. */
    public static final int NT_GNU_BUILD_ID = 3;

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
    private List<SectionHeader> sectionHeaders;

    /**
     * One program header: a segment's place in the file and in memory.
     *
     * @param index its index in the table
     * @param type {@code p_type}
     * @param offset {@code p_offset}
     * @param vaddr {@code p_vaddr}
     * @param fileSize {@code p_filesz}
     * @param memorySize {@code p_memsz}
     */
    public record ProgramHeader(int index, int type, long offset, long vaddr, long fileSize, long memorySize) {

        /**
         * Whether the unsigned {@code address} lies in {@code [vaddr, vaddr + memorySize)}.
         *
         * @param address an unsigned address
         * @return whether the segment spans it
         */
        public boolean containsAddress(long address) {
            return Long.compareUnsigned(address - vaddr, memorySize) < 0;
        }

        /**
         * Whether the file holds the bytes of {@code [address, address + length)}.
         *
         * @param address an unsigned address
         * @param length a length in bytes
         * @return whether all of them are in the file
         */
        public boolean fileHolds(long address, long length) {
            long offsetInSegment = address - vaddr;
            return Long.compareUnsigned(offsetInSegment, fileSize) < 0 && length <= fileSize - offsetInSegment;
        }
    }

    /**
     * One section header.
     *
     * @param index the section's index
     * @param nameOffset {@code sh_name}, the offset of its name in the section-name string table
     * @param type {@code sh_type}
     * @param flags {@code sh_flags}
     * @param address {@code sh_addr}, its link-time address
     * @param offset {@code sh_offset}
     * @param size {@code sh_size}
     * @param link {@code sh_link}
     * @param entrySize {@code sh_entsize}
     */
    public record SectionHeader(int index, int nameOffset, int type, long flags, long address, long offset, long size,
                                int link, long entrySize) {}

    /**
     * One note.
     *
     * @param owner its owner, such as {@code "CORE"} or {@code "GNU"}
     * @param type its type
     * @param descOffset the file offset of its descriptor
     * @param descSize the descriptor's size in bytes
     */
    public record Note(String owner, int type, long descOffset, long descSize) {}

    private ElfFile(String name, MemorySegment bytes) throws ElfException {
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
     * @param path the file
     * @param arena the arena that owns the mapping; the file is readable while it is alive
     * @return the file
     * @throws ElfException if the file cannot be read or is not a well-formed 64-bit ELF file
     */
    public static ElfFile open(Path path, Arena arena) throws ElfException {
        return of(path.toString(), map(path, arena));
    }

    /**
     * Reads an ELF file from bytes already in memory.
     *
     * @param name the file's name in messages
     * @param bytes the whole file
     * @return the file
     * @throws ElfException if the bytes are not a well-formed 64-bit ELF file
     */
    public static ElfFile of(String name, MemorySegment bytes) throws ElfException {
        return new ElfFile(name, bytes);
    }

    /**
     * Whether a file starts with the ELF magic, without mapping it: a cheap test of a mapped file
     * before it is taken for a module.
     *
     * @param file a file, or null
     * @return whether it can be read and starts with {@code 7f 45 4c 46}
     */
    static boolean startsWithMagic(Path file) {
        if (file == null) {
            return false;
        }
        try (java.io.InputStream in = Files.newInputStream(file)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Maps a whole file read-only into {@code arena}. Mapping costs address space, not memory: the
     * pages that are read come from the file as they are touched.
     *
     * @param path the file
     * @param arena the arena that owns the mapping
     * @return the file's bytes
     * @throws ElfException if the file is missing, unreadable, or not a regular file
     */
    public static MemorySegment map(Path path, Arena arena) throws ElfException {
        if (Files.isDirectory(path)) {
            throw new ElfException(path + ": is a directory (expected: a file)");
        }
        if (Files.exists(path) && !Files.isRegularFile(path)) {
            // Opening a pipe would wait for a writer; a device has no size to map.
            throw new ElfException(path + ": is not a regular file, but a device, pipe or socket (expected: a file)");
        }
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            return channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
        } catch (NoSuchFileException e) {
            throw new ElfException(path + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new ElfException(path + ": permission denied", e);
        } catch (IOException | UnsupportedOperationException e) {
            throw new ElfException(path + ": cannot be read (" + e.getMessage() + ")", e);
        }
    }

    private List<ProgramHeader> readProgramHeaders() throws ElfException {
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
            if ((header.type() == PT_LOAD || header.type() == PT_NOTE) && header.fileSize() != 0
                    && !fits(header.offset(), header.fileSize())) {
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
     * @param owner the owner, such as {@code "CORE"}
     * @param types the note types to keep
     * @return the notes, in file order
     * @throws ElfException if a note's sizes run past the end of its segment
     */
    public List<Note> notes(String owner, Set<Integer> types) throws ElfException {
        List<Note> notes = new ArrayList<>();
        for (ProgramHeader header : programHeaders) {
            if (header.type() == PT_NOTE) {
                scanNotes(header.offset(), header.offset() + header.fileSize(), "PT_NOTE segment " + header.index(), owner,
                        types, notes);
            }
        }
        return notes;
    }

    /**
     * Returns the notes of every {@code SHT_NOTE} section whose owner is {@code owner} and whose type
     * is one of {@code types}. Separate debug files keep their notes in sections only: their
     * segments have no bytes.
     *
     * @param owner the owner, such as {@code "GNU"}
     * @param types the note types to keep
     * @return the notes, in file order
     * @throws ElfException if a note's sizes run past the end of its section, or the section past the file
     */
    public List<Note> sectionNotes(String owner, Set<Integer> types) throws ElfException {
        List<Note> notes = new ArrayList<>();
        for (SectionHeader section : sectionHeaders()) {
            if (section.type() == SHT_NOTE) {
                requireInFile(section);
                scanNotes(section.offset(), section.offset() + section.size(), "note section " + section.index(), owner,
                        types, notes);
            }
        }
        return notes;
    }

    private void scanNotes(long start, long end, String where, String owner, Set<Integer> types, List<Note> notes)
            throws ElfException {
        long at = start;
        int index = 0;
        while (end - at >= 12) {
            long nameSize = Integer.toUnsignedLong(u32(at));
            long descSize = Integer.toUnsignedLong(u32(at + 4));
            int noteType = u32(at + 8);
            long nameAt = at + 12;
            long descAt = nameAt + align4(nameSize);
            if (align4(nameSize) > end - nameAt || align4(descSize) > end - descAt) {
                throw bad(String.format("note %d of %s claims a %d-byte name and a %d-byte descriptor,"
                        + " but only %d bytes of the %s remain", index, where, nameSize, descSize, end - nameAt,
                        where.startsWith("PT_NOTE") ? "segment" : "section"));
            }
            if (types.contains(noteType) && noteOwner(nameAt, nameSize).equals(owner)) {
                notes.add(new Note(owner, noteType, descAt, descSize));
            }
            at = descAt + align4(descSize);
            index++;
        }
    }

    /**
     * The file's build-id: the descriptor of its {@code NT_GNU_BUILD_ID} note, from a
     * {@code PT_NOTE} segment or else a note section.
     *
     * @return the build-id's bytes, or null if the file has none
     * @throws ElfException if its notes are malformed
     */
    public byte[] buildId() throws ElfException {
        List<Note> notes = notes("GNU", Set.of(NT_GNU_BUILD_ID));
        if (notes.isEmpty()) {
            notes = sectionNotes("GNU", Set.of(NT_GNU_BUILD_ID));
        }
        for (Note note : notes) {
            if (note.descSize() > 0 && note.descSize() <= 64) {
                return bytes.asSlice(note.descOffset(), note.descSize()).toArray(ValueLayout.JAVA_BYTE);
            }
        }
        return null;
    }

    /**
     * The section called {@code name}, such as {@code ".gnu_debuglink"}: the first one, by the
     * section-name string table ({@code e_shstrndx}).
     *
     * @param name the section's name
     * @return the section, or null if the file has none of that name
     * @throws ElfException if the section headers or their name table are malformed
     */
    public SectionHeader section(String name) throws ElfException {
        List<SectionHeader> sections = sectionHeaders();
        int shstrndx = u16(62);
        if (shstrndx == 0xffff && !sections.isEmpty()) {
            shstrndx = u32(u64(40) + 40); // SHN_XINDEX: the real index is sh_link of section header 0
        }
        if (shstrndx <= 0 || shstrndx >= sections.size()) {
            return null;
        }
        SectionHeader names = sections.get(shstrndx);
        if (names.type() != SHT_STRTAB) {
            return null;
        }
        requireInFile(names);
        for (SectionHeader section : sections) {
            if (cStringEquals(names.offset(), names.size(), Integer.toUnsignedLong(section.nameOffset()), name)) {
                return section;
            }
        }
        return null;
    }

    /**
     * The bytes of a section as the file holds them: empty for {@code SHT_NOBITS}.
     *
     * @param section one of this file's sections
     * @return its bytes, a slice of the file
     * @throws ElfException if the section claims bytes past the end of the file
     */
    public MemorySegment sectionBytes(SectionHeader section) throws ElfException {
        if (section.type() == SHT_NOBITS) {
            return MemorySegment.ofArray(new byte[0]);
        }
        requireInFile(section);
        return bytes.asSlice(section.offset(), section.size());
    }

    /** Checks that a section's bytes lie inside the file. */
    void requireInFile(SectionHeader section) throws ElfException {
        if (section.type() != SHT_NOBITS && !fits(section.offset(), section.size())) {
            throw bad(String.format("section %d claims 0x%x bytes at file offset 0x%x, past the end of the file (0x%x bytes)",
                    section.index(), section.size(), section.offset(), size));
        }
    }

    /**
     * The NUL-terminated string at file offset {@code tableOffset + offset}, read at most to the
     * end of its table and at most {@code maxLength} bytes, as ISO-8859-1 (ELF names are bytes).
     *
     * @param tableOffset the file offset of the string table
     * @param tableSize its size
     * @param offset the string's offset in the table
     * @param maxLength the most bytes to read
     * @return the string, or null if {@code offset} is outside the table
     */
    public String cString(long tableOffset, long tableSize, long offset, int maxLength) {
        if (Long.compareUnsigned(offset, tableSize) >= 0) {
            return null;
        }
        long limit = Math.min(tableSize - offset, maxLength);
        long start = tableOffset + offset;
        int length = 0;
        while (length < limit && bytes.get(ValueLayout.JAVA_BYTE, start + length) != 0) {
            length++;
        }
        byte[] text = bytes.asSlice(start, length).toArray(ValueLayout.JAVA_BYTE);
        return new String(text, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    private boolean cStringEquals(long tableOffset, long tableSize, long offset, String expected) {
        if (Long.compareUnsigned(offset, tableSize) >= 0 || tableSize - offset < expected.length() + 1) {
            return false;
        }
        for (int i = 0; i < expected.length(); i++) {
            if ((bytes.get(ValueLayout.JAVA_BYTE, tableOffset + offset + i) & 0xff) != expected.charAt(i)) {
                return false;
            }
        }
        return bytes.get(ValueLayout.JAVA_BYTE, tableOffset + offset + expected.length()) == 0;
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
     * Returns the section headers, or an empty list if the file has none. Read once, on first use.
     *
     * @return the section headers, in index order
     * @throws ElfException if the table runs past the end of the file
     */
    public List<SectionHeader> sectionHeaders() throws ElfException {
        if (sectionHeaders == null) {
            sectionHeaders = readSectionHeaders();
        }
        return sectionHeaders;
    }

    private List<SectionHeader> readSectionHeaders() throws ElfException {
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
            headers.add(new SectionHeader((int) i, u32(at), u32(at + 4), u64(at + 8), u64(at + 16), u64(at + 24), u64(at + 32),
                    u32(at + 40), u64(at + 56)));
        }
        return List.copyOf(headers);
    }

    /** Whether the {@code length} bytes from file offset {@code offset} are all inside the file. */
    boolean fits(long offset, long length) {
        return Long.compareUnsigned(offset, size) <= 0 && Long.compareUnsigned(length, size - offset) <= 0;
    }

    /**
     * An exception about this file, its message starting with the file's name.
     *
     * @param problem what is wrong, such as {@code "has no PT_LOAD segment"}
     * @return the exception, to throw
     */
    public ElfException bad(String problem) {
        return new ElfException(name + ": " + problem);
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

    /**
     * The file's name, as messages give it.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * The bytes of the whole file.
     *
     * @return the bytes
     */
    public MemorySegment bytes() {
        return bytes;
    }

    /**
     * The byte order of its {@code EI_DATA}.
     *
     * @return the byte order
     */
    public ByteOrder byteOrder() {
        return order;
    }

    /**
     * Its type.
     *
     * @return {@code e_type}: {@link #ET_EXEC}, {@link #ET_DYN}, {@link #ET_CORE}, ...
     */
    public int type() {
        return type;
    }

    /**
     * Its machine.
     *
     * @return {@code e_machine}
     */
    public int machine() {
        return machine;
    }

    /**
     * Its entry point.
     *
     * @return {@code e_entry}, a link-time address
     */
    public long entry() {
        return entry;
    }

    /**
     * Its program headers, read and checked when the file was opened.
     *
     * @return the program headers, in index order
     */
    public List<ProgramHeader> programHeaders() {
        return programHeaders;
    }

    /**
     * A readable name of an {@code e_type} value, for messages.
     *
     * @param type an {@code e_type}
     * @return its name, such as {@code "ET_DYN, a shared object or position-independent executable"}
     */
    public static String typeName(int type) {
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
