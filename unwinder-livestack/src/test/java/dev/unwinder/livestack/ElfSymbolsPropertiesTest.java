package dev.unwinder.livestack;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * Corrupted copies of the built library: the ELF reader returns functions or throws
 * {@link IllegalArgumentException} naming the ELF file, and nothing else.
 */
final class ElfSymbolsPropertiesTest {
    private static byte[] library;

    private static byte[] library() throws IOException {
        if (library == null) {
            Path file = LiveStack.defaultLibraryFile()
                    .orElseThrow(() -> new IllegalStateException(LiveStack.LIBRARY_NAME + " was not built (gcc missing?)"));
            library = Files.readAllBytes(file);
        }
        return library;
    }

    @Property(tries = 400)
    void corruptedLibrariesAreReadOrRejectedWithAClearError(@ForAll Random random) throws IOException {
        byte[] elf = library().clone();
        int sectionHeaders = (int) ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN).getLong(0x28);
        int changes = 1 + random.nextInt(8);
        for (int i = 0; i < changes; i++) {
            // Aim at the ELF header, the section headers and the rest of the file alike.
            int position = switch (random.nextInt(3)) {
                case 0 -> 0x18 + random.nextInt(0x28);
                case 1 -> sectionHeaders + random.nextInt(elf.length - sectionHeaders);
                default -> random.nextInt(elf.length);
            };
            elf[position] = (byte) random.nextInt(256);
        }
        byte[] input = random.nextInt(4) == 0 ? Arrays.copyOf(elf, random.nextInt(elf.length)) : elf;
        try {
            List<NativeFunction> functions = ElfSymbols.functions(input);
            assertTrue(functions.stream().allMatch(f -> f.size() > 0), functions::toString);
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().startsWith("ELF file: "), e::toString);
        }
    }
}
