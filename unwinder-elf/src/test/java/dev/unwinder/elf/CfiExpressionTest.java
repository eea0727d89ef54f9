package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.CfiBytes.Section;
import java.lang.foreign.Arena;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link CfiExpression} on the expressions of the x86_64 C library (its PLT's CFA, which depends on
 * where in a PLT entry the pc is, and the signal-return trampoline {@code __restore_rt}, whose rules
 * read the kernel's {@code ucontext_t}), and on hand-made expressions: every operation group, and
 * the exact message of each way an expression can fail.
 */
final class CfiExpressionTest {
    private static final long RSP = 0x7ffd_0000_1000L;
    /** {@code REG_*} of {@code <sys/ucontext.h>} by DWARF number: rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp, r8-r15, rip. */
    private static final int[] GREGS = {13, 12, 14, 11, 9, 8, 10, 15, 0, 1, 2, 3, 4, 5, 6, 7, 16};

    @Test
    void theCLibrarysPltAndSignalTrampoline() throws Exception {
        TestPrograms.requireFile(TestPrograms.LIBC, "libc6");
        CfiExpression expression = new CfiExpression();
        CfiRow row = new CfiRow(17);
        int pltPcs = 0;
        int trampolines = 0;
        try (Arena arena = Arena.ofConfined()) {
            CfiTable table = CfiTable.ehFrame(ElfFile.open(TestPrograms.LIBC, arena));
            for (CfiFde fde : table.fdes()) {
                table.row(fde, fde.pcEnd() - 1, row);
                if (row.cfaIsExpression() && row.cfaExpressionLength() == 11) {
                    // The PLT: CFA = rsp + 8, plus 8 once the entry's push has run (rip & 15 >= 11).
                    for (long pc = row.location(); pc < fde.pcEnd(); pc++) {
                        long rip = pc;
                        long cfa = expression.evaluate(table, row.cfaExpressionOffset(), row.cfaExpressionLength(), 0, false,
                                r -> r == 7 ? RSP : r == 16 ? rip : fail(r), (a, s) -> fail(-1));
                        assertEquals(RSP + 8 + ((pc & 15) >= 11 ? 8 : 0), cfa, String.format("pc 0x%x", pc));
                        pltPcs++;
                    }
                }
                if (fde.cie().signalFrame()) {
                    table.row(fde, fde.pcBegin(), row);
                    long savedRsp = 0x7ffd_0000_9000L;
                    long cfa = expression.evaluate(table, row.cfaExpressionOffset(), row.cfaExpressionLength(), 0, false,
                            r -> r == 7 ? RSP : fail(r), (a, s) -> a == RSP + 40 + 8 * 15 && s == 8 ? savedRsp : fail(-1));
                    assertEquals(savedRsp, cfa);
                    for (int r = 0; r <= 16; r++) {
                        assertEquals(CfiRule.EXPRESSION, row.rule(r), "register " + r);
                        long address = expression.evaluate(table, row.operand(r), row.expressionLength(r), cfa, true,
                                reg -> reg == 7 ? RSP : fail(reg), (a, s) -> fail(-1));
                        assertEquals(RSP + 40 + 8L * GREGS[r], address, "register " + r);
                    }
                    trampolines++;
                }
            }
        }
        assertTrue(pltPcs >= 16, pltPcs + " PLT pcs");
        assertEquals(1, trampolines);
    }

    private static long fail(long what) throws ElfException {
        throw new ElfException("unexpected read of " + what);
    }

    private static long run(int... bytes) throws ElfException {
        return run(new CfiExpression(), bytes);
    }

    private static long run(CfiExpression expression, int... bytes) throws ElfException {
        CfiBytes b = new CfiBytes(ByteOrder.LITTLE_ENDIAN).u8(0xee, 0xee).u8(bytes);
        CfiTable table = CfiTable.debugFrame(CfiBytes.elf("expr.so", ByteOrder.LITTLE_ENDIAN, 62,
                List.of(new Section(".debug_frame", 0, b.toByteArray()))));
        return expression.evaluate(table, 2, bytes.length, 1000, true, r -> 100L * r,
                (a, s) -> s == 8 ? a * 2 : s == 1 ? a & 0xff : fail(s));
    }

    private static String problem(int... bytes) {
        return assertThrows(ElfException.class, () -> run(bytes)).getMessage();
    }

    @Test
    void operations() throws Exception {
        assertEquals(1000, run());
        assertEquals(1005, run(0x35, 0x22));                          // lit5 plus
        assertEquals(1000 + 0x7f + 3, run(0x23, 0x7f, 0x23, 3));       // plus_uconst twice
        assertEquals(-2, run(0x08, 0xfe, 0x09, 0xfe, 0x1c, 0x13, 0x09, 0xfe)); // const1u, const1s, minus, drop, const1s
        assertEquals(0x1234_5678_9abc_def0L, run(0x0e, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12));
        assertEquals(-4, run(0x11, 0x7c));                             // consts -4
        assertEquals(700 - 8, run(0x77, 0x78));                        // breg7 -8
        assertEquals(1600 + 16, run(0x92, 16, 16));                    // bregx 16, 16
        assertEquals(2000, run(0x06));                                 // deref: the memory doubles
        assertEquals(1000 & 0xff, run(0x94, 1));                       // deref_size 1
        assertEquals(2, run(0x31, 0x32, 0x16, 0x1b));                  // lit1 lit2 swap div: 2 / 1
        assertEquals(9, run(0x37, 0x12, 0x1e, 0x3a, 0x1d));            // lit7 dup mul lit10 mod: 49 mod 10
        assertEquals(8, run(0x31, 0x33, 0x24));                        // 1 << 3
        assertEquals(1, run(0x38, 0x33, 0x25));                        // 8 >> 3
        assertEquals(-1, run(0x11, 0x70, 0x34, 0x26));                 // -16 >>a 4
        assertEquals(1, run(0x3b, 0x3a, 0x2a));                        // 11 >= 10
        assertEquals(0, run(0x39, 0x3a, 0x2a));                        // 9 >= 10
        assertEquals(3, run(0x31, 0x32, 0x33, 0x17, 0x13, 0x13));      // rot, then the bottom of the three
        assertEquals(1000, run(0x31, 0x14, 0x13, 0x13));               // over, drop, drop
        assertEquals(1000, run(0x31, 0x15, 1, 0x16, 0x13, 0x16, 0x13)); // pick 1
        assertEquals(5, run(0x2f, 1, 0, 0x30, 0x35));                  // skip over lit0
        assertEquals(9, run(0x31, 0x28, 2, 0, 0x30, 0x30, 0x39));      // bra taken
        assertEquals(0, run(0x30, 0x28, 1, 0, 0x30, 0x96));            // bra not taken, nop
        assertEquals(~5L, run(0x35, 0x20));
        assertEquals(-5, run(0x35, 0x1f));
        assertEquals(5, run(0x35, 0x1f, 0x19));
        assertEquals(6 ^ 3, run(0x36, 0x33, 0x27));
        assertEquals(6 | 3, run(0x36, 0x33, 0x21));
        assertEquals(6 & 3, run(0x36, 0x33, 0x1a));
        assertEquals(1, run(0x36, 0x33, 0x2e));
        assertEquals(0, run(0x36, 0x33, 0x29));
        assertEquals(1, run(0x33, 0x36, 0x2d));
        assertEquals(1, run(0x33, 0x36, 0x2c));
        assertEquals(0, run(0x33, 0x36, 0x2b));
    }

    @Test
    void failures() {
        assertEquals("expr.so: .debug_frame: expression at offset 0x2 runs more than 10000 operations",
                problem(0x2f, 0xfd, 0xff));                            // skip -3: itself, forever
        assertEquals("expr.so: .debug_frame: expression at offset 0x2: operation 0x22 needs 2 operands, the stack has 1",
                problem(0x22));
        assertEquals("expr.so: .debug_frame: expression at offset 0x2: more than 64 values on the stack",
                problem(0x30, 0x2f, 0xfc, 0xff));                      // lit0, skip back to it: pushes forever
        assertEquals("expr.so: .debug_frame: expression at offset 0x4: division by zero", problem(0x31, 0x30, 0x1b));
        assertEquals("expr.so: .debug_frame: expression at offset 0x2: operation 0x50 is not supported", problem(0x50));
        assertEquals("expr.so: .debug_frame: expression at offset 0x2: operation 0x0c runs past the end of the expression",
                problem(0x0c, 1, 2));
        assertEquals("expr.so: .debug_frame: expression at offset 0x2: a LEB128 runs past the end of the expression",
                problem(0x23, 0x80));
        assertEquals("expr.so: .debug_frame: expression at offset 0x2: a branch to 0x6, outside the expression",
                problem(0x2f, 1, 0));
        assertEquals("expr.so: .debug_frame: expression at offset 0x2: DW_OP_deref_size 3 (expected: 1, 2, 4 or 8)",
                problem(0x94, 3));
        assertEquals("expr.so: .debug_frame: expression at offset 0x3: operation 0x13 needs 1 operands, the stack has 0",
                problem(0x13, 0x13));
    }
}
