package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.Fuzzing.Edit;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Fuzzes {@link CfiTable} with the call-frame sections of programs built here, bent: a little-endian
 * x86_64 program with {@code .eh_frame_hdr} and {@code .eh_frame}, the same built for
 * {@code .debug_frame}, and a big-endian s390x program. Three edits in four hit a field the parser
 * trusts (entry lengths, CIE pointers, versions, augmentation strings and data, pointer encodings,
 * FDE addresses, the header's encodings, count and table, every instruction byte), with lies or
 * with call-frame opcodes that matter (remember and restore state, advances, expressions, the
 * aarch64 and GNU opcodes); the rest hit any byte of the sections.
 *
 * <p>The rule, whatever the bytes: finding FDEs, listing them, computing rows and evaluating their
 * expressions ({@link CfiExpression}) end in a result
 * or in an {@link ElfException} whose message names the file on one line, never another exception;
 * every run ends within the time limit and allocates a bounded amount. Fixed seeds: a few seconds.
 */
final class CfiFuzzTest {
    private static final String NAME = "bent";
    private static final long MAX_BYTES = 32L << 20;
    /** Values written at fields: call-frame opcodes with operands that lie, and encodings. */
    private static final List<Long> OPCODES = List.of(0x0aL, 0x0bL, 0x0a0a0a0a0a0a0a0aL, 0x0b0b0b0b0b0b0b0bL, 0x04L,
            0xffffffff04L, 0x3fL, 0x7fL, 0x0fL, 0xff0fL, 0x7f10L, 0x7f0716L, 0x2dL, 0x2eL, 0x2fL, 0x01L, 0x1dL, 0xc0L,
            0x80L, 0x1bL, 0x3bL, 0x50L, 0x9bL, 0xffL, 0x0cL, 0x12L, 0x13L);

    /** A file to bend and the offsets of its fields. */
    record Target(String name, byte[] bytes, ByteOrder order, List<Integer> fields) {}

    private static Map<String, Target> targets;

    static synchronized Map<String, Target> targets() throws ElfException {
        if (targets != null) {
            return targets;
        }
        TestPrograms.requireTools("gcc", "s390x-linux-gnu-gcc");
        Path dir = TestPrograms.freshDirectory("cfi-fuzz");
        String source = TestPrograms.sources().resolve("cfi/cfi.c").toString();
        TestPrograms.check(dir, "gcc", "-O2", "-g", "-o", "x86_64", source);
        TestPrograms.check(dir, "gcc", "-O2", "-g", "-fno-asynchronous-unwind-tables", "-o", "x86_64-debug-frame", source);
        TestPrograms.check(dir, "s390x-linux-gnu-gcc", "-O2", "-g", "-o", "s390x", source);
        Map<String, Target> made = new LinkedHashMap<>();
        for (String name : List.of("x86_64", "x86_64-debug-frame", "s390x")) {
            byte[] bytes = TestPrograms.read(dir.resolve(name));
            ElfFile elf = ElfFile.of(name, MemorySegment.ofArray(bytes));
            made.put(name, new Target(name, bytes, elf.byteOrder(), fields(elf)));
        }
        targets = made;
        return targets;
    }

    /** The file offsets of the fields of the call-frame sections, found by the parser on the good file. */
    private static List<Integer> fields(ElfFile elf) throws ElfException {
        List<Integer> fields = new ArrayList<>();
        ElfFile.SectionHeader hdr = elf.section(".eh_frame_hdr");
        if (hdr != null) {
            for (int i = 0; i < Math.min(hdr.size(), 64); i++) {
                fields.add((int) hdr.offset() + i);
            }
        }
        for (String name : List.of(".eh_frame", ".debug_frame")) {
            ElfFile.SectionHeader section = elf.section(name);
            if (section == null) {
                continue;
            }
            CfiTable table = name.equals(".eh_frame") ? CfiTable.ehFrame(elf) : CfiTable.debugFrame(elf);
            int base = (int) section.offset();
            for (CfiFde fde : table.fdes()) {
                for (long at : new long[] {fde.offset(), fde.offset() + 4, fde.offset() + 8, fde.offset() + 12}) {
                    fields.add(base + (int) at);
                }
                CfiCie cie = fde.cie();
                for (long at = cie.offset(); at < cie.instructionsOffset() + cie.instructionsLength(); at++) {
                    fields.add(base + (int) at);
                }
                for (long at = fde.instructionsOffset(); at < fde.instructionsOffset() + fde.instructionsLength(); at++) {
                    fields.add(base + (int) at);
                }
            }
        }
        return fields;
    }

    /** What a walker does with a file's tables; only an ElfException about the file may come out. */
    static void read(byte[] bytes) {
        ElfFile elf;
        try {
            elf = ElfFile.of(NAME, MemorySegment.ofArray(bytes));
        } catch (ElfException e) {
            expected(e);
            return;
        }
        CfiRow row = new CfiRow(128);
        CfiExpression expression = new CfiExpression();
        for (int kind = 0; kind < 3; kind++) {
            try {
                CfiTable table = switch (kind) {
                    case 0 -> CfiTable.ehFrame(elf);
                    case 1 -> CfiTable.ehFrameWithoutHeader(elf);
                    default -> CfiTable.debugFrame(elf);
                };
                if (table == null) {
                    continue;
                }
                List<CfiFde> fdes = List.of();
                try {
                    fdes = table.fdes();
                } catch (ElfException e) {
                    expected(e);
                }
                for (CfiFde fde : fdes.subList(0, Math.min(fdes.size(), 64))) {
                    long middle = fde.pcBegin() + (fde.pcEnd() - fde.pcBegin()) / 2;
                    for (long pc : new long[] {fde.pcBegin(), middle, fde.pcEnd() - 1, -1L}) {
                        try {
                            table.row(fde, pc, row);
                            evaluate(table, row, expression);
                        } catch (ElfException e) {
                            expected(e);
                        }
                        try {
                            CfiFde found = table.find(pc);
                            if (found != null) {
                                assertTrue(found.covers(pc), () -> found + " covers " + pc);
                            }
                        } catch (ElfException e) {
                            expected(e);
                        }
                    }
                }
            } catch (ElfException e) {
                expected(e);
            }
        }
    }

    /** Evaluates every expression of the row, against registers and memory that hold their own numbers. */
    private static void evaluate(CfiTable table, CfiRow row, CfiExpression expression) {
        for (int r = -1; r < row.registerCount(); r++) {
            try {
                if (r < 0 && row.cfaIsExpression()) {
                    expression.evaluate(table, row.cfaExpressionOffset(), row.cfaExpressionLength(), 0, false, reg -> reg,
                            (address, size) -> address);
                } else if (r >= 0 && (row.rule(r) == CfiRule.EXPRESSION || row.rule(r) == CfiRule.VAL_EXPRESSION)) {
                    expression.evaluate(table, row.operand(r), row.expressionLength(r), 0x1000, true, reg -> reg,
                            (address, size) -> address);
                }
            } catch (ElfException e) {
                expected(e);
            }
        }
    }

    private static void expected(ElfException e) {
        assertTrue(e.getMessage().startsWith(NAME + ": "), e.getMessage());
        Fuzzing.assertOneLine(e.getMessage());
    }

    private static void bounded(Target target, byte[] bytes) {
        Fuzzing.bounded(target.name() + " bent", MAX_BYTES + 16L * bytes.length, () -> read(bytes));
    }

    @Provide
    Arbitrary<String> files() {
        return Arbitraries.of("x86_64", "x86_64-debug-frame", "s390x");
    }

    @Provide
    Arbitrary<Edit> edits() {
        return Fuzzing.edits();
    }

    @Property(tries = 2500, seed = "20261130")
    void sectionsWithLyingFields(@ForAll("files") String name, @ForAll @Size(min = 1, max = 6) List<@From("edits") Edit> edits)
            throws ElfException {
        Target target = targets().get(name);
        bounded(target, Fuzzing.mutate(target.bytes(), target.order(), target.fields(), OPCODES, edits, 100));
    }

    @Property(tries = 100, seed = "20261130")
    void filesCutShort(@ForAll("files") String name, @ForAll @IntRange(min = 0, max = 99) int keepPercent,
                       @ForAll @Size(max = 2) List<@From("edits") Edit> edits) throws ElfException {
        Target target = targets().get(name);
        bounded(target, Fuzzing.mutate(target.bytes(), target.order(), target.fields(), OPCODES, edits, keepPercent));
    }

    /** The unbent files read without a problem and find every FDE: the fuzzing starts from good tables. */
    @Property(tries = 3, seed = "20261130")
    void theFilesAsBuiltReadCleanly(@ForAll("files") String name) throws ElfException {
        Target target = targets().get(name);
        ElfFile elf = ElfFile.of(NAME, MemorySegment.ofArray(target.bytes()));
        CfiTable table = name.endsWith("debug-frame") ? CfiTable.debugFrame(elf) : CfiTable.ehFrame(elf);
        List<CfiFde> fdes = table.fdes();
        assertTrue(fdes.size() >= 6, () -> name + ": " + fdes.size() + " FDEs");
        CfiRow row = new CfiRow(128);
        for (CfiFde fde : fdes) {
            assertEquals(fde, table.find(fde.pcBegin()));
            table.row(fde, fde.pcEnd() - 1, row);
        }
    }
}
