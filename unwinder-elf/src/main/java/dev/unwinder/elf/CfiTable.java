package dev.unwinder.elf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The call-frame information of one ELF file, from its {@code .eh_frame} (found through the binary
 * search table of {@code .eh_frame_hdr} where the file has one) or its {@code .debug_frame}: finds
 * the frame description entry (FDE) that covers a pc, and computes the row of rules that holds at
 * that pc.
 *
 * <p>Everything the sections claim is checked against their real size: a length, a pointer
 * encoding, a CIE pointer or an instruction that lies ends in a one-line {@link ElfException}
 * starting with the file's name, never in another exception, an unbounded loop or memory beyond a
 * small multiple of the section's size. Addresses are link-time addresses (subtract a module's load
 * bias from a run-time pc). Instructions and expressions are not copied: they are offsets into the
 * section ({@link #section()}), which stays readable while the file's arena is open.
 *
 * <p>What it reads: CIE versions 1, 3 and 4 of 32- and 64-bit DWARF; the augmentations {@code z},
 * {@code R}, {@code P}, {@code L}, {@code S}, {@code B} (aarch64's B key), {@code G} and old GCC's
 * {@code eh} (an unknown letter after {@code z} ends the augmentation, whose data is skipped); the
 * pointer encodings absptr, (s|u)leb128, (s|u)data2/4/8 with pcrel, datarel (the header table,
 * relative to {@code .eh_frame_hdr}), funcrel ({@code DW_CFA_set_loc}) and aligned. The indirect
 * bit is accepted for a personality pointer, which is skipped, and rejected for an FDE's address;
 * textrel is rejected. Opcode 0x2d is read as {@code DW_CFA_AARCH64_negate_ra_state} (SPARC's
 * {@code DW_CFA_GNU_window_save} shares it; SPARC is not supported).
 *
 * <p>Strict: where the FDEs are found by a scan, one malformed entry makes the scan (and so every
 * {@link #find(long)}) fail; through the header table, only the lookups that reach it fail.
 *
 * <p>Safe to share between threads; the sorted index of a table read without a header table is
 * built once, on first use, and the FDEs of header-table entries are kept once read: after that,
 * {@link #find(long)} and {@link #row(CfiFde, long, CfiRow)} allocate nothing.
 */
public final class CfiTable {
    /** {@code DW_EH_PE_omit}: no value. */
    private static final int PE_OMIT = 0xff;
    private static final int PE_INDIRECT = 0x80;
    private static final long DEBUG_FRAME_CIE_ID_32 = 0xffff_ffffL;
    private static final int MAX_AUGMENTATION = 64;
    private static final long MAX_HEADER_ENTRIES = 1 << 26;
    /** The base of a relative encoding (datarel, funcrel) where that encoding means nothing. */
    private static final long NO_BASE = Long.MIN_VALUE;

    private final ElfFile file;
    private final String sectionName;
    private final boolean eh;
    private final MemorySegment bytes;
    private final long size;
    private final long address;
    private final ValueLayout.OfShort u16;
    private final ValueLayout.OfInt u32;
    private final ValueLayout.OfLong u64;

    private final MemorySegment hdr;
    private final long hdrAddress;
    private final long hdrTable;
    private final long hdrCount;
    private final int hdrEncoding;
    private final int hdrEntrySize;
    /** The FDEs of the header table's entries, read on first use. */
    private final CfiFde[] hdrFdes;

    private final Map<Long, CfiCie> cies = new HashMap<>();
    private volatile Index index;
    private volatile List<CfiFde> all;

    /** The FDEs with a non-empty range, sorted by their first pc. */
    private record Index(long[] begins, long[] ends, CfiFde[] fdes) {}

    private CfiTable(ElfFile file, ElfFile.SectionHeader section, boolean eh, ElfFile.SectionHeader header)
            throws ElfException {
        this.file = file;
        this.sectionName = eh ? ".eh_frame" : ".debug_frame";
        this.eh = eh;
        this.bytes = file.sectionBytes(section);
        this.size = bytes.byteSize();
        this.address = section.address();
        ByteOrder order = file.byteOrder();
        u16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(order);
        u32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(order);
        u64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(order);
        if (header == null || header.type() == ElfFile.SHT_NOBITS) {
            // No header, or that of a separate debug file, which has none of the bytes.
            hdr = null;
            hdrAddress = 0;
            hdrTable = 0;
            hdrCount = 0;
            hdrEncoding = PE_OMIT;
            hdrEntrySize = 0;
            hdrFdes = new CfiFde[0];
            return;
        }
        hdr = file.sectionBytes(header);
        hdrAddress = header.address();
        Cursor c = new Cursor(this, hdr, hdrAddress, 0, hdr.byteSize(), ".eh_frame_hdr");
        int version = c.u8();
        if (version != 1) {
            throw file.bad(".eh_frame_hdr: version " + version + " (expected: 1)");
        }
        int framePointerEncoding = c.u8();
        int countEncoding = c.u8();
        int tableEncoding = c.u8();
        if (framePointerEncoding != PE_OMIT) {
            readEncoded(c, framePointerEncoding, hdrAddress, NO_BASE);
        }
        int entrySize = fixedSize(tableEncoding);
        if (countEncoding == PE_OMIT || entrySize == 0 || (tableEncoding & 0x70) != 0x30 && (tableEncoding & 0x70) != 0) {
            // No table, or one that cannot be searched: the FDEs are found by a scan instead.
            hdrTable = 0;
            hdrCount = 0;
            hdrEncoding = PE_OMIT;
            hdrEntrySize = 0;
            hdrFdes = new CfiFde[0];
            return;
        }
        long count = readEncoded(c, countEncoding, hdrAddress, NO_BASE);
        long room = c.end - c.pos;
        if (Long.compareUnsigned(count, room / (2L * entrySize)) > 0) {
            throw file.bad(String.format(".eh_frame_hdr: %s table entries of %d bytes do not fit in its 0x%x bytes after offset 0x%x",
                    Long.toUnsignedString(count), 2 * entrySize, room, c.pos));
        }
        if (count > MAX_HEADER_ENTRIES) {
            throw file.bad(String.format(".eh_frame_hdr: %d table entries (expected: at most %d)", count, MAX_HEADER_ENTRIES));
        }
        hdrTable = c.pos;
        hdrCount = count;
        hdrEncoding = tableEncoding;
        hdrEntrySize = entrySize;
        hdrFdes = new CfiFde[(int) count]; // count * 2 * entrySize bytes fit in the section
    }

    /**
     * The table of a file's {@code .eh_frame}, searched through {@code .eh_frame_hdr}'s binary
     * search table where the file has one, else through an index built by one scan.
     *
     * @param file the file
     * @return the table, or null if the file has no {@code .eh_frame}
     * @throws ElfException if the sections are malformed (the header's version, its table's size)
     */
    public static CfiTable ehFrame(ElfFile file) throws ElfException {
        ElfFile.SectionHeader section = file.section(".eh_frame");
        return section == null ? null : new CfiTable(file, section, true, file.section(".eh_frame_hdr"));
    }

    /**
     * The table of a file's {@code .eh_frame}, searched through an index built by one scan of it,
     * whether or not the file has an {@code .eh_frame_hdr}.
     *
     * @param file the file
     * @return the table, or null if the file has no {@code .eh_frame}
     * @throws ElfException if the section is malformed
     */
    public static CfiTable ehFrameWithoutHeader(ElfFile file) throws ElfException {
        ElfFile.SectionHeader section = file.section(".eh_frame");
        return section == null ? null : new CfiTable(file, section, true, null);
    }

    /**
     * The table of a file's {@code .debug_frame} (of a linked file: an executable, a shared object
     * or a separate debug file), searched through an index built by one scan of it.
     *
     * @param file the file
     * @return the table, or null if the file has no {@code .debug_frame}
     * @throws ElfException if the section is malformed
     */
    public static CfiTable debugFrame(ElfFile file) throws ElfException {
        ElfFile.SectionHeader section = file.section(".debug_frame");
        return section == null ? null : new CfiTable(file, section, false, null);
    }

    /**
     * The section's bytes, which the offsets of instructions and expressions index.
     *
     * @return the bytes of {@code .eh_frame} or {@code .debug_frame}
     */
    public MemorySegment section() {
        return bytes;
    }

    /** An exception about this table's file, its message starting with the file's and section's names. */
    ElfException bad(String problem) {
        return file.bad(sectionName + ": " + problem);
    }

    /** The byte order of the file. */
    ByteOrder byteOrder() {
        return file.byteOrder();
    }

    /**
     * Whether FDEs are found through {@code .eh_frame_hdr}'s binary search table.
     *
     * @return whether the table has a usable header table
     */
    public boolean hasHeaderTable() {
        return hdrEncoding != PE_OMIT;
    }

    /**
     * The FDE that covers {@code pc}.
     *
     * @param pc a link-time address
     * @return the FDE, or null if none covers it
     * @throws ElfException if the entries on the way are malformed
     */
    public CfiFde find(long pc) throws ElfException {
        if (hasHeaderTable()) {
            return findInHeader(pc);
        }
        Index idx = index();
        int i = floor(idx.begins, pc);
        return i >= 0 && Long.compareUnsigned(pc, idx.ends[i]) < 0 ? idx.fdes[i] : null;
    }

    /**
     * Every FDE of the section, in section order (a scan of the whole section, its result kept).
     *
     * @return the FDEs, those of an empty range included
     * @throws ElfException if an entry is malformed
     */
    public List<CfiFde> fdes() throws ElfException {
        List<CfiFde> fdes = all;
        if (fdes == null) {
            fdes = List.of(scan(true).fdes);
            all = fdes;
        }
        return fdes;
    }

    private CfiFde findInHeader(long pc) throws ElfException {
        long low = 0;
        long high = hdrCount - 1;
        long found = -1;
        while (low <= high) {
            long mid = (low + high) >>> 1;
            if (Long.compareUnsigned(hdrEntry(mid, 0), pc) <= 0) {
                found = mid;
                low = mid + 1;
            } else {
                high = mid - 1;
            }
        }
        if (found < 0) {
            return null;
        }
        CfiFde fde = found < hdrFdes.length ? hdrFdes[(int) found] : null;
        if (fde == null) {
            long fdeAddress = hdrEntry(found, hdrEntrySize);
            long offset = fdeAddress - address;
            if (Long.compareUnsigned(offset, size) >= 0) {
                throw file.bad(String.format(".eh_frame_hdr: table entry %d points at 0x%x, outside .eh_frame [0x%x, 0x%x)",
                        found, fdeAddress, address, address + size));
            }
            fde = fdeAt(offset);
            if (fde == null) {
                throw file.bad(String.format(".eh_frame_hdr: table entry %d points at 0x%x, which is not an FDE", found, fdeAddress));
            }
            if (found < hdrFdes.length) {
                hdrFdes[(int) found] = fde; // a race stores equal FDEs; records publish their fields safely
            }
        }
        return fde.covers(pc) ? fde : null;
    }

    /** A field of the header table's entry {@code index}: its pc at {@code field} 0, its FDE's address after it. */
    private long hdrEntry(long index, int field) {
        long at = hdrTable + index * 2 * hdrEntrySize + field;
        long value = switch (hdrEncoding & 0x0f) {
            case 0x02 -> Short.toUnsignedLong(hdr.get(u16, at));
            case 0x03 -> Integer.toUnsignedLong(hdr.get(u32, at));
            case 0x0a -> hdr.get(u16, at);
            case 0x0b -> hdr.get(u32, at);
            default -> hdr.get(u64, at);
        };
        return (hdrEncoding & 0x70) == 0x30 ? value + hdrAddress : value;
    }

    /** The index of the last element of {@code sorted} at or below {@code key} (unsigned), or -1. */
    private static int floor(long[] sorted, long key) {
        int low = 0;
        int high = sorted.length - 1;
        int found = -1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            if (Long.compareUnsigned(sorted[mid], key) <= 0) {
                found = mid;
                low = mid + 1;
            } else {
                high = mid - 1;
            }
        }
        return found;
    }

    private Index index() throws ElfException {
        Index idx = index;
        if (idx == null) {
            idx = scan(false);
            index = idx;
        }
        return idx;
    }

    /** Reads every entry; with {@code all}, every FDE in section order, else those of a non-empty range, sorted. */
    private Index scan(boolean all) throws ElfException {
        List<CfiFde> fdes = new ArrayList<>();
        long pos = 0;
        while (size - pos >= 4) {
            long start = pos;
            Cursor c = new Cursor(this, bytes, address, pos, size, sectionName);
            long length = Integer.toUnsignedLong(c.u32());
            if (length == 0) {
                pos += 4;
                continue;
            }
            entryBounds(c, start, length);
            pos = c.end;
            CfiFde fde = fdeAt(start);
            if (fde != null && (all || fde.pcEnd() != fde.pcBegin())) {
                fdes.add(fde);
            }
        }
        CfiFde[] array = fdes.toArray(new CfiFde[0]);
        if (!all) {
            Arrays.sort(array, (a, b) -> Long.compareUnsigned(a.pcBegin(), b.pcBegin()));
        }
        long[] begins = new long[array.length];
        long[] ends = new long[array.length];
        for (int i = 0; i < array.length; i++) {
            begins[i] = array[i].pcBegin();
            ends[i] = array[i].pcEnd();
        }
        return new Index(begins, ends, array);
    }

    /**
     * Sets {@code c.end} to the end of the entry at {@code start} whose 32-bit length field (just
     * read) is {@code length}, reading the 64-bit length where it is 0xffffffff; returns the offset size.
     */
    private int entryBounds(Cursor c, long start, long length) throws ElfException {
        int offsetSize = 4;
        if (length == 0xffff_ffffL) {
            length = c.u64();
            offsetSize = 8;
        }
        long room = size - c.pos;
        if (Long.compareUnsigned(length, room) > 0) {
            throw file.bad(String.format("%s: entry at offset 0x%x claims 0x%s bytes, past the end of the section (0x%x bytes)",
                    sectionName, start, Long.toUnsignedString(length, 16), size));
        }
        c.end = c.pos + length;
        return offsetSize;
    }

    /** The FDE at {@code offset}, or null if the entry there is a CIE or a zero terminator. */
    private CfiFde fdeAt(long offset) throws ElfException {
        Cursor c = new Cursor(this, bytes, address, offset, size, sectionName);
        long length = Integer.toUnsignedLong(c.u32());
        if (length == 0) {
            return null;
        }
        int offsetSize = entryBounds(c, offset, length);
        long idField = c.pos;
        long id = offsetSize == 4 ? Integer.toUnsignedLong(c.u32()) : c.u64();
        long cieOffset;
        if (eh) {
            if (id == 0) {
                return null;
            }
            cieOffset = idField - id;
        } else {
            if (offsetSize == 4 ? id == DEBUG_FRAME_CIE_ID_32 : id == -1L) {
                return null;
            }
            cieOffset = id;
        }
        if (Long.compareUnsigned(cieOffset, size) >= 0 || cieOffset == offset) {
            throw file.bad(String.format("%s: FDE at offset 0x%x points at a CIE at offset 0x%x, outside the section (0x%x bytes)",
                    sectionName, offset, cieOffset, size));
        }
        CfiCie cie = cie(cieOffset, offset);
        if (cie.segmentSize() > 0) {
            c.skip(cie.segmentSize());
        }
        int encoding = cie.fdeEncoding();
        if (encoding == PE_OMIT) {
            throw file.bad(String.format("%s: FDE at offset 0x%x: its CIE's address encoding is DW_EH_PE_omit",
                    sectionName, offset));
        }
        if ((encoding & PE_INDIRECT) != 0) {
            throw file.bad(String.format("%s: FDE at offset 0x%x: its CIE's address encoding 0x%x is indirect",
                    sectionName, offset, encoding));
        }
        long begin = readEncoded(c, encoding, NO_BASE, NO_BASE, cie.addressSize());
        long range = readEncoded(c, encoding & 0x0f, NO_BASE, NO_BASE, cie.addressSize());
        if (cie.augmentation().startsWith("z")) {
            long augmentationLength = c.uleb();
            c.skip(augmentationLength);
        }
        return new CfiFde(offset, cie, begin, begin + range, c.pos, c.end - c.pos);
    }

    /** The CIE at {@code offset}, read once. */
    private CfiCie cie(long offset, long fdeOffset) throws ElfException {
        synchronized (cies) {
            CfiCie cie = cies.get(offset);
            if (cie == null) {
                cie = readCie(offset, fdeOffset);
                cies.put(offset, cie);
            }
            return cie;
        }
    }

    private CfiCie readCie(long offset, long fdeOffset) throws ElfException {
        Cursor c = new Cursor(this, bytes, address, offset, size, sectionName);
        long length = Integer.toUnsignedLong(c.u32());
        String where = String.format("%s: CIE at offset 0x%x (of the FDE at offset 0x%x)", sectionName, offset, fdeOffset);
        if (length == 0) {
            throw file.bad(where + " is a zero terminator");
        }
        int offsetSize = entryBounds(c, offset, length);
        long id = offsetSize == 4 ? Integer.toUnsignedLong(c.u32()) : c.u64();
        boolean isCie = eh ? id == 0 : offsetSize == 4 ? id == DEBUG_FRAME_CIE_ID_32 : id == -1L;
        if (!isCie) {
            throw file.bad(where + " is not a CIE");
        }
        int version = c.u8();
        if (version != 1 && version != 3 && version != 4) {
            throw file.bad(where + ": version " + version + " (expected: 1, 3 or 4)");
        }
        StringBuilder text = new StringBuilder();
        for (int b = c.u8(); b != 0; b = c.u8()) {
            if (text.length() == MAX_AUGMENTATION) {
                throw file.bad(where + ": augmentation string longer than " + MAX_AUGMENTATION + " bytes");
            }
            text.append((char) (b & 0xff));
        }
        String augmentation = text.toString();
        int addressSize = 8;
        int segmentSize = 0;
        if (augmentation.contains("eh")) {
            c.skip(addressSize); // old GCC: the address of the exception table
        }
        if (version == 4) {
            addressSize = c.u8();
            segmentSize = c.u8();
            if (addressSize != 4 && addressSize != 8 || segmentSize > 8) {
                throw file.bad(where + ": address size " + addressSize + ", segment size " + segmentSize
                        + " (expected: 4 or 8, and at most 8)");
            }
        }
        long codeAlignment = c.uleb();
        long dataAlignment = c.sleb();
        long returnAddress = version == 1 ? c.u8() : c.uleb();
        if (Long.compareUnsigned(returnAddress, 0xffff) > 0) {
            throw file.bad(where + ": return address register " + Long.toUnsignedString(returnAddress) + " (expected: at most 65535)");
        }
        int fdeEncoding = 0;
        int lsdaEncoding = PE_OMIT;
        boolean signalFrame = false;
        boolean bKey = false;
        if (augmentation.startsWith("z")) {
            long dataLength = c.uleb();
            long dataEnd = c.pos + dataLength;
            if (Long.compareUnsigned(dataLength, c.end - c.pos) > 0) {
                throw file.bad(String.format("%s: augmentation data of 0x%s bytes past the end of the entry",
                        where, Long.toUnsignedString(dataLength, 16)));
            }
            long entryEnd = c.end;
            c.end = dataEnd;
            for (int i = 1; i < augmentation.length(); i++) {
                char letter = augmentation.charAt(i);
                switch (letter) {
                    case 'R' -> fdeEncoding = checkEncoding(c.u8(), where);
                    case 'L' -> lsdaEncoding = checkEncoding(c.u8(), where);
                    case 'P' -> {
                        int personalityEncoding = checkEncoding(c.u8(), where);
                        readEncoded(c, personalityEncoding & ~PE_INDIRECT, NO_BASE, NO_BASE, addressSize);
                    }
                    case 'S' -> signalFrame = true;
                    case 'B' -> bKey = true;
                    case 'G' -> { } // aarch64 memory tagging: nothing to read
                    default -> i = augmentation.length(); // unknown: the rest of the data is skipped
                }
            }
            c.pos = dataEnd;
            c.end = entryEnd;
        } else if (!augmentation.isEmpty() && !augmentation.equals("eh")) {
            throw file.bad(where + ": augmentation \"" + printable(augmentation)
                    + "\" without 'z' (expected: \"\", \"eh\" or one starting with 'z')");
        }
        return new CfiCie(offset, version, augmentation, codeAlignment, dataAlignment, (int) returnAddress, fdeEncoding,
                lsdaEncoding, signalFrame, bKey, addressSize, segmentSize, c.pos, c.end - c.pos);
    }

    /** The text with every byte outside printable ASCII as {@code \xNN}, for messages. */
    private static String printable(String text) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '"') {
                out.append(ch);
            } else {
                out.append(String.format("\\x%02x", (int) ch));
            }
        }
        return out.toString();
    }

    private int checkEncoding(int encoding, String where) throws ElfException {
        if (encoding != PE_OMIT && (sizeOf(encoding & 0x0f) < 0 || (encoding & 0x70) > 0x50)) {
            throw file.bad(String.format("%s: pointer encoding 0x%x is not a DW_EH_PE_* encoding", where, encoding));
        }
        return encoding;
    }

    /** The size of a fixed-size format, 0 for LEB128, -1 for none. */
    private static int sizeOf(int format) {
        return switch (format) {
            case 0x00 -> 8;
            case 0x01, 0x09 -> 0;
            case 0x02, 0x0a -> 2;
            case 0x03, 0x0b -> 4;
            case 0x04, 0x0c -> 8;
            default -> -1;
        };
    }

    /** The size of an entry of a header table encoded so, or 0 if it cannot be searched. */
    private static int fixedSize(int encoding) {
        if (encoding == PE_OMIT || (encoding & PE_INDIRECT) != 0) {
            return 0;
        }
        int format = encoding & 0x0f;
        return format == 0 ? 0 : Math.max(sizeOf(format), 0);
    }

    private long readEncoded(Cursor c, int encoding, long dataBase, long functionBase) throws ElfException {
        return readEncoded(c, encoding, dataBase, functionBase, 8);
    }

    /** Reads a {@code DW_EH_PE_*} encoded pointer; the indirect bit is left to the caller. */
    private long readEncoded(Cursor c, int encoding, long dataBase, long functionBase, int addressSize)
            throws ElfException {
        if (encoding == PE_OMIT) {
            throw file.bad(String.format("%s: offset 0x%x: a pointer with encoding DW_EH_PE_omit where one is needed",
                    c.what, c.pos));
        }
        int application = encoding & 0x70;
        if (application == 0x50) {
            long misalignment = Long.remainderUnsigned(c.base + c.pos, addressSize);
            if (misalignment != 0) {
                c.skip(addressSize - misalignment);
            }
        }
        long fieldAddress = c.base + c.pos;
        long value = switch (encoding & 0x0f) {
            case 0x00 -> addressSize == 4 ? Integer.toUnsignedLong(c.u32()) : c.u64();
            case 0x01 -> c.uleb();
            case 0x02 -> c.u16();
            case 0x03 -> Integer.toUnsignedLong(c.u32());
            case 0x04, 0x0c -> c.u64();
            case 0x09 -> c.sleb();
            case 0x0a -> (short) c.u16();
            case 0x0b -> (long) c.u32();
            default -> throw file.bad(String.format("%s: offset 0x%x: pointer encoding 0x%x has no such format",
                    c.what, fieldAddress - c.base, encoding));
        };
        long base = switch (application) {
            case 0x00, 0x50 -> 0;
            case 0x10 -> fieldAddress;
            case 0x30 -> dataBase;
            case 0x40 -> functionBase;
            default -> NO_BASE;
        };
        if (base == NO_BASE) {
            throw file.bad(String.format("%s: offset 0x%x: pointer encoding 0x%x is not supported here",
                    c.what, fieldAddress - c.base, encoding));
        }
        return value + base;
    }

    /**
     * Computes the row of rules that holds at {@code pc}: runs the CIE's initial instructions, then
     * the FDE's up to the last advance at or below {@code pc}. Allocates nothing.
     *
     * @param fde an FDE of this table, such as {@link #find(long)} returns
     * @param pc a link-time address, normally one that {@code fde} covers
     * @param row the row to fill; its previous contents are discarded
     * @throws ElfException if an instruction is unknown or truncated, an expression runs past its
     *     entry, or remembered states are restored without being remembered or nested too deep
     */
    public void row(CfiFde fde, long pc, CfiRow row) throws ElfException {
        CfiCie cie = fde.cie();
        row.clear(fde.pcBegin());
        Cursor c = row.cursor().reset(this, bytes, address, cie.instructionsOffset(),
                cie.instructionsOffset() + cie.instructionsLength(), sectionName);
        run(c, fde, -1L, row, true);
        row.keepInitial();
        row.location(fde.pcBegin());
        c.pos = fde.instructionsOffset();
        c.end = fde.instructionsOffset() + fde.instructionsLength();
        run(c, fde, pc, row, false);
    }

    private void run(Cursor c, CfiFde fde, long pc, CfiRow row, boolean initial) throws ElfException {
        CfiCie cie = fde.cie();
        long caf = cie.codeAlignment();
        long daf = cie.dataAlignment();
        while (c.pos < c.end) {
            long at = c.pos;
            int op = c.u8();
            long next = Long.MIN_VALUE;
            boolean advance = op >>> 6 == 1;
            switch (op >>> 6) {
                case 1 -> next = row.location() + (op & 0x3f) * caf;
                case 2 -> row.set(op & 0x3f, CfiRule.OFFSET, c.uleb() * daf, 0);
                case 3 -> row.restore(op & 0x3f);
                default -> {
                    advance = false;
                    switch (op) {
                        case 0x00 -> { } // nop
                        case 0x01 -> {
                            next = readEncoded(c, cie.fdeEncoding() & ~PE_INDIRECT, NO_BASE, fde.pcBegin(), cie.addressSize());
                            advance = true;
                        }
                        case 0x02 -> {
                            next = row.location() + c.u8() * caf;
                            advance = true;
                        }
                        case 0x03 -> {
                            next = row.location() + c.u16() * caf;
                            advance = true;
                        }
                        case 0x04 -> {
                            next = row.location() + Integer.toUnsignedLong(c.u32()) * caf;
                            advance = true;
                        }
                        case 0x05 -> row.set(register(c, at), CfiRule.OFFSET, c.uleb() * daf, 0);
                        case 0x06 -> row.restore(register(c, at));
                        case 0x07 -> row.set(register(c, at), CfiRule.UNDEFINED, 0, 0);
                        case 0x08 -> row.set(register(c, at), CfiRule.SAME_VALUE, 0, 0);
                        case 0x09 -> row.set(register(c, at), CfiRule.REGISTER, register(c, at), 0);
                        case 0x0a -> {
                            if (!row.remember()) {
                                throw bad(at, "DW_CFA_remember_state nested deeper than " + CfiRow.MAX_REMEMBERED_STATES);
                            }
                        }
                        case 0x0b -> {
                            if (!row.restoreState()) {
                                throw bad(at, "DW_CFA_restore_state without DW_CFA_remember_state");
                            }
                        }
                        case 0x0c -> row.cfa(register(c, at), c.uleb());
                        case 0x0d -> row.cfa(register(c, at), row.cfaOffset());
                        case 0x0e -> row.cfaOffset(c.uleb());
                        case 0x0f -> {
                            long length = block(c, at);
                            row.cfaExpression(c.pos, length);
                            c.pos += length;
                        }
                        case 0x10, 0x16 -> {
                            int register = register(c, at);
                            long length = block(c, at);
                            row.set(register, op == 0x10 ? CfiRule.EXPRESSION : CfiRule.VAL_EXPRESSION, c.pos, length);
                            c.pos += length;
                        }
                        case 0x11 -> row.set(register(c, at), CfiRule.OFFSET, c.sleb() * daf, 0);
                        case 0x12 -> row.cfa(register(c, at), c.sleb() * daf);
                        case 0x13 -> row.cfaOffset(c.sleb() * daf);
                        case 0x14 -> row.set(register(c, at), CfiRule.VAL_OFFSET, c.uleb() * daf, 0);
                        case 0x15 -> row.set(register(c, at), CfiRule.VAL_OFFSET, c.sleb() * daf, 0);
                        case 0x2d -> row.negateRaState();
                        case 0x2e -> row.argsSize(c.uleb());
                        case 0x2f -> row.set(register(c, at), CfiRule.OFFSET, -c.uleb() * daf, 0);
                        default -> throw bad(at, String.format("unknown call-frame instruction 0x%02x", op));
                    }
                }
            }
            if (advance && !initial) {
                if (Long.compareUnsigned(next, pc) > 0) {
                    return;
                }
                row.location(next);
            }
        }
    }

    private int register(Cursor c, long at) throws ElfException {
        long register = c.uleb();
        if (Long.compareUnsigned(register, 0xffff) > 0) {
            throw bad(at, "register " + Long.toUnsignedString(register) + " (expected: at most 65535)");
        }
        return (int) register;
    }

    private long block(Cursor c, long at) throws ElfException {
        long length = c.uleb();
        if (Long.compareUnsigned(length, c.end - c.pos) > 0) {
            throw bad(at, String.format("an expression of 0x%s bytes runs past the end of its entry (0x%x bytes left)",
                    Long.toUnsignedString(length, 16), c.end - c.pos));
        }
        return length;
    }

    private ElfException bad(long at, String problem) {
        return file.bad(String.format("%s: instruction at offset 0x%x: %s", sectionName, at, problem));
    }

    /** A position in a range of a section; reads fail with an {@link ElfException} past {@code end}. */
    static final class Cursor {
        private ElfFile file;
        private ValueLayout.OfShort u16;
        private ValueLayout.OfInt u32;
        private ValueLayout.OfLong u64;
        MemorySegment segment;
        long base;
        String what;
        long pos;
        long end;

        Cursor() {}

        private Cursor(CfiTable table, MemorySegment segment, long base, long pos, long end, String what) {
            reset(table, segment, base, pos, end, what);
        }

        /** Points the cursor at a range of a section of {@code table}'s file. */
        Cursor reset(CfiTable table, MemorySegment segment, long base, long pos, long end, String what) {
            this.file = table.file;
            this.u16 = table.u16;
            this.u32 = table.u32;
            this.u64 = table.u64;
            this.segment = segment;
            this.base = base;
            this.pos = pos;
            this.end = end;
            this.what = what;
            return this;
        }

        private void need(long count) throws ElfException {
            if (Long.compareUnsigned(count, end - pos) > 0 || pos < 0) {
                throw file.bad(String.format("%s: offset 0x%x: truncated: %d bytes needed, %d left in the entry", what, pos,
                        count, Math.max(end - pos, 0)));
            }
        }

        void skip(long count) throws ElfException {
            need(count);
            pos += count;
        }

        int u8() throws ElfException {
            need(1);
            return segment.get(ValueLayout.JAVA_BYTE, pos++) & 0xff;
        }

        int u16() throws ElfException {
            need(2);
            int value = Short.toUnsignedInt(segment.get(u16, pos));
            pos += 2;
            return value;
        }

        int u32() throws ElfException {
            need(4);
            int value = segment.get(u32, pos);
            pos += 4;
            return value;
        }

        long u64() throws ElfException {
            need(8);
            long value = segment.get(u64, pos);
            pos += 8;
            return value;
        }

        long uleb() throws ElfException {
            return leb(false);
        }

        long sleb() throws ElfException {
            return leb(true);
        }

        /** A LEB128: bits past the 64th are dropped; a signed one is sign-extended from its last byte. */
        private long leb(boolean signed) throws ElfException {
            long value = 0;
            int shift = 0;
            int b;
            do {
                b = u8();
                if (shift < 64) {
                    value |= (long) (b & 0x7f) << shift;
                }
                shift += 7;
            } while ((b & 0x80) != 0);
            if (signed && shift < 64 && (b & 0x40) != 0) {
                value |= -1L << shift;
            }
            return value;
        }
    }
}
