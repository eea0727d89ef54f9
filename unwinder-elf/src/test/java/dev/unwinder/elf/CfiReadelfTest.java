package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * readelf is the oracle: for every FDE of real C libraries of the four architectures, libstdc++ and
 * programs built here, {@code readelf --debug-dump=frames-interp} prints a table of rows, and at
 * each row's pc the {@link CfiRow} that {@link CfiTable#row} computes, written in readelf's
 * notation, must be exactly that row: the CFA, every column readelf shows, and no rule for a
 * register it does not show. The FDEs must be readelf's, in its order, with its ranges and CIEs;
 * {@link CfiTable#find} must find each at its first and last pc, through the header table and
 * through the scanned index alike, and nothing in a gap between two FDEs.
 */
final class CfiReadelfTest {
    private static final int REGISTERS = 128;
    private static final Pattern SECTION = Pattern.compile("Contents of the (\\.eh_frame|\\.debug_frame) section.*:");
    private static final Pattern FDE = Pattern.compile(
            "([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ FDE cie=([0-9a-f]+) pc=([0-9a-f]+)\\.\\.([0-9a-f]+)");
    private static final Pattern CIE = Pattern.compile("([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ CIE (\".*)");
    private static final Pattern ROW = Pattern.compile("([0-9a-f]{16}) (\\S+) +(.*)");
    private static final Pattern CELL = Pattern.compile("r\\d+ \\([^)]*\\)|\\S+");
    private static final String[] X86_64 = {"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10",
            "r11", "r12", "r13", "r14", "r15", "rip"};
    /** riscv64's DWARF registers 0 to 63 by their ABI names, as readelf prints them. */
    private static final String[] RISCV64 = {
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
        "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
        "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2", "fa3", "fa4", "fa5",
        "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
    };
    private static final String[] S390X_FPRS = {"f0", "f2", "f4", "f6", "f1", "f3", "f5", "f7", "f8", "f10", "f12",
            "f14", "f9", "f11", "f13", "f15"};

    /** One FDE as readelf prints it. */
    private record ReadelfFde(long offset, long cie, long begin, long end, List<String> columns, List<ReadelfRow> rows,
                              Map<Long, String> cies) {}

    /** One row: its pc, its CFA and its cells, in the order of the columns. */
    private record ReadelfRow(long loc, String cfa, List<String> cells) {}

    /** What a comparison covered. */
    private record Counts(int fdes, int rows, int cells, int gaps) {}

    @Test
    void x86_64CLibrary() throws Exception {
        compareSystemFile(TestPrograms.LIBC, "libc6");
    }

    @Test
    void x86_64Libstdcxx() throws Exception {
        compareSystemFile(Path.of("/usr/lib/x86_64-linux-gnu/libstdc++.so.6"), "libstdc++6");
    }

    @Test
    void aarch64CLibrary() throws Exception {
        compareSystemFile(Path.of("/usr/aarch64-linux-gnu/lib/libc.so.6"), "libc6-arm64-cross");
    }

    @Test
    void s390xCLibrary() throws Exception {
        compareSystemFile(Path.of("/usr/s390x-linux-gnu/lib/libc.so.6"), "libc6-s390x-cross");
    }

    @Test
    void riscv64CLibrary() throws Exception {
        Path libc = Path.of("/usr/riscv64-linux-gnu/lib/libc.so.6");
        if (!Files.exists(libc) && "true".equals(System.getenv("CI"))) {
            org.junit.jupiter.api.Assertions.fail("no riscv64 C library, and CI=true: .ci/run installs libc6-riscv64-cross");
        }
        Assumptions.assumeTrue(Files.exists(libc), "no riscv64 C library (libc6-riscv64-cross is not installed)");
        compareSystemFile(libc, "libc6-riscv64-cross");
    }

    /** The C library's separate debug file keeps the headers of .eh_frame and .eh_frame_hdr, not their bytes. */
    @Test
    void aSeparateDebugFileHasNoFrameBytes() throws Exception {
        Path debug = TestPrograms.libcDebugFile();
        try (Arena arena = Arena.ofConfined()) {
            ElfFile elf = ElfFile.open(debug, arena);
            assertEquals(ElfFile.SHT_NOBITS, elf.section(".eh_frame_hdr").type());
            CfiTable table = CfiTable.ehFrame(elf);
            assertFalse(table.hasHeaderTable());
            assertEquals(List.of(), table.fdes());
            assertNull(table.find(elf.section(".text").address()));
            assertNull(CfiTable.debugFrame(elf));
        }
    }

    @Test
    void x86_64Programs() throws Exception {
        comparePrograms("gcc", List.of());
    }

    @Test
    void aarch64Programs() throws Exception {
        comparePrograms("aarch64-linux-gnu-gcc", List.of("-mbranch-protection=pac-ret+b-key"));
    }

    @Test
    void s390xPrograms() throws Exception {
        comparePrograms("s390x-linux-gnu-gcc", List.of());
    }

    /**
     * {@code cfi.c} built three ways: with the default unwind tables ({@code .eh_frame} and its
     * header), without them ({@code .debug_frame} from {@code -g}, {@code .eh_frame} only for the C
     * run-time's objects), and with {@code extra} flags.
     */
    private static void comparePrograms(String compiler, List<String> extra) throws Exception {
        TestPrograms.requireTools(compiler, "readelf");
        Path dir = TestPrograms.freshDirectory("cfi-" + compiler);
        String source = TestPrograms.sources().resolve("cfi/cfi.c").toString();
        Path plain = dir.resolve("plain");
        Path debug = dir.resolve("debug-frame");
        TestPrograms.check(dir, compiler, "-O2", "-g", "-o", plain.toString(), source);
        TestPrograms.check(dir, compiler, "-O2", "-g", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables", "-o",
                debug.toString(), source);
        Map<String, Counts> plainCounts = compare(plain);
        Map<String, Counts> debugCounts = compare(debug);
        assertTrue(debugCounts.containsKey(".debug_frame"), () -> debug + " has no .debug_frame: " + debugCounts);
        assertTrue(debugCounts.get(".debug_frame").rows() > 0, () -> debug + ": " + debugCounts);
        assertTrue(plainCounts.get(".eh_frame").rows() > 0, () -> plain + ": " + plainCounts);
        if (!extra.isEmpty()) {
            Path extraProgram = dir.resolve("extra");
            List<String> command = new ArrayList<>(List.of(compiler, "-O2", "-g"));
            command.addAll(extra);
            command.addAll(List.of("-o", extraProgram.toString(), source));
            TestPrograms.check(dir, command.toArray(String[]::new));
            compare(extraProgram);
        }
    }

    private static void compareSystemFile(Path file, String debianPackage) throws Exception {
        TestPrograms.requireFile(file, debianPackage);
        TestPrograms.requireTools("readelf");
        Map<String, Counts> counts = compare(file);
        assertTrue(counts.get(".eh_frame").rows() > 1000, () -> file + ": " + counts);
        assertTrue(counts.get(".eh_frame").gaps() > 0, () -> file + ": " + counts);
    }

    /** Compares every section readelf prints; returns what each comparison covered. */
    private static Map<String, Counts> compare(Path file) throws Exception {
        String out = TestPrograms.check(file.toAbsolutePath().getParent(), "readelf", "--debug-dump=no-follow-links",
                "--debug-dump=frames-interp", file.toString());
        Map<String, List<ReadelfFde>> sections = parse(out);
        Map<String, Counts> counts = new LinkedHashMap<>();
        try (Arena arena = Arena.ofConfined()) {
            ElfFile elf = ElfFile.open(file, arena);
            for (Map.Entry<String, List<ReadelfFde>> section : sections.entrySet()) {
                List<CfiTable> tables = section.getKey().equals(".eh_frame")
                        ? List.of(CfiTable.ehFrame(elf), CfiTable.ehFrameWithoutHeader(elf))
                        : List.of(CfiTable.debugFrame(elf));
                Counts result = compare(elf, tables, section.getValue());
                counts.put(section.getKey(), result);
                System.out.printf("%s %s: %d FDEs, %d rows, %d cells, %d gaps; header table: %b%n", file, section.getKey(),
                        result.fdes(), result.rows(), result.cells(), result.gaps(), tables.getFirst().hasHeaderTable());
            }
        }
        assertTrue(counts.containsKey(".eh_frame") || counts.containsKey(".debug_frame"), () -> file + ": no frame section");
        return counts;
    }

    private static Counts compare(ElfFile elf, List<CfiTable> tables, List<ReadelfFde> expected) throws Exception {
        CfiTable table = tables.getFirst();
        List<CfiFde> fdes = table.fdes();
        assertEquals(expected.size(), fdes.size(), elf.name() + ": FDE count");
        CfiRow row = new CfiRow(REGISTERS);
        int rows = 0;
        int cells = 0;
        for (int i = 0; i < fdes.size(); i++) {
            CfiFde fde = fdes.get(i);
            ReadelfFde want = expected.get(i);
            String where = String.format("%s: FDE at 0x%x", elf.name(), want.offset());
            assertEquals(want.offset(), fde.offset(), where);
            assertEquals(want.cie(), fde.cie().offset(), where + ": CIE");
            CfiCie cie = fde.cie();
            assertEquals(want.cies().get(want.cie()), String.format("\"%s\" cf=%d df=%d ra=%d", cie.augmentation(),
                    cie.codeAlignment(), cie.dataAlignment(), cie.returnAddressRegister()), where + ": CIE");
            assertEquals(want.begin(), fde.pcBegin(), where + ": pc begin");
            assertEquals(want.end(), fde.pcEnd(), where + ": pc end");
            List<Integer> registers = new ArrayList<>();
            for (String column : want.columns()) {
                registers.add(column.equals("ra") ? fde.cie().returnAddressRegister() : register(elf.machine(), column, where));
            }
            for (int r = 0; r < want.rows().size(); r++) {
                ReadelfRow wantRow = want.rows().get(r);
                if (r + 1 < want.rows().size() && want.rows().get(r + 1).loc() == wantRow.loc()) {
                    continue; // an advance by 0: only the last row at a pc is a row of the table
                }
                String at = String.format("%s, row at 0x%x", where, wantRow.loc());
                table.row(fde, wantRow.loc(), row);
                assertEquals(wantRow.loc(), row.location(), at);
                assertEquals(wantRow.cfa(), cfa(elf.machine(), row), at + ": CFA");
                assertEquals(registers.size(), wantRow.cells().size(), at + ": cells");
                for (int c = 0; c < registers.size(); c++) {
                    assertEquals(wantRow.cells().get(c), cell(elf.machine(), row, registers.get(c)),
                            at + ": column " + want.columns().get(c));
                    cells++;
                }
                for (int reg = 0; reg < REGISTERS; reg++) {
                    if (!registers.contains(reg)) {
                        assertEquals(CfiRule.UNSPECIFIED, row.rule(reg), at + ": register " + reg + ", which readelf does not show");
                    }
                }
                rows++;
            }
        }
        int gaps = checkFind(elf, tables, fdes);
        return new Counts(fdes.size(), rows, cells, gaps);
    }

    /** Each FDE is found at its first and last pc by every table; nothing is found in a gap. Returns the gaps. */
    private static int checkFind(ElfFile elf, List<CfiTable> tables, List<CfiFde> fdes) throws Exception {
        List<CfiFde> sorted = new ArrayList<>(fdes.stream().filter(f -> f.pcEnd() != f.pcBegin()).toList());
        sorted.sort((a, b) -> Long.compareUnsigned(a.pcBegin(), b.pcBegin()));
        int gaps = 0;
        for (CfiTable table : tables) {
            gaps = 0;
            for (int i = 0; i < sorted.size(); i++) {
                CfiFde fde = sorted.get(i);
                String where = String.format("%s: FDE at 0x%x [0x%x, 0x%x), header table %b", elf.name(), fde.offset(),
                        fde.pcBegin(), fde.pcEnd(), table.hasHeaderTable());
                assertEquals(fde, table.find(fde.pcBegin()), where);
                assertEquals(fde, table.find(fde.pcEnd() - 1), where);
                if (i + 1 < sorted.size() && Long.compareUnsigned(fde.pcEnd(), sorted.get(i + 1).pcBegin()) < 0) {
                    assertNull(table.find(fde.pcEnd()), where + ": the gap after it");
                    gaps++;
                }
            }
            if (!sorted.isEmpty()) {
                assertNull(table.find(sorted.getFirst().pcBegin() - 1), elf.name() + ": below the first FDE");
                assertNull(table.find(sorted.getLast().pcEnd()), elf.name() + ": past the last FDE");
            }
        }
        return gaps;
    }

    private static String cfa(int machine, CfiRow row) {
        return row.cfaIsExpression() ? "exp" : String.format("%s%+d", name(machine, row.cfaRegister()), (int) row.cfaOffset());
    }

    private static String cell(int machine, CfiRow row, int register) {
        return switch (row.rule(register)) {
            case UNSPECIFIED, UNDEFINED -> "u";
            case SAME_VALUE -> "s";
            case OFFSET -> String.format("c%+d", (int) row.operand(register));
            case VAL_OFFSET -> String.format("v%+d", (int) row.operand(register));
            case REGISTER -> "r" + row.operand(register) + " (" + name(machine, (int) row.operand(register)) + ")";
            case EXPRESSION -> "exp";
            case VAL_EXPRESSION -> "vexp";
        };
    }

    /** readelf's name of a DWARF register, for the machines whose tables this test knows. */
    private static String name(int machine, int register) {
        String name = nameOrNull(machine, register);
        assertNotNull(name, "no name for register " + register + " of machine " + machine);
        return name;
    }

    private static int register(int machine, String name, String where) {
        for (int r = 0; r < REGISTERS; r++) {
            if (name.equals(nameOrNull(machine, r))) {
                return r;
            }
        }
        return fail(where + ": readelf's column " + name + " is no register this test knows");
    }

    private static String nameOrNull(int machine, int register) {
        return switch (machine) {
            case 62 -> register < X86_64.length ? X86_64[register] : null;
            case 183 -> register < 31 ? "x" + register : register == 31 ? "sp"
                    : register >= 64 && register < 96 ? "v" + (register - 64) : null;
            case 22 -> register < 16 ? "r" + register : register < 32 ? S390X_FPRS[register - 16] : null;
            case 243 -> register < RISCV64.length ? RISCV64[register] : null;
            default -> null;
        };
    }

    /** readelf's FDEs per section, in section order. */
    private static Map<String, List<ReadelfFde>> parse(String out) {
        Map<String, List<ReadelfFde>> sections = new LinkedHashMap<>();
        List<ReadelfFde> current = null;
        List<String> columns = null;
        List<ReadelfRow> rows = null;
        Map<Long, String> cies = null;
        boolean inFde = false;
        for (String line : out.lines().toList()) {
            Matcher m = SECTION.matcher(line);
            if (m.matches()) {
                current = sections.computeIfAbsent(m.group(1), k -> new ArrayList<>());
                cies = new LinkedHashMap<>();
                inFde = false;
                continue;
            }
            if (current == null) {
                continue;
            }
            m = FDE.matcher(line);
            if (m.matches()) {
                columns = new ArrayList<>();
                rows = new ArrayList<>();
                current.add(new ReadelfFde(Long.parseUnsignedLong(m.group(1), 16), Long.parseUnsignedLong(m.group(2), 16),
                        Long.parseUnsignedLong(m.group(3), 16), Long.parseUnsignedLong(m.group(4), 16), columns, rows, cies));
                inFde = true;
                continue;
            }
            m = CIE.matcher(line);
            if (m.matches()) {
                cies.put(Long.parseUnsignedLong(m.group(1), 16), m.group(2));
            }
            if (line.contains(" CIE ") || line.contains("ZERO terminator")) {
                inFde = false;
                continue;
            }
            if (!inFde || line.isBlank()) {
                continue;
            }
            if (line.startsWith("   LOC")) {
                String[] names = line.strip().split(" +");
                columns.addAll(List.of(names).subList(2, names.length));
                continue;
            }
            m = ROW.matcher(line);
            if (!m.matches()) {
                fail("readelf printed a line this test does not understand: " + line);
            }
            List<String> cells = new ArrayList<>();
            Matcher cell = CELL.matcher(m.group(3));
            while (cell.find()) {
                cells.add(cell.group());
            }
            rows.add(new ReadelfRow(Long.parseUnsignedLong(m.group(1), 16), m.group(2), cells));
        }
        return sections;
    }
}
