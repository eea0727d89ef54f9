package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A walker finds one FDE and computes one row per frame, into one {@link CfiRow}: once a table has
 * read its FDEs (on first use), finding them, through the header table or the scanned index, and
 * computing rows allocate nothing, for three pcs of every FDE of the C library.
 */
final class CfiAllocationTest {
    @Test
    void computingRowsAllocatesNothing() throws Exception {
        TestPrograms.requireFile(TestPrograms.LIBC, "libc6");
        try (Arena arena = Arena.ofConfined()) {
            ElfFile elf = ElfFile.open(TestPrograms.LIBC, arena);
            CfiTable table = CfiTable.ehFrame(elf);
            assertTrue(table.hasHeaderTable());
            List<CfiFde> fdes = table.fdes();
            CfiFde[] byPc = new CfiFde[fdes.size() * 3];
            long[] pcs = new long[byPc.length];
            for (int i = 0; i < fdes.size(); i++) {
                CfiFde fde = fdes.get(i);
                long[] three = {fde.pcBegin(), fde.pcBegin() + (fde.pcEnd() - fde.pcBegin()) / 2, fde.pcEnd() - 1};
                for (int j = 0; j < 3; j++) {
                    byPc[3 * i + j] = fde;
                    pcs[3 * i + j] = three[j];
                }
            }
            CfiRow row = new CfiRow(17);
            long[] checksum = new long[1];
            Runnable rows = () -> {
                try {
                    for (int i = 0; i < pcs.length; i++) {
                        table.row(byPc[i], pcs[i], row);
                        checksum[0] += row.cfaOffset() + row.location();
                    }
                } catch (ElfException e) {
                    throw new UncheckedIOException(e);
                }
            };
            for (int warm = 0; warm < 20; warm++) {
                rows.run();
            }
            assertTrue(pcs.length > 10_000, pcs.length + " pcs");
            assertEquals(0, Allocations.leastBytesAllocatedBy(rows), "bytes allocated by " + pcs.length + " rows");
            for (CfiTable finder : List.of(table, CfiTable.ehFrameWithoutHeader(elf))) {
                Runnable finds = () -> {
                    try {
                        for (int i = 0; i < pcs.length; i++) {
                            CfiFde found = finder.find(pcs[i]);
                            checksum[0] += found == null ? 0 : found.pcEnd();
                        }
                    } catch (ElfException e) {
                        throw new UncheckedIOException(e);
                    }
                };
                for (int warm = 0; warm < 20; warm++) {
                    finds.run();
                }
                assertEquals(0, Allocations.leastBytesAllocatedBy(finds), "bytes allocated by " + pcs.length + " finds, header table "
                        + finder.hasHeaderTable());
            }
        }
    }
}
