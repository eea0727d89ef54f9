package dev.unwinder.elf;

import dev.unwinder.api.Registers;
import dev.unwinder.api.StackMemory;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;

/**
 * A Linux ELF core file: its machine, the registers of every thread ({@code NT_PRSTATUS}), the
 * auxiliary vector ({@code NT_AUXV}), the file mappings ({@code NT_FILE}, where the kernel wrote
 * it) and the memory of its {@code PT_LOAD} segments.
 *
 * <p>Everything a note claims is checked against the note's size before it is used. Reading
 * memory never leaves the bytes the file holds: an address that no segment holds, or whose bytes
 * the core left out, reads as absent. Immutable once read, and safe to share between threads.
 */
public final class CoreFile {
    /** The note type of a thread's status and general registers. */
    public static final int NT_PRSTATUS = 1;
    /** The note type of the auxiliary vector. */
    public static final int NT_AUXV = 6;
    /** The note type of the file mappings, as the kernel writes them. */
    public static final int NT_FILE = 0x46494c45;
    /** Auxiliary vector key: the run-time address of the executable's program headers. */
    public static final long AT_PHDR = 3;
    /** Auxiliary vector key: the number of the executable's program headers. */
    public static final long AT_PHNUM = 5;
    /** Auxiliary vector key: the dynamic loader's load address. */
    public static final long AT_BASE = 7;
    /** Auxiliary vector key: the run-time address of the executable's entry point. */
    public static final long AT_ENTRY = 9;
    /** Auxiliary vector key: the address of the vDSO's ELF header. */
    public static final long AT_SYSINFO_EHDR = 33;
    /** Auxiliary vector key: the address of the executable's file name, as {@code execve} got it. */
    public static final long AT_EXECFN = 31;

    private static final long AT_NULL = 0;
    private static final int MAX_PATH = 4096;

    /**
     * One thread of the core.
     *
     * @param tid the thread id, {@code pr_pid}
     * @param signal the signal that stopped it, {@code pr_cursig}; 0 for none
     * @param pc the program counter
     * @param dwarfRegisters the general registers by DWARF number
     */
    public record CoreThread(int tid, int signal, long pc, long[] dwarfRegisters) {
        /**
         * The registers for a walk.
         *
         * @return the pc and the general registers
         */
        public Registers registers() {
            return Registers.of(pc, dwarfRegisters);
        }

        /**
         * One general register.
         *
         * @param dwarf its DWARF number
         * @return its value
         */
        public long register(int dwarf) {
            return dwarfRegisters[dwarf];
        }
    }

    /**
     * One file mapping of the {@code NT_FILE} note.
     *
     * @param start the mapping's first address
     * @param end the address after its last byte
     * @param fileOffset the offset in the file of its first byte
     * @param path the file's path, as the process saw it
     */
    public record FileMapping(long start, long end, long fileOffset, String path) {}

    private final ElfFile elf;
    private final Machine machine;
    private final List<CoreThread> threads;
    private final long[] auxv;
    private final List<FileMapping> fileMappings;
    private final boolean hasFileNote;
    /** The PT_LOAD segments by vaddr: vaddr, vaddr + memsz, file offset, file size. */
    private final long[] segmentStart;
    private final long[] segmentEnd;
    private final long[] segmentOffset;
    private final long[] segmentFileSize;

    private CoreFile(ElfFile elf, Machine machine, List<CoreThread> threads, long[] auxv, List<FileMapping> fileMappings,
                     boolean hasFileNote) {
        this.elf = elf;
        this.machine = machine;
        this.threads = threads;
        this.auxv = auxv;
        this.fileMappings = fileMappings;
        this.hasFileNote = hasFileNote;
        List<ElfFile.ProgramHeader> loads = new ArrayList<>();
        for (ElfFile.ProgramHeader header : elf.programHeaders()) {
            if (header.type() == ElfFile.PT_LOAD && header.memorySize() != 0) {
                loads.add(header);
            }
        }
        loads.sort(Comparator.comparing(ElfFile.ProgramHeader::vaddr, Long::compareUnsigned));
        int n = loads.size();
        segmentStart = new long[n];
        segmentEnd = new long[n];
        segmentOffset = new long[n];
        segmentFileSize = new long[n];
        for (int i = 0; i < n; i++) {
            ElfFile.ProgramHeader header = loads.get(i);
            segmentStart[i] = header.vaddr();
            segmentEnd[i] = header.vaddr() + header.memorySize();
            segmentOffset[i] = header.offset();
            segmentFileSize[i] = Math.min(header.fileSize(), header.memorySize());
        }
    }

    /**
     * Reads the threads, auxiliary vector and file mappings of a core.
     *
     * @param elf the core file
     * @return the core
     * @throws ElfException if {@code elf} is not a core of a known machine, or its notes are
     *     malformed
     */
    public static CoreFile read(ElfFile elf) throws ElfException {
        if (elf.type() != ElfFile.ET_CORE) {
            throw elf.bad("not a core file: its e_type is " + ElfFile.typeName(elf.type()) + " (expected: ET_CORE)");
        }
        Machine machine = Machine.of(elf.machine());
        if (machine == null) {
            throw elf.bad("a core of an unsupported machine: e_machine " + elf.machine()
                    + " (expected: " + Machine.known() + ")");
        }
        if (!machine.byteOrder.equals(elf.byteOrder())) {
            throw elf.bad("a " + machine.arch + " core whose ELF header says " + elf.byteOrder()
                    + " (expected: " + machine.byteOrder + ")");
        }
        List<CoreThread> threads = new ArrayList<>();
        long[] auxv = null;
        List<FileMapping> mappings = List.of();
        boolean hasFileNote = false;
        int prstatusSize = Machine.PR_REG_OFFSET + machine.registerWords * 8;
        for (ElfFile.Note note : elf.notes("CORE", Set.of(NT_PRSTATUS, NT_AUXV, NT_FILE))) {
            if (note.type() == NT_PRSTATUS) {
                if (note.descSize() < prstatusSize) {
                    throw elf.bad(String.format("NT_PRSTATUS note of thread %d has %d bytes (expected: at least %d for %s)",
                            threads.size() + 1, note.descSize(), prstatusSize, machine.arch));
                }
                long at = note.descOffset();
                int tid = elf.u32(at + Machine.PR_PID_OFFSET);
                int signal = elf.u16(at + 12);
                long[] prReg = new long[machine.registerWords];
                for (int i = 0; i < prReg.length; i++) {
                    prReg[i] = elf.u64(at + Machine.PR_REG_OFFSET + 8L * i);
                }
                threads.add(new CoreThread(tid, signal, machine.pc(prReg), machine.dwarfRegisters(prReg)));
            } else if (note.type() == NT_AUXV && auxv == null) {
                auxv = readAuxv(elf, note);
            } else if (note.type() == NT_FILE && !hasFileNote) {
                mappings = readFileNote(elf, note);
                hasFileNote = true;
            }
        }
        if (threads.isEmpty()) {
            throw elf.bad("the core has no NT_PRSTATUS note, so no thread to walk");
        }
        return new CoreFile(elf, machine, List.copyOf(threads), auxv == null ? new long[0] : auxv, mappings, hasFileNote);
    }

    /** The auxiliary vector's pairs up to AT_NULL, as key, value, key, value, ... */
    private static long[] readAuxv(ElfFile elf, ElfFile.Note note) {
        long pairs = note.descSize() / 16;
        long[] auxv = new long[(int) Math.min(pairs, 4096) * 2];
        int n = 0;
        for (long i = 0; i < pairs && n < auxv.length; i++) {
            long key = elf.u64(note.descOffset() + 16 * i);
            if (key == AT_NULL) {
                break;
            }
            auxv[n++] = key;
            auxv[n++] = elf.u64(note.descOffset() + 16 * i + 8);
        }
        return Arrays.copyOf(auxv, n);
    }

    /**
     * NT_FILE: a count and a page size, {@code count} triples of start, end and file offset in
     * pages, then {@code count} NUL-terminated paths.
     */
    private static List<FileMapping> readFileNote(ElfFile elf, ElfFile.Note note) throws ElfException {
        long size = note.descSize();
        long at = note.descOffset();
        if (size < 16) {
            throw elf.bad("NT_FILE note has " + size + " bytes (expected: at least 16 for its count and page size)");
        }
        long count = elf.u64(at);
        long pageSize = elf.u64(at + 8);
        if (Long.compareUnsigned(count, (size - 16) / 24) > 0) {
            throw elf.bad(String.format("NT_FILE note claims %s mappings, but its %d bytes hold at most %d",
                    Long.toUnsignedString(count), size, (size - 16) / 24));
        }
        if (pageSize == 0 || Long.bitCount(pageSize) != 1 || Long.compareUnsigned(pageSize, 1L << 30) > 0) {
            throw elf.bad(String.format("NT_FILE note has page size 0x%x (expected: a power of two up to 1 GiB)", pageSize));
        }
        long names = at + 16 + count * 24;
        long namesEnd = at + size;
        List<FileMapping> mappings = new ArrayList<>((int) count);
        for (long i = 0; i < count; i++) {
            long entry = at + 16 + i * 24;
            int length = 0;
            while (names + length < namesEnd && elf.u8(names + length) != 0) {
                length++;
            }
            if (names + length >= namesEnd) {
                throw elf.bad(String.format("NT_FILE note names %d of its %d mappings; the rest of its paths are missing",
                        i, count));
            }
            byte[] path = elf.bytes().asSlice(names, Math.min(length, MAX_PATH)).toArray(ValueLayout.JAVA_BYTE);
            long start = elf.u64(entry);
            long end = elf.u64(entry + 8);
            if (Long.compareUnsigned(end, start) < 0) {
                throw elf.bad(String.format("NT_FILE mapping %d ends at 0x%x, below its start 0x%x", i, end, start));
            }
            mappings.add(new FileMapping(start, end, elf.u64(entry + 16) * pageSize,
                    new String(path, StandardCharsets.UTF_8)));
            names += length + 1;
        }
        return List.copyOf(mappings);
    }

    /**
     * The memory of the {@code PT_LOAD} segment that holds {@code address}, as far as the file
     * holds its bytes: a stack for a walk.
     *
     * @param address an unsigned address, such as a thread's sp
     * @return the segment's memory, or null if no segment holds the address or the core left its
     *     bytes out
     */
    public StackMemory segmentMemory(long address) {
        int i = segmentIndex(address);
        if (i < 0 || Long.compareUnsigned(address - segmentStart[i], segmentFileSize[i]) >= 0) {
            return null;
        }
        return StackMemory.ofSegment(elf.bytes().asSlice(segmentOffset[i], segmentFileSize[i]), segmentStart[i],
                elf.byteOrder());
    }

    /**
     * Whether some {@code PT_LOAD} segment spans {@code address}, whether or not the file holds its
     * bytes (cores leave out code that the executable holds).
     *
     * @param address an unsigned address
     * @return whether the process had it mapped
     */
    public boolean isMapped(long address) {
        return segmentIndex(address) >= 0;
    }

    /**
     * The bytes of {@code [address, address + length)}, if the core holds all of them in one segment.
     *
     * @param address an unsigned address
     * @param length how many bytes
     * @return a slice of the core file, or null if it does not hold them all
     */
    public MemorySegment bytesAt(long address, long length) {
        int i = segmentIndex(address);
        if (i < 0 || length < 0 || segmentFileSize[i] == 0) {
            return null;
        }
        long offset = address - segmentStart[i];
        if (Long.compareUnsigned(offset, segmentFileSize[i]) > 0 || length > segmentFileSize[i] - offset) {
            return null;
        }
        return elf.bytes().asSlice(segmentOffset[i] + offset, length);
    }

    /**
     * A 64-bit word of the process's memory, in the core's byte order.
     *
     * @param address an unsigned address
     * @param what what the word is, for the message, such as {@code "r_debug.r_map"}
     * @return the word
     * @throws ElfException if the core does not hold its bytes
     */
    public long word(long address, String what) throws ElfException {
        MemorySegment bytes = bytesAt(address, 8);
        if (bytes == null) {
            throw elf.bad(String.format("%s at 0x%x is not in the core's memory", what, address));
        }
        return bytes.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(elf.byteOrder()), 0);
    }

    /**
     * A NUL-terminated string of the process's memory, cut at 4096 bytes or where the core's
     * bytes end.
     *
     * @param address an unsigned address
     * @return the string (UTF-8), or null if the core does not hold its first byte
     */
    public String string(long address) {
        int i = segmentIndex(address);
        if (i < 0) {
            return null;
        }
        long offset = address - segmentStart[i];
        if (Long.compareUnsigned(offset, segmentFileSize[i]) >= 0) {
            return null;
        }
        long limit = Math.min(segmentFileSize[i] - offset, MAX_PATH);
        long at = segmentOffset[i] + offset;
        int length = 0;
        while (length < limit && elf.u8(at + length) != 0) {
            length++;
        }
        return new String(elf.bytes().asSlice(at, length).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    /** The segment whose [start, end) spans address, or -1; binary search over the sorted starts. */
    private int segmentIndex(long address) {
        int low = 0;
        int high = segmentStart.length - 1;
        int found = -1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            if (Long.compareUnsigned(segmentStart[mid], address) <= 0) {
                found = mid;
                low = mid + 1;
            } else {
                high = mid - 1;
            }
        }
        if (found >= 0 && Long.compareUnsigned(address - segmentStart[found], segmentEnd[found] - segmentStart[found]) < 0) {
            return found;
        }
        return -1;
    }

    /**
     * The first value of an auxiliary vector entry.
     *
     * @param key such as {@link #AT_ENTRY}
     * @return its value, or empty if the core has no {@code NT_AUXV} note or the vector no such key
     */
    public OptionalLong auxv(long key) {
        for (int i = 0; i < auxv.length; i += 2) {
            if (auxv[i] == key) {
                return OptionalLong.of(auxv[i + 1]);
            }
        }
        return OptionalLong.empty();
    }

    /**
     * The file mappings of the {@code NT_FILE} note, in the note's order (by address).
     *
     * @return the mappings; empty if the core has no such note (see {@link #hasFileNote()})
     */
    public List<FileMapping> fileMappings() {
        return fileMappings;
    }

    /**
     * Whether the core has an {@code NT_FILE} note: the kernel writes one, qemu-user does not.
     *
     * @return whether it has one
     */
    public boolean hasFileNote() {
        return hasFileNote;
    }

    /**
     * The core's ELF file.
     *
     * @return the file
     */
    public ElfFile elf() {
        return elf;
    }

    /**
     * The machine of the core.
     *
     * @return its machine
     */
    public Machine machine() {
        return machine;
    }

    /**
     * The threads, in the order of the core's notes: the kernel puts the thread that crashed first.
     *
     * @return the threads
     */
    public List<CoreThread> threads() {
        return threads;
    }

    /**
     * The executable's entry point at run time.
     *
     * @return {@code AT_ENTRY}, if the core records it
     */
    public OptionalLong entryPoint() {
        return auxv(AT_ENTRY);
    }
}
