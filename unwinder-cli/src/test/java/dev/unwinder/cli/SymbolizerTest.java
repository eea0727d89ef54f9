package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.unwinder.elf.Demangler;
import dev.unwinder.elf.ElfException;
import dev.unwinder.elf.ElfFile;
import dev.unwinder.elf.Module;
import dev.unwinder.elf.ModuleMap;
import dev.unwinder.elf.SymbolTable;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Naming pcs from a symbol table built here: a 64-bit big-endian ELF executable whose {@code .symtab}
 * holds {@code f} at [0x1000, 0x1010), {@code g} at [0x1010, 0x1020) with a local alias
 * {@code g_local}, a sizeless {@code h} at 0x2000, and an object {@code data} at 0x3000; as one
 * module spanning [0x1000, 0x4000) plus the bias, its one {@code PT_LOAD} segment.
 */
final class SymbolizerTest {
    private static final int SYM = 24;

    private static Symbolizer symbolizer(long bias) throws ElfException {
        ElfFile file = ElfFile.of("prog", MemorySegment.ofArray(executable()));
        Module module = new Module("/bin/prog", 0x1000 + bias, 0x4000 + bias, bias, null, null, null, Module.Symbols.LOADED,
                null, SymbolTable.read(file, bias, Demangler.none()));
        return new Symbolizer(ModuleMap.of(List.of(module)));
    }

    /** "name+offset" of a frame's pc, or null where no symbol covers it. */
    private static String name(Symbolizer symbolizer, int index, long pc) {
        Symbolizer.Location where = symbolizer.locate(index, pc);
        return where.symbol() == null ? null : where.symbol() + "+" + where.symbolOffset();
    }

    /** The executable described above, for e_machine 22 (s390x). */
    static byte[] executable() {
        String names = "\0f\0g\0g_local\0h\0data\0";
        // name offset, info (binding << 4 | type), value, size
        long[][] symbols = {
            {0, 0, 0, 0},
            {1, 0x12, 0x1000, 0x10},
            {5, 0x02, 0x1010, 0x10}, // g_local: local function, listed before its global alias
            {3, 0x12, 0x1010, 0x10},
            {13, 0x12, 0x2000, 0},
            {15, 0x11, 0x3000, 8},
        };
        int symtabAt = 64;
        int strtabAt = symtabAt + symbols.length * SYM;
        int shoff = strtabAt + names.length();
        int phoff = shoff + 3 * 64;
        ByteBuffer elf = ByteBuffer.allocate(phoff + 56).order(ByteOrder.BIG_ENDIAN);
        elf.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 2, 1});
        elf.putShort(16, (short) 2).putShort(18, (short) 22).putInt(20, 1).putLong(40, shoff)
                .putShort(52, (short) 64).putShort(58, (short) 64).putShort(60, (short) 3)
                .putLong(32, phoff).putShort(54, (short) 56).putShort(56, (short) 1);
        // One PT_LOAD segment, [0x1000, 0x4000) in memory, none of it in the file.
        elf.putInt(phoff, 1).putLong(phoff + 16, 0x1000).putLong(phoff + 40, 0x3000);
        for (int i = 0; i < symbols.length; i++) {
            int at = symtabAt + i * SYM;
            elf.putInt(at, (int) symbols[i][0]).put(at + 4, (byte) symbols[i][1]).putShort(at + 6, (short) (i == 0 ? 0 : 1))
                    .putLong(at + 8, symbols[i][2]).putLong(at + 16, symbols[i][3]);
        }
        elf.put(strtabAt, names.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        int symtab = shoff + 64;
        elf.putInt(symtab + 4, 2).putLong(symtab + 24, symtabAt).putLong(symtab + 32, symbols.length * SYM)
                .putInt(symtab + 40, 2).putLong(symtab + 56, SYM);
        int strtab = shoff + 128;
        elf.putInt(strtab + 4, 3).putLong(strtab + 24, strtabAt).putLong(strtab + 32, names.length());
        return elf.array();
    }

    @Test
    void theFirstFrameIsNamedAtItsPc() throws ElfException {
        assertEquals("f+0", name(symbolizer(0), 0, 0x1000));
        assertEquals("g+0", name(symbolizer(0), 0, 0x1010));
    }

    @Test
    void aReturnAddressIsNamedAtPcMinusOneWithThePcsOwnOffset() throws ElfException {
        // A call that ends f returns to g's first byte; the frame is still f's.
        assertEquals("f+16", name(symbolizer(0), 1, 0x1010));
        assertEquals("g+4", name(symbolizer(0), 1, 0x1014));
    }

    @Test
    void aReturnAddressAtAFunctionsFirstByteWithNothingBeforeItIsNamedThere() throws ElfException {
        // A signal trampoline's first byte (x86_64's __restore_rt): the byte before it is in no symbol (here: in no module).
        assertEquals("f+0", name(symbolizer(0), 1, 0x1000));
        // Where a function ends just before, the frame is still that function's (a call that ends it).
        assertEquals("f+16", name(symbolizer(0), 1, 0x1010));
        // Only at a function's first byte: 0x2501, past the sizeless h, is in nothing.
        assertNull(name(symbolizer(0), 1, 0x2501));
    }

    @Test
    void aGlobalNameWinsOverALocalAlias() throws ElfException {
        assertEquals("g+15", name(symbolizer(0), 0, 0x101f));
    }

    @Test
    void pastASizedFunctionNothingIsNamed() throws ElfException {
        assertNull(name(symbolizer(0), 0, 0x1020));
        assertNull(name(symbolizer(0), 0, 0xfff));
    }

    @Test
    void aSizelessFunctionNamesNothing() throws ElfException {
        assertNull(name(symbolizer(0), 0, 0x2000));
        assertNull(name(symbolizer(0), 0, 0x2500));
        assertEquals("/bin/prog", symbolizer(0).locate(0, 0x2500).module().path());
    }

    @Test
    void objectsAreNotFunctions() throws ElfException {
        assertNull(name(symbolizer(0), 0, 0x3000));
    }

    @Test
    void outsideEveryModuleThereIsNeitherModuleNorName() throws ElfException {
        assertNull(symbolizer(0).locate(0, 0x4000).module());
        assertNull(symbolizer(0).locate(0, 0x4000).symbol());
    }

    @Test
    void aBiasMovesEverySymbol() throws ElfException {
        assertEquals("f+4", name(symbolizer(0x5555_0000_0000L), 0, 0x5555_0000_1004L));
        assertNull(name(symbolizer(0x5555_0000_0000L), 0, 0x1004));
    }
}
