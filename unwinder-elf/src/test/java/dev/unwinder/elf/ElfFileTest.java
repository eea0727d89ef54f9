package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link ElfFile} on a program gcc builds here and on files cut or bent from it, against readelf:
 * the same program headers, sections and build-id; a file that lies fails with the field that
 * lies; a separate debug file, whose segments keep their offsets but no bytes, is read.
 */
final class ElfFileTest {
    private static Arena arena;
    private static Path dir;
    private static Path program;

    @BeforeAll
    static void build() {
        arena = Arena.ofShared();
        dir = TestPrograms.freshDirectory("elf-file");
        program = TestPrograms.symbolsProgram(dir, "symbols");
    }

    @AfterAll
    static void close() {
        if (arena != null) {
            arena.close();
        }
    }

    private static final Pattern SEGMENT = Pattern.compile(
            "^\\s*([A-Z_]+)\\s+0x([0-9a-f]+)\\s+0x([0-9a-f]+)\\s+0x[0-9a-f]+\\s+0x([0-9a-f]+)\\s+0x([0-9a-f]+)", Pattern.MULTILINE);

    @Test
    void readsTheProgramHeadersReadelfPrints() throws ElfException {
        Matcher segment = SEGMENT.matcher(TestPrograms.check(dir, "readelf", "-lW", program.toString()));
        List<String> expected = new ArrayList<>();
        while (segment.find()) {
            expected.add(String.format("%s 0x%s 0x%s 0x%s 0x%s", segment.group(1), segment.group(2).replaceFirst("^0+(?=.)", ""),
                    segment.group(3).replaceFirst("^0+(?=.)", ""), segment.group(4).replaceFirst("^0+(?=.)", ""),
                    segment.group(5).replaceFirst("^0+(?=.)", "")));
        }
        ElfFile elf = ElfFile.open(program, arena);
        List<String> ours = new ArrayList<>();
        for (ElfFile.ProgramHeader header : elf.programHeaders()) {
            String type = switch (header.type()) {
                case ElfFile.PT_LOAD -> "LOAD";
                case ElfFile.PT_DYNAMIC -> "DYNAMIC";
                case 3 -> "INTERP";
                case ElfFile.PT_NOTE -> "NOTE";
                case ElfFile.PT_PHDR -> "PHDR";
                case 0x6474e550 -> "GNU_EH_FRAME";
                case 0x6474e551 -> "GNU_STACK";
                case 0x6474e552 -> "GNU_RELRO";
                case 0x6474e553 -> "GNU_PROPERTY";
                default -> String.format("0x%x", header.type());
            };
            ours.add(String.format("%s 0x%x 0x%x 0x%x 0x%x", type, header.offset(), header.vaddr(), header.fileSize(),
                    header.memorySize()));
        }
        assertEquals(expected, ours);
        assertEquals(ElfFile.ET_DYN, elf.type());
        assertEquals(62, elf.machine());
        assertEquals(ByteOrder.LITTLE_ENDIAN, elf.byteOrder());
        assertEquals(program.toString(), elf.name());
        assertEquals(TestPrograms.read(program).length, elf.bytes().byteSize());
    }

    @Test
    void findsSectionsByNameAndTheBuildIdReadelfPrints() throws ElfException {
        ElfFile elf = ElfFile.open(program, arena);
        assertEquals(TestPrograms.readelfBuildId(program), HexFormat.of().formatHex(elf.buildId()));
        ElfFile.SectionHeader text = elf.section(".text");
        Matcher readelf = Pattern.compile("\\]\\s+\\.text\\s+PROGBITS\\s+([0-9a-f]+)\\s+([0-9a-f]+)\\s+([0-9a-f]+)")
                .matcher(TestPrograms.check(dir, "readelf", "-SW", program.toString()));
        assertEquals(true, readelf.find());
        assertEquals(Long.parseLong(readelf.group(1), 16), text.address());
        assertEquals(Long.parseLong(readelf.group(2), 16), text.offset());
        assertEquals(Long.parseLong(readelf.group(3), 16), text.size());
        assertEquals(text.size(), elf.sectionBytes(text).byteSize());
        assertNull(elf.section(".gnu_debuglink"));
        assertNull(elf.section(".tex"));
        assertEquals(0, elf.sectionBytes(elf.section(".bss")).byteSize(), "SHT_NOBITS has no bytes in the file");
        List<ElfFile.Note> notes = elf.notes("GNU", Set.of(ElfFile.NT_GNU_BUILD_ID));
        assertEquals(1, notes.size());
        assertEquals(elf.sectionNotes("GNU", Set.of(ElfFile.NT_GNU_BUILD_ID)), notes);
        assertEquals(List.of(), elf.notes("CORE", Set.of(ElfFile.NT_GNU_BUILD_ID)));
    }

    /**
     * {@code objcopy --only-keep-debug} keeps the program headers, but the segments' bytes are gone:
     * their file size is 0 and their offsets may lie past the end of the smaller file. A small
     * program's MiniDebugInfo is such a file.
     */
    @Test
    void readsADebugFileWhoseEmptySegmentsLiePastItsEnd() throws ElfException {
        Path debug = dir.resolve("only-keep-debug");
        TestPrograms.check(dir, "objcopy", "--only-keep-debug", program.toString(), debug.toString());
        TestPrograms.check(dir, "objcopy", "--strip-all", debug.toString());
        ElfFile elf = ElfFile.open(debug, arena);
        long size = elf.bytes().byteSize();
        List<ElfFile.ProgramHeader> pastTheEnd = elf.programHeaders().stream()
                .filter(header -> header.type() == ElfFile.PT_LOAD && Long.compareUnsigned(header.offset(), size) > 0)
                .toList();
        assertEquals(false, pastTheEnd.isEmpty(), "objcopy leaves a segment's offset past the end: " + elf.programHeaders());
        for (ElfFile.ProgramHeader header : pastTheEnd) {
            assertEquals(0, header.fileSize());
        }
        assertArrayEquals(ElfFile.open(program, arena).buildId(), elf.buildId());
    }

    @Test
    void aSegmentWithBytesPastTheEndIsRejected() {
        byte[] bytes = TestPrograms.read(program);
        ByteBuffer elf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long phoff = elf.getLong(32);
        int load = 0;
        while (elf.getInt((int) phoff + 56 * load) != ElfFile.PT_LOAD) {
            load++;
        }
        int header = (int) phoff + 56 * load;
        elf.putLong(header + 8, bytes.length);
        elf.putLong(header + 32, 1);
        assertEquals(String.format("bent: truncated or corrupt: PT_LOAD segment %d claims 0x1 bytes at file offset 0x%x,"
                + " but the file has 0x%x bytes", load, bytes.length, bytes.length), rejected(bytes).getMessage());
        elf.putLong(header + 32, 0);
        assertEquals(ElfFile.PT_LOAD, accepted(bytes).programHeaders().get(load).type(), "no bytes at the end: nothing to read");
    }

    @Test
    void filesThatAreNotElfOrCutShortAreRejected() {
        byte[] bytes = TestPrograms.read(program);
        assertEquals("bent: not an ELF file (it does not start with the ELF magic 7f 45 4c 46)",
                rejected(new byte[] {0x7f, 'E', 'L'}).getMessage());
        assertEquals("bent: truncated ELF header: the file has 63 bytes (expected: at least 64)",
                rejected(java.util.Arrays.copyOf(bytes, 63)).getMessage());
        byte[] elf32 = bytes.clone();
        elf32[4] = 1;
        assertEquals("bent: ELF class 1 (32-bit) (expected: 2, 64-bit)", rejected(elf32).getMessage());
        byte[] encoding = bytes.clone();
        encoding[5] = 3;
        assertEquals("bent: ELF data encoding 3 (expected: 1, little-endian, or 2, big-endian)", rejected(encoding).getMessage());
        int phnum = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getShort(56);
        assertEquals(String.format("bent: truncated: %d program headers at file offset 0x40 need 0x%x bytes, the file has 0x100",
                phnum, 56 * phnum), rejected(java.util.Arrays.copyOf(bytes, 0x100)).getMessage());
    }

    @Test
    void filesThatCannotBeOpenedSayWhy() {
        assertEquals(dir.resolve("none") + ": no such file",
                assertThrows(ElfException.class, () -> ElfFile.open(dir.resolve("none"), arena)).getMessage());
        assertEquals(dir + ": is a directory (expected: a file)",
                assertThrows(ElfException.class, () -> ElfFile.open(dir, arena)).getMessage());
        assertEquals("/dev/null: is not a regular file, but a device, pipe or socket (expected: a file)",
                assertThrows(ElfException.class, () -> ElfFile.open(Path.of("/dev/null"), arena)).getMessage());
    }

    private static ElfException rejected(byte[] bytes) {
        return assertThrows(ElfException.class, () -> ElfFile.of("bent", MemorySegment.ofArray(bytes)));
    }

    private static ElfFile accepted(byte[] bytes) {
        try {
            return ElfFile.of("bent", MemorySegment.ofArray(bytes));
        } catch (ElfException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }
}
