package dev.unwinder.livestack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The ELF symbol reader, on the built library and on broken input. */
final class ElfSymbolsTest {

    @Test
    void readsTheFunctionsOfTheBuiltLibrary() throws Exception {
        byte[] elf = Files.readAllBytes(LiveFixtures.liveStack().library());
        Map<String, NativeFunction> byName = ElfSymbols.functions(elf).stream()
                .collect(Collectors.toMap(NativeFunction::name, Function.identity(), (a, b) -> a));
        for (String name : List.of("live_descend", "live_bottom", "level_plain", "level_big_frame", "level_alloca",
                "level_stack_args")) {
            NativeFunction function = byName.get(name);
            assertTrue(function != null && function.size() > 0, () -> name + " in " + byName.keySet());
        }
        // Distinct functions do not overlap.
        List<NativeFunction> sorted = byName.values().stream()
                .sorted((a, b) -> Long.compareUnsigned(a.address(), b.address())).toList();
        for (int i = 1; i < sorted.size(); i++) {
            NativeFunction before = sorted.get(i - 1);
            assertTrue(Long.compareUnsigned(before.address() + before.size(), sorted.get(i).address()) <= 0,
                    () -> before + " overlaps the next function");
        }
    }

    @Test
    void rejectsWhatIsNotA64BitElfFile() {
        assertMessage("ELF file: no ELF header (expected: 0x7f 'E' 'L' 'F' and 64 bytes)", new byte[10]);
        assertMessage("ELF file: no ELF header (expected: 0x7f 'E' 'L' 'F' and 64 bytes)", new byte[64]);
        byte[] elf32 = header(1, 1);
        assertMessage("ELF file: class 1 (expected: 2, ELFCLASS64)", elf32);
        byte[] badData = header(2, 3);
        assertMessage("ELF file: data encoding 3 (expected: 1 or 2, little or big endian)", badData);
    }

    @Test
    void rejectsSectionTablesOutsideTheFile() {
        byte[] elf = header(2, 1);
        ByteBuffer bytes = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putShort(0x3a, (short) 64);
        bytes.putShort(0x3c, (short) 3);
        bytes.putLong(0x28, 0x7fff_ffff_0000L);
        assertMessage("ELF file: section header 0 at offset 0x7fffffff0000, 64 bytes (expected: inside the file's 64 bytes)",
                elf);
        bytes.putLong(0x28, -64);
        assertMessage("ELF file: section header 0 at offset 0xffffffffffffffc0, 64 bytes (expected: inside the file's 64 bytes)",
                elf);
        bytes.putShort(0x3a, (short) 40);
        assertMessage("ELF file: e_shentsize 40 (expected: 64)", elf);
        bytes.putShort(0x3a, (short) 64);
        bytes.putShort(0x3c, (short) 0);
        assertMessage("ELF file: no symbol table (expected: .symtab or .dynsym)", elf);
    }

    @Test
    void rejectsATruncatedLibrary() throws Exception {
        byte[] elf = Files.readAllBytes(LiveFixtures.liveStack().library());
        // Cutting the file before its section headers (at the end of the file) leaves them outside it.
        byte[] cut = Arrays.copyOf(elf, elf.length / 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ElfSymbols.functions(cut));
        assertTrue(e.getMessage().startsWith("ELF file: section header 0 at offset 0x"), e.getMessage());
        assertTrue(e.getMessage().endsWith("64 bytes (expected: inside the file's " + cut.length + " bytes)"),
                e.getMessage());
    }

    private static byte[] header(int elfClass, int data) {
        byte[] elf = new byte[64];
        elf[0] = 0x7f;
        elf[1] = 'E';
        elf[2] = 'L';
        elf[3] = 'F';
        elf[4] = (byte) elfClass;
        elf[5] = (byte) data;
        return elf;
    }

    private static void assertMessage(String message, byte[] elf) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, () -> ElfSymbols.functions(elf)).getMessage());
    }
}
