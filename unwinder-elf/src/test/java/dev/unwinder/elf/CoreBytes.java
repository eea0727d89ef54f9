package dev.unwinder.elf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The bytes of a core, read with plain buffer reads and nothing of this module: where its program
 * headers, notes, auxiliary vector and the process's memory are in the file, so that tests can
 * check the readers against them and bend them. Only for cores that are well formed where it looks.
 */
final class CoreBytes {
    /** A program header and where it is in the file. */
    record Segment(int index, int headerAt, int type, long offset, long vaddr, long fileSize, long memorySize) {}

    /** A note: where its header and its descriptor are in the file. */
    record Note(int headerAt, String owner, int type, int descAt, int descSize) {}

    final byte[] bytes;
    final ByteBuffer buffer;

    CoreBytes(byte[] bytes) {
        this.bytes = bytes;
        this.buffer = ByteBuffer.wrap(bytes).order(bytes[5] == 2 ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
    }

    /** A copy, to bend without touching this one. */
    CoreBytes copy() {
        return new CoreBytes(bytes.clone());
    }

    List<Segment> segments() {
        List<Segment> segments = new ArrayList<>();
        int phoff = (int) buffer.getLong(32);
        for (int i = 0; i < Short.toUnsignedInt(buffer.getShort(56)); i++) {
            int at = phoff + 56 * i;
            segments.add(new Segment(i, at, buffer.getInt(at), buffer.getLong(at + 8), buffer.getLong(at + 16),
                    buffer.getLong(at + 32), buffer.getLong(at + 40)));
        }
        return segments;
    }

    List<Note> notes() {
        List<Note> notes = new ArrayList<>();
        for (Segment segment : segments()) {
            if (segment.type() != ElfFile.PT_NOTE) {
                continue;
            }
            int at = (int) segment.offset();
            int end = at + (int) segment.fileSize();
            while (at + 12 <= end) {
                int nameSize = buffer.getInt(at);
                int descSize = buffer.getInt(at + 4);
                int descAt = at + 12 + ((nameSize + 3) & ~3);
                String owner = new String(bytes, at + 12, Math.max(nameSize - 1, 0), StandardCharsets.US_ASCII);
                notes.add(new Note(at, owner, buffer.getInt(at + 8), descAt, descSize));
                at = descAt + ((descSize + 3) & ~3);
            }
        }
        return notes;
    }

    /** The first note of a type, or null. */
    Note note(int type) {
        return notes().stream().filter(note -> note.type() == type).findFirst().orElse(null);
    }

    /** The file offset of the value of the first auxiliary vector entry {@code key}, or -1. */
    int auxvValueAt(long key) {
        Note auxv = note(CoreFile.NT_AUXV);
        for (int at = auxv.descAt(); at + 16 <= auxv.descAt() + auxv.descSize(); at += 16) {
            if (buffer.getLong(at) == key) {
                return at + 8;
            }
        }
        return -1;
    }

    long auxv(long key) {
        return buffer.getLong(auxvValueAt(key));
    }

    /** The file offset that holds the byte at {@code address}, or -1 where no segment's file bytes hold it. */
    int fileOffset(long address) {
        for (Segment segment : segments()) {
            if (segment.type() == ElfFile.PT_LOAD && Long.compareUnsigned(address - segment.vaddr(), segment.fileSize()) < 0) {
                return (int) (segment.offset() + address - segment.vaddr());
            }
        }
        return -1;
    }

    long word(long address) {
        int at = fileOffset(address);
        if (at < 0) {
            throw new IllegalArgumentException(String.format("0x%x is not in the core's bytes", address));
        }
        return buffer.getLong(at);
    }

    void putWord(long address, long value) {
        buffer.putLong(fileOffset(address), value);
    }

    /**
     * The dynamic loader's list as the core holds it: the address of {@code r_debug}, then of each
     * {@code link_map} entry in chain order, found from {@code AT_PHDR} through the executable's
     * {@code PT_PHDR} and {@code PT_DYNAMIC} and its {@code DT_DEBUG} entry.
     */
    List<Long> linkMap() {
        return linkMap(null);
    }

    /**
     * The dynamic loader's list, with the executable's program headers read from {@code program}
     * (its file) where the core does not hold them, as in qemu's cores.
     */
    List<Long> linkMap(byte[] program) {
        long rDebug = 0;
        for (long entry = dynamic(program); word(entry) != 0; entry += 16) {
            if (word(entry) == 21) {
                rDebug = word(entry + 8);
            }
        }
        List<Long> chain = new ArrayList<>(List.of(rDebug));
        for (long entry = word(rDebug + 8); entry != 0; entry = word(entry + 24)) {
            chain.add(entry);
        }
        return chain;
    }

    /**
     * The run-time address of the executable's dynamic section, by its {@code PT_PHDR} and
     * {@code PT_DYNAMIC}, from the core's copy of its program headers or else from {@code program}.
     */
    long dynamic(byte[] program) {
        long phdr = auxv(CoreFile.AT_PHDR);
        boolean inCore = fileOffset(phdr) >= 0 || program == null;
        ByteBuffer headers = inCore ? buffer : ByteBuffer.wrap(program).order(buffer.order());
        int at = inCore ? fileOffset(phdr) : (int) headers.getLong(32);
        long self = -1;
        long dynamic = -1;
        for (int i = 0; i < (int) auxv(CoreFile.AT_PHNUM); i++) {
            int type = headers.getInt(at + 56 * i);
            if (type == ElfFile.PT_PHDR) {
                self = headers.getLong(at + 56 * i + 16);
            } else if (type == ElfFile.PT_DYNAMIC) {
                dynamic = headers.getLong(at + 56 * i + 16);
            }
        }
        return dynamic + phdr - self;
    }
}
