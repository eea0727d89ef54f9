package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.api.StackMemory;
import dev.unwinder.elf.CfiBytes.Section;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link CfiWalk}'s register rules on a hand-made x86_64 {@code .debug_frame} (a module whose file
 * has no {@code .eh_frame}, loaded at bias {@code 0x10000}): each rule's value in the caller's
 * frame, the 4-byte reads of an expression at the end of the stack, and the frame-pointer step
 * after a frame no module covers.
 */
final class CfiWalkRulesTest {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    @TempDir
    Path dir;

    /** A frame as the visitor saw it. */
    private record Frame(long pc, long sp, CfiWalk.How how) {}

    private ModuleMap module() throws IOException {
        CfiBytes b = new CfiBytes(LE);
        // CIE, version 1: code alignment 1, data alignment -8, return address column 16;
        // def_cfa rsp+8, offset(r16, cfa-8).
        b.u32(0).u32(0xffff_ffffL).u8(1).text("").uleb(1).sleb(-8).u8(16);
        b.u8(0x0c, 7, 8, 0x80 | 16, 1);
        while (b.size() % 8 != 0) {
            b.u8(0);
        }
        int cieLength = b.size() - 4;
        int fde = b.size();
        b.u32(0).u32(0).u64(0x1000).u64(0x100);
        b.u8(0x0e, 16);             // def_cfa_offset 16
        b.u8(0x09, 3, 12);          // rbx: register(r12)
        b.u8(0x80 | 6, 2);          // rbp: offset(cfa-16)
        b.u8(0x14, 12, 1);          // r12: val_offset(cfa-8)
        b.u8(0x07, 13);             // r13: undefined
        b.u8(0x08, 14);             // r14: same value
        b.u8(0x16, 15, 2, 0x35, 0x22);                   // r15: val_expression(cfa 5 +)
        b.u8(0x10, 1, 2, 0x40, 0x1c);                    // rdx: expression(cfa 16 -)
        b.u8(0x16, 2, 2, 0x94, 4);                       // rcx: val_expression(cfa deref_size 4)
        b.u8(0x16, 4, 6, 0x13, 0x0a).u16(0x10fc).u8(0x94, 4); // rsi: val_expression(drop 0x10fc deref_size 4)
        while (b.size() % 8 != 0) {
            b.u8(0);
        }
        byte[] bytes = b.toByteArray();
        ByteBuffer.wrap(bytes).order(LE).putInt(0, cieLength).putInt(fde, bytes.length - fde - 4);
        ElfFile elf = CfiBytes.elf("rules.so", LE, 62, List.of(new Section(".debug_frame", 0, bytes)));
        Path file = dir.resolve("rules.so");
        Files.write(file, elf.bytes().toArray(ValueLayout.JAVA_BYTE));
        return ModuleMap.of(List.of(new Module("rules.so", 0x10000, 0x20000, 0x10000, null, file, null,
                Module.Symbols.MISSING, "hand-made", SymbolTable.EMPTY)));
    }

    private static StackMemory stack() {
        ByteBuffer bytes = ByteBuffer.allocate(0x100).order(LE);
        bytes.putLong(0x00, 0x1040);                 // cfa-16: rbp and rdx
        bytes.putLong(0x08, 0x7000);                 // cfa-8: the return address
        bytes.putLong(0x10, 0x1122_3344_5566_7788L); // cfa
        bytes.putLong(0x40, 0x1060);                 // the caller's rbp
        bytes.putLong(0x48, 0x8000);                 // its return address
        bytes.putLong(0xf8, 0xaabb_ccdd_0102_0304L); // the last word
        return StackMemory.ofBytes(bytes.array(), 0x1000, LE);
    }

    private static long[] registers() {
        long[] registers = new long[17];
        for (int r = 0; r < registers.length; r++) {
            registers[r] = 0x100 * r + r;
        }
        registers[7] = 0x1000;
        registers[16] = 0x11010;
        return registers;
    }

    @Test
    void everyRuleGivesTheCallersRegister() throws IOException {
        CfiWalk walker = new CfiWalk(Plugins.of(Machine.X86_64), module(), Arena.ofAuto());
        List<Frame> frames = new ArrayList<>();
        assertEquals(CfiWalk.End.MAX_FRAMES, walker.walk(0x11010, registers(), stack(), 2, (index, pc, sp, how) -> {
            frames.add(new Frame(pc, sp, how));
            return true;
        }));
        assertEquals(List.of(new Frame(0x11010, 0x1000, CfiWalk.How.CONTEXT), new Frame(0x7000, 0x1010, CfiWalk.How.CFI)),
                frames);
        assertFalse(walker.registerKnown(0), "rax: no rule, not callee-saved");
        assertEquals(0x1040, walker.registerValue(1), "rdx: expression");
        assertEquals(0x5566_7788L, walker.registerValue(2), "rcx: 4 bytes at the CFA");
        assertEquals(0x0c0c, walker.registerValue(3), "rbx: register(r12)");
        assertEquals(0xaabb_ccddL, walker.registerValue(4), "rsi: the last 4 bytes of the stack");
        assertEquals(0x1040, walker.registerValue(6), "rbp: offset");
        assertEquals(0x1010, walker.registerValue(7), "rsp: the CFA");
        assertEquals(0x1008, walker.registerValue(12), "r12: val_offset");
        assertFalse(walker.registerKnown(13), "r13: undefined");
        assertEquals(0x0e0e, walker.registerValue(14), "r14: same value");
        assertEquals(0x1015, walker.registerValue(15), "r15: val_expression");
        for (int r : new int[] {1, 2, 3, 4, 6, 7, 12, 14, 15, 16}) {
            assertTrue(walker.registerKnown(r), "register " + r);
        }
    }

    @Test
    void theFramePointerRuleTakesOverWhereNoModuleCoversThePc() throws IOException {
        CfiWalk walker = new CfiWalk(Plugins.of(Machine.X86_64), module(), Arena.ofAuto());
        List<Frame> frames = new ArrayList<>();
        assertEquals(CfiWalk.End.OUTERMOST, walker.walk(0x11010, registers(), stack(), 64, (index, pc, sp, how) -> {
            frames.add(new Frame(pc, sp, how));
            return true;
        }));
        assertEquals(List.of(new Frame(0x11010, 0x1000, CfiWalk.How.CONTEXT), new Frame(0x7000, 0x1010, CfiWalk.How.CFI),
                new Frame(0x8000, 0x1050, CfiWalk.How.FP)), frames);
    }

    /**
     * An expression that reads a register whose value is not known ends the walk as a rule that
     * needs one does ({@code OUTSIDE_MEMORY}), not as malformed CFI.
     */
    @Test
    void anExpressionThatReadsAnUnknownRegisterEndsOutsideMemory() throws IOException {
        CfiBytes b = new CfiBytes(LE);
        b.u32(0).u32(0xffff_ffffL).u8(1).text("").uleb(1).sleb(-8).u8(16);
        b.u8(0x0f, 2, 0x76, 16);    // def_cfa_expression(rbp 16 +)
        b.u8(0x80 | 16, 1);         // ra at cfa-8
        while (b.size() % 8 != 0) {
            b.u8(0);
        }
        int fde = b.size();
        b.u32(0).u32(0).u64(0x1000).u64(0x100);
        byte[] bytes = b.toByteArray();
        ByteBuffer.wrap(bytes).order(LE).putInt(0, fde - 4).putInt(fde, bytes.length - fde - 4);
        ElfFile elf = CfiBytes.elf("unknown.so", LE, 62, List.of(new Section(".debug_frame", 0, bytes)));
        Path file = dir.resolve("unknown.so");
        Files.write(file, elf.bytes().toArray(ValueLayout.JAVA_BYTE));
        ModuleMap modules = ModuleMap.of(List.of(new Module("unknown.so", 0x10000, 0x20000, 0x10000, null, file, null,
                Module.Symbols.MISSING, "hand-made", SymbolTable.EMPTY)));
        CfiWalk walker = new CfiWalk(Plugins.of(Machine.X86_64), modules, Arena.ofAuto());
        long[] registers = new long[6]; // rax to rsi: rbp (6) is not known
        assertEquals(CfiWalk.End.OUTSIDE_MEMORY, walker.walk(0x11010, registers, stack(), 8, (index, pc, sp, how) -> true));
        assertEquals("register 6 is not known", walker.endDetail());
        long[] withRbp = registers();
        withRbp[6] = 0x1000;
        assertEquals(CfiWalk.End.MAX_FRAMES, walker.walk(0x11010, withRbp, stack(), 2, (index, pc, sp, how) -> true));
    }
}
