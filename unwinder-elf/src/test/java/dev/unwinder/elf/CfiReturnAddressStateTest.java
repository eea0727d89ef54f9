package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * aarch64's return-address signing state, which readelf's interpreted tables do not show: with
 * {@code -mbranch-protection=pac-ret+b-key}, gcc marks each {@code paciasp}/{@code autiasp} with
 * {@code DW_CFA_AARCH64_negate_ra_state}. readelf's raw dump of the instructions
 * ({@code --debug-dump=frames}) is the oracle: at every row, {@link CfiRow#raSigned()} is the parity
 * of the negations before it, with remembered states restored, and the CIEs of those functions carry
 * the {@code B} augmentation.
 */
final class CfiReturnAddressStateTest {
    private static final Pattern ENTRY = Pattern.compile("([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ (CIE|FDE)(?: cie=([0-9a-f]+) pc=([0-9a-f]+)\\.\\.[0-9a-f]+)?");
    private static final Pattern ADVANCE = Pattern.compile("  DW_CFA_advance_loc\\d?: \\d+ to ([0-9a-f]+)");

    @Test
    void signedReturnAddressesWithTheBKey() throws Exception {
        TestPrograms.requireTools("aarch64-linux-gnu-gcc", "readelf");
        Path dir = TestPrograms.freshDirectory("cfi-pac");
        Path program = dir.resolve("pac");
        TestPrograms.check(dir, "aarch64-linux-gnu-gcc", "-O2", "-g", "-mbranch-protection=pac-ret+b-key", "-o",
                program.toString(), TestPrograms.sources().resolve("cfi/cfi.c").toString());
        String raw = TestPrograms.check(dir, "readelf", "--debug-dump=no-follow-links", "--debug-dump=frames", program.toString());
        // Per FDE offset: the signing state at each row's pc; per CIE offset: the parity of its initial instructions.
        Map<Long, Map<Long, Boolean>> expected = new LinkedHashMap<>();
        Map<Long, Boolean> cieStates = new LinkedHashMap<>();
        Map<Long, Boolean> rows = null;
        long loc = 0;
        boolean state = false;
        boolean inCie = false;
        long entry = 0;
        Deque<Boolean> remembered = new ArrayDeque<>();
        for (String line : raw.lines().toList()) {
            Matcher m = ENTRY.matcher(line);
            if (m.matches()) {
                finish(rows, loc, state, inCie, entry, cieStates);
                entry = Long.parseUnsignedLong(m.group(1), 16);
                inCie = m.group(2).equals("CIE");
                remembered.clear();
                if (inCie) {
                    rows = null;
                    state = false;
                } else {
                    rows = new LinkedHashMap<>();
                    expected.put(entry, rows);
                    state = cieStates.get(Long.parseUnsignedLong(m.group(3), 16));
                    loc = Long.parseUnsignedLong(m.group(4), 16);
                }
                continue;
            }
            Matcher advance = ADVANCE.matcher(line);
            if (advance.matches() && rows != null) {
                rows.put(loc, state);
                loc = Long.parseUnsignedLong(advance.group(1), 16);
            } else if (line.equals("  DW_CFA_AARCH64_negate_ra_state")) {
                state = !state;
            } else if (line.equals("  DW_CFA_remember_state")) {
                remembered.push(state);
            } else if (line.equals("  DW_CFA_restore_state")) {
                state = remembered.pop();
            }
        }
        finish(rows, loc, state, inCie, entry, cieStates);

        int signedRows = 0;
        int bKeyFdes = 0;
        try (Arena arena = Arena.ofConfined()) {
            CfiTable table = CfiTable.ehFrame(ElfFile.open(program, arena));
            CfiRow row = new CfiRow(32);
            assertEquals(expected.size(), table.fdes().size());
            for (CfiFde fde : table.fdes()) {
                Map<Long, Boolean> want = expected.get(fde.offset());
                bKeyFdes += fde.cie().bKey() ? 1 : 0;
                for (Map.Entry<Long, Boolean> wantRow : want.entrySet()) {
                    table.row(fde, wantRow.getKey(), row);
                    assertEquals(wantRow.getValue(), row.raSigned(), String.format("FDE at 0x%x, row at 0x%x", fde.offset(),
                            wantRow.getKey()));
                    signedRows += row.raSigned() ? 1 : 0;
                }
            }
        }
        assertTrue(signedRows >= 5, signedRows + " rows with a signed return address");
        assertTrue(bKeyFdes >= 5, bKeyFdes + " FDEs with the B key");
    }

    private static void finish(Map<Long, Boolean> rows, long loc, boolean state, boolean inCie, long entry,
                               Map<Long, Boolean> cieStates) {
        if (rows != null) {
            rows.put(loc, state);
        }
        if (inCie) {
            cieStates.put(entry, state);
        }
    }
}
