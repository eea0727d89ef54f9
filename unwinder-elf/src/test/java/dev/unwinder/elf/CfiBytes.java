package dev.unwinder.elf;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Hand-made call-frame sections for the tests: a byte writer in either byte order, and a minimal
 * ELF file that holds given sections at given addresses (no program headers), which
 * {@link ElfFile} reads like a real one.
 */
final class CfiBytes {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteOrder order;

    CfiBytes(ByteOrder order) {
        this.order = order;
    }

    /** One section of a hand-made file. */
    record Section(String name, long address, byte[] bytes) {}

    int size() {
        return out.size();
    }

    CfiBytes u8(int... values) {
        for (int value : values) {
            out.write(value);
        }
        return this;
    }

    CfiBytes u16(long value) {
        return fixed(value, 2);
    }

    CfiBytes u32(long value) {
        return fixed(value, 4);
    }

    CfiBytes u64(long value) {
        return fixed(value, 8);
    }

    CfiBytes uleb(long value) {
        do {
            int b = (int) (value & 0x7f);
            value >>>= 7;
            out.write(value != 0 ? b | 0x80 : b);
        } while (value != 0);
        return this;
    }

    CfiBytes sleb(long value) {
        while (true) {
            int b = (int) (value & 0x7f);
            value >>= 7;
            boolean done = value == 0 && (b & 0x40) == 0 || value == -1 && (b & 0x40) != 0;
            out.write(done ? b : b | 0x80);
            if (done) {
                return this;
            }
        }
    }

    CfiBytes text(String text) {
        out.writeBytes(text.getBytes(StandardCharsets.ISO_8859_1));
        out.write(0);
        return this;
    }

    CfiBytes bytes(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    /** Overwrites 4 bytes at {@code at}. */
    CfiBytes put32(int at, long value) {
        byte[] bytes = out.toByteArray();
        ByteBuffer.wrap(bytes).order(order).putInt(at, (int) value);
        out.reset();
        out.writeBytes(bytes);
        return this;
    }

    byte[] toByteArray() {
        return out.toByteArray();
    }

    private CfiBytes fixed(long value, int width) {
        ByteBuffer buffer = ByteBuffer.allocate(8).order(order);
        buffer.putLong(value);
        byte[] bytes = buffer.array();
        if (order == ByteOrder.BIG_ENDIAN) {
            out.write(bytes, 8 - width, width);
        } else {
            out.write(bytes, 0, width);
        }
        return this;
    }

    /** An ELF file of {@code machine} with the sections, read as {@code name}. */
    static ElfFile elf(String name, ByteOrder order, int machine, List<Section> sections) throws ElfException {
        ByteBuffer file = ByteBuffer.allocate(1 << 16).order(order);
        file.put(new byte[] {0x7f, 'E', 'L', 'F', 2, (byte) (order == ByteOrder.LITTLE_ENDIAN ? 1 : 2), 1});
        file.putShort(16, (short) ElfFile.ET_DYN).putShort(18, (short) machine).putInt(20, 1);
        file.putShort(52, (short) 64).putShort(54, (short) 56).putShort(58, (short) 64);
        int at = 64;
        long[] offsets = new long[sections.size()];
        for (int i = 0; i < sections.size(); i++) {
            offsets[i] = at;
            file.put(at, sections.get(i).bytes());
            at = (at + sections.get(i).bytes().length + 7) & ~7;
        }
        int names = at;
        ByteArrayOutputStream table = new ByteArrayOutputStream();
        table.write(0);
        int[] nameOffsets = new int[sections.size() + 1];
        for (int i = 0; i <= sections.size(); i++) {
            nameOffsets[i] = table.size();
            table.writeBytes((i < sections.size() ? sections.get(i).name() : ".shstrtab").getBytes(StandardCharsets.ISO_8859_1));
            table.write(0);
        }
        file.put(names, table.toByteArray());
        int headers = (names + table.size() + 7) & ~7;
        int count = sections.size() + 2;
        file.putLong(40, headers).putShort(60, (short) count).putShort(62, (short) (count - 1));
        for (int i = 0; i <= sections.size(); i++) {
            int header = headers + 64 * (i + 1);
            boolean strings = i == sections.size();
            file.putInt(header, nameOffsets[i]).putInt(header + 4, strings ? ElfFile.SHT_STRTAB : 1);
            file.putLong(header + 16, strings ? 0 : sections.get(i).address());
            file.putLong(header + 24, strings ? names : offsets[i]);
            file.putLong(header + 32, strings ? table.size() : sections.get(i).bytes().length);
        }
        byte[] bytes = java.util.Arrays.copyOf(file.array(), headers + 64 * count);
        return ElfFile.of(name, MemorySegment.ofArray(bytes));
    }
}
