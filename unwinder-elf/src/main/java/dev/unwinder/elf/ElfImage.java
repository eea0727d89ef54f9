package dev.unwinder.elf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The program headers of an ELF file as a process mapped it, read from its memory in a core
 * (whose first page of each ELF mapping the kernel keeps): enough to place a module and to find
 * its build-id without the file. Every count and offset is checked against the bytes the core
 * holds.
 */
final class ElfImage {
    private static final int EHDR_SIZE = 64;
    private static final int PHDR_SIZE = 56;
    private static final int MAX_HEADERS = 256;

    /** A program header as the image holds it. */
    record Segment(int type, long offset, long vaddr, long fileSize, long memorySize) {}

    private final List<Segment> segments;

    private ElfImage(List<Segment> segments) {
        this.segments = segments;
    }

    /** Whether the core holds the ELF magic at {@code address}. */
    static boolean hasMagic(CoreFile core, long address) {
        MemorySegment magic = core.bytesAt(address, 4);
        return magic != null && magic.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 0) == 0x7f454c46;
    }

    /**
     * The image whose ELF header is at {@code address} in the core's memory.
     *
     * @return the image, or null if the core does not hold a 64-bit ELF header and its program
     *     headers there
     */
    static ElfImage at(CoreFile core, long address) {
        MemorySegment header = core.bytesAt(address, EHDR_SIZE);
        if (header == null || !hasMagic(core, address) || header.get(ValueLayout.JAVA_BYTE, 4) != 2) {
            return null;
        }
        ValueLayout.OfLong u64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(core.elf().byteOrder());
        ValueLayout.OfShort u16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(core.elf().byteOrder());
        long phoff = header.get(u64, 32);
        int phentsize = Short.toUnsignedInt(header.get(u16, 54));
        int phnum = Short.toUnsignedInt(header.get(u16, 56));
        if (phentsize < PHDR_SIZE || phnum == 0 || phnum > MAX_HEADERS || Long.compareUnsigned(phoff, 1 << 20) > 0) {
            return null;
        }
        return headers(core, address + phoff, phnum, phentsize);
    }

    /**
     * The image whose program headers are at {@code address}, as the auxiliary vector's
     * {@code AT_PHDR} and {@code AT_PHNUM} give them.
     *
     * @return the image, or null if the core does not hold them
     */
    static ElfImage headers(CoreFile core, long address, int count, int entrySize) {
        if (count <= 0 || count > MAX_HEADERS || entrySize < PHDR_SIZE) {
            return null;
        }
        MemorySegment table = core.bytesAt(address, (long) count * entrySize);
        if (table == null) {
            return null;
        }
        ValueLayout.OfLong u64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(core.elf().byteOrder());
        ValueLayout.OfInt u32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(core.elf().byteOrder());
        List<Segment> segments = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            long at = (long) i * entrySize;
            segments.add(new Segment(table.get(u32, at), table.get(u64, at + 8), table.get(u64, at + 16),
                    table.get(u64, at + 32), table.get(u64, at + 40)));
        }
        return new ElfImage(List.copyOf(segments));
    }

    /** The program headers of a file, for a process whose copy of them the core does not hold. */
    static ElfImage of(ElfFile file) {
        List<Segment> segments = new ArrayList<>();
        for (ElfFile.ProgramHeader header : file.programHeaders()) {
            segments.add(new Segment(header.type(), header.offset(), header.vaddr(), header.fileSize(), header.memorySize()));
        }
        return new ElfImage(List.copyOf(segments));
    }

    List<Segment> segments() {
        return segments;
    }

    /** The first segment of a type, or null. */
    Segment first(int type) {
        for (Segment segment : segments) {
            if (segment.type() == type) {
                return segment;
            }
        }
        return null;
    }

    /** The lowest link-time address of its PT_LOAD segments, rounded down to 4 KiB; -1 if it has none. */
    long lowestLoad() {
        long lowest = -1;
        for (Segment segment : segments) {
            if (segment.type() == ElfFile.PT_LOAD && (lowest == -1 || Long.compareUnsigned(segment.vaddr(), lowest) < 0)) {
                lowest = segment.vaddr();
            }
        }
        return lowest == -1 ? -1 : lowest & ~0xfffL;
    }

    /** The end of its highest PT_LOAD segment in memory, rounded up to 4 KiB; -1 if it has none. */
    long highestLoadEnd() {
        long highest = -1;
        for (Segment segment : segments) {
            long end = segment.vaddr() + segment.memorySize();
            if (segment.type() == ElfFile.PT_LOAD && (highest == -1 || Long.compareUnsigned(end, highest) > 0)) {
                highest = end;
            }
        }
        return highest == -1 ? -1 : (highest + 0xfff) & ~0xfffL;
    }

    /**
     * The build-id in the core's copy of the image's notes, placed with {@code bias}.
     *
     * @return the build-id, or null if the core does not hold it
     */
    byte[] buildId(CoreFile core, long bias) {
        ValueLayout.OfInt u32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(core.elf().byteOrder());
        for (Segment segment : segments) {
            if (segment.type() != ElfFile.PT_NOTE || Long.compareUnsigned(segment.fileSize(), 1 << 16) > 0) {
                continue;
            }
            MemorySegment notes = core.bytesAt(segment.vaddr() + bias, segment.fileSize());
            if (notes == null) {
                continue;
            }
            long at = 0;
            long end = notes.byteSize();
            while (end - at >= 12) {
                long nameSize = Integer.toUnsignedLong(notes.get(u32, at));
                long descSize = Integer.toUnsignedLong(notes.get(u32, at + 4));
                int type = notes.get(u32, at + 8);
                long descAt = at + 12 + ((nameSize + 3) & ~3L);
                if (nameSize > end || descSize > end || descAt + descSize > end) {
                    break;
                }
                if (type == ElfFile.NT_GNU_BUILD_ID && nameSize == 4 && notes.get(u32, at + 12) == gnu(core)
                        && descSize > 0 && descSize <= 64) {
                    return notes.asSlice(descAt, descSize).toArray(ValueLayout.JAVA_BYTE);
                }
                at = descAt + ((descSize + 3) & ~3L);
            }
        }
        return null;
    }

    /** "GNU\0" as a 32-bit word in the core's byte order. */
    private static int gnu(CoreFile core) {
        return core.elf().byteOrder() == ByteOrder.BIG_ENDIAN ? 0x474e5500 : 0x00554e47;
    }
}
