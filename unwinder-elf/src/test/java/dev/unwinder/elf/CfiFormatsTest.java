package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.CfiBytes.Section;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What compilers on this machine do not emit but the formats allow, in hand-made sections: 64-bit
 * DWARF and version 4 CIEs in {@code .debug_frame}, every pointer encoding of an FDE's address, the
 * augmentations {@code zPLR}, {@code S}, {@code B}, an unknown letter after {@code z}, and old
 * GCC's {@code eh}; every {@code DW_CFA_*} instruction with the row it makes; the header table's
 * search; and the exact message of each kind of lie.
 */
final class CfiFormatsTest {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int EM_AARCH64 = 183;
    private static final int EM_X86_64 = 62;
    private static final long EH_FRAME = 0x2000;
    private static final long EH_FRAME_HDR = 0x1800;

    /** Starts an entry: a 32-bit length to patch with {@link #end}. */
    private static int begin(CfiBytes b) {
        int start = b.size();
        b.u32(0);
        return start;
    }

    private static void end(CfiBytes b, int start) {
        b.put32(start, b.size() - start - 4);
    }

    /** A .eh_frame CIE at the writer's position: version 1, "zR" with {@code encoding}, x86_64's factors. */
    private static int zrCie(CfiBytes b, int encoding) {
        int start = begin(b);
        b.u32(0).u8(1).text("zR").uleb(1).sleb(-8).u8(16).uleb(1).u8(encoding);
        b.u8(0x0c, 7, 8).u8(0x80 | 16, 1); // def_cfa rsp+8; ra at cfa-8
        end(b, start);
        return start;
    }

    @Test
    void everyInstructionInA64BitVersion4DebugFrame() throws Exception {
        CfiBytes b = new CfiBytes(LE);
        b.u32(0xffff_ffffL).u64(0); // 64-bit length, patched below
        b.u64(-1L).u8(4).text("").u8(8, 0).uleb(4).sleb(-8).uleb(30);
        b.u8(0x0c, 31, 0); // def_cfa sp+0
        byte[] cie = b.toByteArray();
        java.nio.ByteBuffer.wrap(cie).order(LE).putLong(4, cie.length - 12);
        b = new CfiBytes(LE).bytes(cie);
        int fdeStart = b.size();
        b.u32(0xffff_ffffL).u64(0).u64(0).u64(0x1000).u64(0x100);
        b.u8(0x41, 0x2d, 0x0e, 16, 0x80 | 29, 2, 0x80 | 30, 1);                  // 0x1004
        b.u8(0x02, 4, 0x0a, 0x0d, 29, 0x14, 19, 2, 0x09, 20, 21, 0x07, 22, 0x08, 23); // 0x1014
        b.u8(0x03).u16(4).u8(0x0b, 0xc0 | 29, 0x2d, 0x2e, 32);                  // 0x1024
        b.u8(0x04).u32(4).u8(0x12, 31).sleb(-4).u8(0x13).sleb(-6).u8(0x11, 19).sleb(3);
        b.u8(0x15, 20).sleb(-1).u8(0x2f, 21, 2, 0x05, 22, 3, 0x06, 29);         // 0x1034
        b.u8(0x41, 0x0f, 2);
        int cfaExpression = b.size();
        b.u8(0x8f, 0x00, 0x10, 19, 1);
        int expression = b.size();
        b.u8(0x30, 0x16, 20, 1);
        int valExpression = b.size();
        b.u8(0x31, 0x00, 0x00);                                                 // 0x1038, then two nops
        byte[] bytes = b.toByteArray();
        java.nio.ByteBuffer.wrap(bytes).order(LE).putLong(fdeStart + 4, bytes.length - fdeStart - 12);
        ElfFile elf = CfiBytes.elf("hand.so", LE, EM_AARCH64, List.of(new Section(".debug_frame", 0, bytes)));
        CfiTable table = CfiTable.debugFrame(elf);
        CfiFde fde = table.find(0x10ff);
        assertEquals(new CfiCie(0, 4, "", 4, -8, 30, 0, 0xff, false, false, 8, 0, 27, 3), fde.cie());
        assertEquals(List.of(fde), table.fdes());
        assertEquals(0x1000, fde.pcBegin());
        assertEquals(0x1100, fde.pcEnd());
        assertNull(table.find(0x1100));
        assertNull(table.find(0xfff));
        CfiRow row = new CfiRow(32);

        table.row(fde, 0x1003, row);
        assertEquals("0x1000 sp+0 ra=false args=0 []", text(row));
        table.row(fde, 0x1004, row);
        assertEquals("0x1004 sp+16 ra=true args=0 [29:OFFSET(-16) 30:OFFSET(-8)]", text(row));
        table.row(fde, 0x1014, row);
        assertEquals("0x1014 r29+16 ra=true args=0 [19:VAL_OFFSET(-16) 20:REGISTER(21) 22:UNDEFINED(0) 23:SAME_VALUE(0)"
                + " 29:OFFSET(-16) 30:OFFSET(-8)]", text(row));
        table.row(fde, 0x1033, row);
        assertEquals("0x1024 sp+16 ra=false args=32 [30:OFFSET(-8)]", text(row));
        table.row(fde, 0x1034, row);
        assertEquals("0x1034 sp+48 ra=false args=32 [19:OFFSET(-24) 20:VAL_OFFSET(8) 21:OFFSET(16) 22:OFFSET(-24)"
                + " 30:OFFSET(-8)]", text(row));
        table.row(fde, 0x10ff, row);
        assertEquals("0x1038 exp(" + cfaExpression + ",2) ra=false args=32 [19:EXPRESSION(" + expression + ") 20:VAL_EXPRESSION("
                + valExpression + ") 21:OFFSET(16) 22:OFFSET(-24) 30:OFFSET(-8)]", text(row));
        assertEquals(1, row.expressionLength(19));
        assertEquals(1, row.expressionLength(20));
        assertEquals(0x31, table.section().get(java.lang.foreign.ValueLayout.JAVA_BYTE, row.operand(20)));
    }

    /** A row in a line: location, CFA, ra state, args size, and the registers with a rule. */
    private static String text(CfiRow row) {
        List<String> rules = new ArrayList<>();
        for (int r = 0; r < row.registerCount(); r++) {
            if (row.rule(r) != CfiRule.UNSPECIFIED) {
                rules.add(r + ":" + row.rule(r) + "(" + row.operand(r) + ")");
            }
        }
        String cfa = row.cfaIsExpression() ? "exp(" + row.cfaExpressionOffset() + "," + row.cfaExpressionLength() + ")"
                : (row.cfaRegister() == 31 ? "sp" : "r" + row.cfaRegister()) + "+" + row.cfaOffset();
        return String.format("0x%x %s ra=%b args=%d %s", row.location(), cfa, row.raSigned(), row.argsSize(),
                "[" + String.join(" ", rules) + "]");
    }

    @Test
    void everyPointerEncodingOfAnFdeAddress() throws Exception {
        int[] encodings = {0x00, 0x01, 0x02, 0x03, 0x04, 0x09, 0x0a, 0x0b, 0x0c, 0x10, 0x12, 0x13, 0x1b, 0x1c, 0x50, 0x5b};
        for (ByteOrder order : List.of(LE, ByteOrder.BIG_ENDIAN)) {
            for (int encoding : encodings) {
                CfiBytes b = new CfiBytes(order);
                int cie = zrCie(b, encoding);
                long pc = 0x3230; // above the section: pc-relative unsigned formats reach it
                int start = begin(b);
                b.u32(b.size() - cie);
                long field = EH_FRAME + b.size();
                if ((encoding & 0x70) == 0x50) {
                    while ((EH_FRAME + b.size()) % 8 != 0) {
                        b.u8(0);
                    }
                }
                long value = (encoding & 0x70) == 0x10 ? pc - field : pc;
                switch (encoding & 0x0f) {
                    case 0x00, 0x04, 0x0c -> b.u64(value).u64(0x10);
                    case 0x01 -> b.uleb(value).uleb(0x10);
                    case 0x09 -> b.sleb(value).sleb(0x10);
                    case 0x02, 0x0a -> b.u16(value).u16(0x10);
                    default -> b.u32(value).u32(0x10);
                }
                b.uleb(0).u8(0x41, 0x0e, 16);
                end(b, start);
                ElfFile elf = CfiBytes.elf("enc.so", order, EM_X86_64, List.of(new Section(".eh_frame", EH_FRAME, b.toByteArray())));
                CfiTable table = CfiTable.ehFrame(elf);
                String what = String.format("encoding 0x%x, %s", encoding, order);
                CfiFde fde = table.find(0x323f);
                assertTrue(fde != null, what + ": " + table.fdes());
                assertEquals(pc, fde.pcBegin(), what);
                assertEquals(pc + 0x10, fde.pcEnd(), what);
                assertNull(table.find(0x3240), what);
                CfiRow row = new CfiRow(17);
                table.row(fde, 0x3231, row);
                assertEquals(16, row.cfaOffset(), what);
                assertEquals(CfiRule.OFFSET, row.rule(16), what);
            }
        }
    }

    @Test
    void augmentations() throws Exception {
        CfiBytes b = new CfiBytes(LE);
        List<int[]> fdeOf = new ArrayList<>();
        // zPLR, version 1: an indirect pc-relative personality, an LSDA pointer in each FDE.
        int c1 = begin(b);
        b.u32(0).u8(1).text("zPLR").uleb(1).sleb(-8).u8(16).uleb(7).u8(0x9b).u32(0x100).u8(0x1b, 0x1b).u8(0x0c, 7, 8);
        end(b, c1);
        // zRS, version 3: a signal frame, a return-address column past 255 is a ULEB.
        int c2 = begin(b);
        b.u32(0).u8(3).text("zRS").uleb(1).sleb(-8).uleb(300).uleb(1).u8(0x1b).u8(0x0c, 7, 8);
        end(b, c2);
        // zRB: aarch64's B key. zRX: an unknown letter; the rest of the data is skipped.
        int c3 = begin(b);
        b.u32(0).u8(1).text("zRB").uleb(4).sleb(-8).u8(30).uleb(1).u8(0x1b).u8(0x0c, 31, 0);
        end(b, c3);
        int c4 = begin(b);
        b.u32(0).u8(1).text("zRX").uleb(4).sleb(-8).u8(30).uleb(3).u8(0x1b, 0xee, 0xee).u8(0x0c, 31, 0);
        end(b, c4);
        // eh, old GCC: the address of an exception table before the factors, no 'z'.
        int c5 = begin(b);
        b.u32(0).u8(1).text("eh").u64(0xdead).uleb(1).sleb(-8).u8(16).u8(0x0c, 7, 8);
        end(b, c5);
        int[] cies = {c1, c2, c3, c4, c5};
        for (int i = 0; i < cies.length; i++) {
            int start = begin(b);
            b.u32(b.size() - cies[i]);
            long pc = 0x1000 + 0x100L * i;
            if (i == 4) {
                b.u64(pc).u64(0x10); // absolute, no augmentation data
            } else {
                b.u32(pc - (EH_FRAME + b.size())).u32(0x10);
                if (i == 0) {
                    b.uleb(4).u32(0x40);
                } else {
                    b.uleb(0);
                }
            }
            b.u8(0x41, 0x0e, 24);
            end(b, start);
            fdeOf.add(new int[] {start});
        }
        ElfFile elf = CfiBytes.elf("aug.so", LE, EM_X86_64, List.of(new Section(".eh_frame", EH_FRAME, b.toByteArray())));
        CfiTable table = CfiTable.ehFrame(elf);
        List<String> seen = new ArrayList<>();
        CfiRow row = new CfiRow(17);
        for (int i = 0; i < cies.length; i++) {
            CfiFde fde = table.find(0x1000 + 0x100L * i + 1);
            CfiCie cie = fde.cie();
            assertEquals(fdeOf.get(i)[0], fde.offset());
            seen.add(String.join(" ", cie.augmentation(), "v" + cie.version(), "ra=" + cie.returnAddressRegister(),
                    "caf=" + cie.codeAlignment(), "fde=" + Integer.toHexString(cie.fdeEncoding()),
                    "lsda=" + Integer.toHexString(cie.lsdaEncoding()), "S=" + cie.signalFrame(), "B=" + cie.bKey()));
            table.row(fde, fde.pcBegin() + cie.codeAlignment(), row);
            assertEquals(24, row.cfaOffset(), cie.augmentation());
        }
        assertEquals(List.of(
                "zPLR v1 ra=16 caf=1 fde=1b lsda=1b S=false B=false",
                "zRS v3 ra=300 caf=1 fde=1b lsda=ff S=true B=false",
                "zRB v1 ra=30 caf=4 fde=1b lsda=ff S=false B=true",
                "zRX v1 ra=30 caf=4 fde=1b lsda=ff S=false B=false",
                "eh v1 ra=16 caf=1 fde=0 lsda=ff S=false B=false"), seen);
    }

    /** An .eh_frame of {@code count} FDEs of 0x10 bytes each, 0x20 apart from 0x1000, and its header. */
    private static List<Section> withHeader(int count, int version, long tableShift) {
        CfiBytes frame = new CfiBytes(LE);
        int cie = zrCie(frame, 0x1b);
        List<long[]> entries = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int start = begin(frame);
            frame.u32(frame.size() - cie);
            long pc = 0x1000 + 0x20L * i;
            frame.u32(pc - (EH_FRAME + frame.size())).u32(0x10).uleb(0).u8(0x41, 0x0e, 8 + i);
            end(frame, start);
            entries.add(new long[] {pc, EH_FRAME + start});
        }
        CfiBytes hdr = new CfiBytes(LE);
        hdr.u8(version, 0x1b, 0x03, 0x3b).u32(EH_FRAME - (EH_FRAME_HDR + 4)).u32(count);
        for (long[] entry : entries) {
            hdr.u32(entry[0] - EH_FRAME_HDR).u32(entry[1] + tableShift - EH_FRAME_HDR);
        }
        return List.of(new Section(".eh_frame_hdr", EH_FRAME_HDR, hdr.toByteArray()),
                new Section(".eh_frame", EH_FRAME, frame.toByteArray()));
    }

    @Test
    void theHeaderTableFindsWhatTheScanFinds() throws Exception {
        ElfFile elf = CfiBytes.elf("hdr.so", LE, EM_X86_64, withHeader(37, 1, 0));
        CfiTable header = CfiTable.ehFrame(elf);
        CfiTable scan = CfiTable.ehFrameWithoutHeader(elf);
        assertTrue(header.hasHeaderTable());
        assertFalse(scan.hasHeaderTable());
        CfiRow row = new CfiRow(17);
        for (long pc = 0xff0; pc < 0x1000 + 0x20 * 37 + 0x10; pc++) {
            CfiFde found = header.find(pc);
            assertEquals(scan.find(pc), found, String.format("pc 0x%x", pc));
            boolean covered = pc >= 0x1000 && (pc - 0x1000) % 0x20 < 0x10 && pc < 0x1000 + 0x20 * 37;
            assertEquals(covered, found != null, String.format("pc 0x%x", pc));
            if (found != null) {
                header.row(found, pc, row);
                assertEquals((pc - 0x1000) % 0x20 == 0 ? 8 : 8 + (pc - 0x1000) / 0x20, row.cfaOffset(), String.format("pc 0x%x", pc));
            }
        }
    }

    @Test
    void headerLies() throws Exception {
        ElfException version = assertThrows(ElfException.class,
                () -> CfiTable.ehFrame(CfiBytes.elf("v2.so", LE, EM_X86_64, withHeader(3, 2, 0))));
        assertEquals("v2.so: .eh_frame_hdr: version 2 (expected: 1)", version.getMessage());
        CfiTable shifted = CfiTable.ehFrame(CfiBytes.elf("shifted.so", LE, EM_X86_64, withHeader(3, 1, 0x100000)));
        ElfException outside = assertThrows(ElfException.class, () -> shifted.find(0x1025));
        assertEquals("shifted.so: .eh_frame_hdr: table entry 1 points at 0x10202a, outside .eh_frame [0x2000, 0x2052)",
                outside.getMessage());
        CfiTable off = CfiTable.ehFrame(CfiBytes.elf("off.so", LE, EM_X86_64, withHeader(3, 1, 4)));
        ElfException notFde = assertThrows(ElfException.class, () -> off.find(0x1000));
        assertEquals("off.so: .eh_frame: FDE at offset 0x1a points at a CIE at offset 0xffffffff0000103c, outside the section (0x52 bytes)",
                notFde.getMessage());
    }

    /** One FDE for 0x1000-0x1010 whose instructions are {@code instructions}, and the message of the row at 0x100f. */
    private static String rowProblem(int... instructions) throws Exception {
        CfiBytes b = new CfiBytes(LE);
        int cie = zrCie(b, 0x1b);
        int start = begin(b);
        b.u32(b.size() - cie);
        b.u32(0x1000 - (EH_FRAME + b.size())).u32(0x10).uleb(0).u8(instructions);
        end(b, start);
        CfiTable table = CfiTable.ehFrame(CfiBytes.elf("rows.so", LE, EM_X86_64,
                List.of(new Section(".eh_frame", EH_FRAME, b.toByteArray()))));
        CfiFde fde = table.find(0x1000);
        return assertThrows(ElfException.class, () -> table.row(fde, 0x100f, new CfiRow(17))).getMessage();
    }

    @Test
    void instructionLies() throws Exception {
        assertEquals("rows.so: .eh_frame: instruction at offset 0x28: DW_CFA_restore_state without DW_CFA_remember_state",
                rowProblem(0x41, 0x0b));
        assertEquals("rows.so: .eh_frame: instruction at offset 0x2f: DW_CFA_remember_state nested deeper than 8",
                rowProblem(0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a));
        assertEquals("rows.so: .eh_frame: instruction at offset 0x27: an expression of 0x7f bytes runs past the end of its"
                + " entry (0x1 bytes left)", rowProblem(0x10, 3, 0x7f, 0x30));
        assertEquals("rows.so: .eh_frame: instruction at offset 0x27: unknown call-frame instruction 0x18", rowProblem(0x18));
        assertEquals("rows.so: .eh_frame: instruction at offset 0x27: register 2097152 (expected: at most 65535)", rowProblem(0x07, 0x80, 0x80, 0x80, 0x01));
        assertEquals("rows.so: .eh_frame: offset 0x28: truncated: 4 bytes needed, 0 left in the entry", rowProblem(0x04));
    }

    @Test
    void aHugeAdvanceEndsTheTable() throws Exception {
        CfiBytes b = new CfiBytes(LE);
        int cie = zrCie(b, 0x1b);
        int start = begin(b);
        b.u32(b.size() - cie);
        b.u32(0x1000 - (EH_FRAME + b.size())).u32(0x10).uleb(0).u8(0x04).u32(0xffff_ffffL).u8(0x0e, 99);
        end(b, start);
        CfiTable table = CfiTable.ehFrame(CfiBytes.elf("huge.so", LE, EM_X86_64,
                List.of(new Section(".eh_frame", EH_FRAME, b.toByteArray()))));
        CfiRow row = new CfiRow(17);
        table.row(table.find(0x100f), 0x100f, row);
        assertEquals(8, row.cfaOffset());
        assertEquals(0x1000, row.location());
    }

    @Test
    void entryLies() throws Exception {
        CfiBytes b = new CfiBytes(LE);
        zrCie(b, 0x1b);
        int start = begin(b);
        b.u32(b.size() + 0x40); // a CIE pointer before the section
        b.u32(0).u32(0x10).uleb(0);
        end(b, start);
        CfiTable before = CfiTable.ehFrame(CfiBytes.elf("cie.so", LE, EM_X86_64,
                List.of(new Section(".eh_frame", EH_FRAME, b.toByteArray()))));
        assertEquals("cie.so: .eh_frame: FDE at offset 0x16 points at a CIE at offset 0xffffffffffffffc0, outside the section"
                + " (0x27 bytes)", assertThrows(ElfException.class, before::fdes).getMessage());

        CfiBytes t = new CfiBytes(LE);
        int cie = zrCie(t, 0x23); // textrel: not on these machines
        int fde = begin(t);
        t.u32(t.size() - cie).u32(0).u32(0x10).uleb(0);
        end(t, fde);
        CfiTable textrel = CfiTable.ehFrame(CfiBytes.elf("textrel.so", LE, EM_X86_64,
                List.of(new Section(".eh_frame", EH_FRAME, t.toByteArray()))));
        assertEquals("textrel.so: .eh_frame: offset 0x1e: pointer encoding 0x23 is not supported here",
                assertThrows(ElfException.class, textrel::fdes).getMessage());

        CfiBytes l = new CfiBytes(LE);
        zrCie(l, 0x1b);
        l.u32(0x7fff_fff0L).u32(0);
        CfiTable lying = CfiTable.ehFrame(CfiBytes.elf("len.so", LE, EM_X86_64,
                List.of(new Section(".eh_frame", EH_FRAME, l.toByteArray()))));
        assertEquals("len.so: .eh_frame: entry at offset 0x16 claims 0x7ffffff0 bytes, past the end of the section (0x1e bytes)",
                assertThrows(ElfException.class, () -> lying.find(0x1000)).getMessage());
    }

    /**
     * A {@code DW_CFA_restore} among a CIE's own instructions restores no rule (the CIE's rules are
     * not made yet), whatever row the same {@link CfiRow} held before: a walk's rows do not depend
     * on the rows it computed earlier.
     */
    @Test
    void aRestoreInACieRestoresNoRuleWhateverTheRowHeldBefore() throws Exception {
        CfiBytes b = new CfiBytes(LE);
        int undefinedCie = begin(b);
        b.u32(0xffff_ffffL).u8(1).text("").uleb(1).sleb(-8).u8(16);
        b.u8(0x0c, 7, 8, 0x07, 16);               // def_cfa rsp+8; ra undefined
        end(b, undefinedCie);
        int fde = begin(b);
        b.u32(undefinedCie).u64(0x1000).u64(0x100);
        end(b, fde);
        int restoringCie = begin(b);
        b.u32(0xffff_ffffL).u8(1).text("").uleb(1).sleb(-8).u8(16);
        b.u8(0x0c, 7, 8, 0x80 | 16, 1, 0xc0 | 16); // def_cfa rsp+8; ra at cfa-8; restore ra
        end(b, restoringCie);
        fde = begin(b);
        b.u32(restoringCie).u64(0x2000).u64(0x100);
        end(b, fde);
        CfiTable table = CfiTable.debugFrame(CfiBytes.elf("restore.so", LE, EM_X86_64,
                List.of(new Section(".debug_frame", 0, b.toByteArray()))));
        CfiRow row = new CfiRow(17);
        table.row(table.find(0x2000), 0x2000, row);
        assertEquals(CfiRule.UNSPECIFIED, row.rule(16));
        table.row(table.find(0x1000), 0x1000, row);
        assertEquals(CfiRule.UNDEFINED, row.rule(16));
        table.row(table.find(0x2000), 0x2000, row);
        assertEquals(CfiRule.UNSPECIFIED, row.rule(16), "the rule of the row before");
    }
}
