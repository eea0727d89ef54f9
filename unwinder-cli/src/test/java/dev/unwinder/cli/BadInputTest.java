package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input: one line on stderr that names the file and the problem, exit status 2, nothing on stdout. */
final class BadInputTest {
    @TempDir
    Path dir;

    /**
     * A thread or file that is wrong but not unreadable: the command prints what it can, says why in
     * a line that starts with {@code expectedLine}, and exits 0.
     */
    private static void assertPrinted(String expectedLine, Fixtures.Run run) {
        assertEquals(0, run.status(), run.err());
        assertEquals("", run.err());
        assertTrue(run.outLines().stream().anyMatch(line -> line.startsWith(expectedLine)), run.out());
    }

    private static void assertBadInput(String expectedLine, Fixtures.Run run) {
        assertEquals("unwinder: " + expectedLine + System.lineSeparator(), run.err());
        assertEquals(2, run.status());
        assertEquals("", run.out());
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, bytes);
        return file;
    }

    private static byte[] core(String arch) throws IOException {
        return Files.readAllBytes(Fixtures.core(arch));
    }

    /** A core's bytes as a buffer in its own byte order. */
    private static ByteBuffer buffer(byte[] bytes) {
        return ByteBuffer.wrap(bytes).order(bytes[5] == 2 ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
    }

    /** The file offset of program header {@code index}. */
    private static int phdr(byte[] bytes, int index) {
        ByteBuffer elf = buffer(bytes);
        return (int) elf.getLong(32) + index * Short.toUnsignedInt(elf.getShort(54));
    }

    /** The index of the first program header of {@code type}. */
    private static int firstOfType(byte[] bytes, int type) {
        ByteBuffer elf = buffer(bytes);
        for (int i = 0; i < Short.toUnsignedInt(elf.getShort(56)); i++) {
            if (elf.getInt(phdr(bytes, i)) == type) {
                return i;
            }
        }
        throw new AssertionError("no program header of type " + type);
    }

    /** The file offset of the first note's descriptor, the first thread's NT_PRSTATUS in these cores. */
    private static int prstatus(byte[] bytes) {
        ByteBuffer elf = buffer(bytes);
        int note = (int) elf.getLong(phdr(bytes, firstOfType(bytes, 4)) + 8);
        assertEquals(1, elf.getInt(note + 8), "the first note is NT_PRSTATUS");
        return note + 12 + ((elf.getInt(note) + 3) & ~3);
    }

    @Test
    void aFileThatIsNotElf() throws IOException {
        Path file = write("notes.txt", "just some text, long enough to be read".getBytes());
        assertBadInput(file + ": not an ELF file (it does not start with the ELF magic 7f 45 4c 46)",
                Fixtures.run("core", file));
    }

    @Test
    void anEmptyFile() throws IOException {
        Path file = write("empty", new byte[0]);
        assertBadInput(file + ": not an ELF file (it does not start with the ELF magic 7f 45 4c 46)",
                Fixtures.run("core", file));
    }

    @Test
    void aMissingFile() {
        Path file = dir.resolve("absent.core");
        assertBadInput(file + ": no such file", Fixtures.run("core", file));
    }

    @Test
    void aDirectory() {
        assertBadInput(dir + ": is a directory (expected: a file)", Fixtures.run("core", dir));
    }

    @Test
    void aPipeIsRefusedWithoutWaitingForAWriter() throws Exception {
        Path fifo = dir.resolve("core.fifo");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertEquals(0, mkfifo.waitFor());
        Fixtures.Run run = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> Fixtures.run("core", fifo));
        assertBadInput(fifo + ": is not a regular file, but a device, pipe or socket (expected: a file)", run);
    }

    @Test
    void aDevice() {
        assertBadInput("/dev/zero: is not a regular file, but a device, pipe or socket (expected: a file)",
                Fixtures.run("core", Path.of("/dev/zero")));
    }

    @Test
    void aCoreCutInsideItsHeader() throws IOException {
        Path file = write("header.core", Arrays.copyOf(core("x86_64"), 40));
        assertBadInput(file + ": truncated ELF header: the file has 40 bytes (expected: at least 64)",
                Fixtures.run("core", file));
    }

    @Test
    void aCoreCutInsideItsProgramHeaders() throws IOException {
        byte[] bytes = core("s390x");
        Path file = write("phdrs.core", Arrays.copyOf(bytes, 100));
        assertBadInput(file + ": truncated: 8 program headers at file offset 0x40 need 0x1c0 bytes, the file has 0x64",
                Fixtures.run("core", file));
    }

    @Test
    void aCoreCutInsideItsMemory() throws IOException {
        byte[] bytes = core("aarch64");
        int cut = bytes.length - 4096;
        Path file = write("cut.core", Arrays.copyOf(bytes, cut));
        int last = Short.toUnsignedInt(buffer(bytes).getShort(56)) - 1;
        ByteBuffer elf = buffer(bytes);
        String expected = String.format("%s: truncated or corrupt: PT_LOAD segment %d claims 0x%x bytes at file offset"
                        + " 0x%x, but the file has 0x%x bytes", file, last, elf.getLong(phdr(bytes, last) + 32),
                elf.getLong(phdr(bytes, last) + 8), cut);
        assertBadInput(expected, Fixtures.run("core", file));
    }

    @Test
    void anExecutableIsNotACore() {
        Path program = Fixtures.program("x86_64");
        assertBadInput(program + ": not a core file: its e_type is ET_EXEC, an executable (expected: ET_CORE)",
                Fixtures.run("core", program));
    }

    @Test
    void a32BitElfFile() throws IOException {
        byte[] bytes = core("x86_64");
        bytes[4] = 1;
        Path file = write("elf32.core", bytes);
        assertBadInput(file + ": ELF class 1 (32-bit) (expected: 2, 64-bit)", Fixtures.run("core", file));
    }

    @Test
    void aCoreOfAnUnknownMachine() throws IOException {
        byte[] bytes = core("x86_64");
        buffer(bytes).putShort(18, (short) 8);
        Path file = write("mips.core", bytes);
        assertBadInput(file + ": a core of an unsupported machine: e_machine 8"
                + " (expected: 62 (x86_64), 183 (aarch64), 243 (riscv64), 22 (s390x))", Fixtures.run("core", file));
    }

    /** A 64-byte ELF header of a core with no program headers. */
    private static byte[] headerOnlyCore(ByteOrder order, int machine) {
        ByteBuffer header = ByteBuffer.allocate(64).order(order);
        header.put(new byte[] {0x7f, 'E', 'L', 'F', 2, (byte) (order == ByteOrder.BIG_ENDIAN ? 2 : 1), 1});
        header.putShort(16, (short) 4).putShort(18, (short) machine).putInt(20, 1).putShort(52, (short) 64);
        return header.array();
    }

    @Test
    void aCoreWhoseByteOrderContradictsItsMachine() throws IOException {
        Path file = write("s390x-le.core", headerOnlyCore(ByteOrder.LITTLE_ENDIAN, 22));
        assertBadInput(file + ": a s390x core whose ELF header says LITTLE_ENDIAN (expected: BIG_ENDIAN)",
                Fixtures.run("core", file));
    }

    @Test
    void aCoreWithoutThreads() throws IOException {
        Path file = write("threadless.core", headerOnlyCore(ByteOrder.BIG_ENDIAN, 22));
        assertBadInput(file + ": the core has no NT_PRSTATUS note, so no thread to walk", Fixtures.run("core", file));
    }

    @Test
    void aNoteWhoseDescriptorSizeLies() throws IOException {
        byte[] bytes = core("s390x");
        ByteBuffer elf = buffer(bytes);
        int segment = firstOfType(bytes, 4);
        int note = (int) elf.getLong(phdr(bytes, segment) + 8);
        long segmentSize = elf.getLong(phdr(bytes, segment) + 32);
        elf.putInt(note + 4, 0x7fff_fff0);
        Path file = write("note.core", bytes);
        assertBadInput(String.format("%s: note 0 of PT_NOTE segment %d claims a 5-byte name and a %d-byte descriptor,"
                        + " but only %d bytes of the segment remain", file, segment, 0x7fff_fff0, segmentSize - 12),
                Fixtures.run("core", file));
    }

    @Test
    void aPrstatusNoteTooSmallForItsRegisters() throws IOException {
        byte[] bytes = core("x86_64");
        ByteBuffer elf = buffer(bytes);
        int note = (int) elf.getLong(phdr(bytes, firstOfType(bytes, 4)) + 8);
        int desc = prstatus(bytes);
        int size = elf.getInt(note + 4);
        // Shrink the descriptor to 200 bytes and fill the rest with a note of an unknown type, so
        // that the notes after it still parse.
        elf.putInt(note + 4, 200);
        elf.putInt(desc + 200, 0).putInt(desc + 204, size - 200 - 12).putInt(desc + 208, 0x7777);
        Path file = write("small-prstatus.core", bytes);
        assertBadInput(file + ": NT_PRSTATUS note of thread 1 has 200 bytes (expected: at least 328 for x86_64)",
                Fixtures.run("core", file));
    }

    @Test
    void aSegmentWhoseSizeLies() throws IOException {
        byte[] bytes = core("x86_64");
        ByteBuffer elf = buffer(bytes);
        int segment = firstOfType(bytes, 1);
        elf.putLong(phdr(bytes, segment) + 32, 0x7fff_ffff_ffff_0000L);
        Path file = write("segment.core", bytes);
        assertBadInput(String.format("%s: truncated or corrupt: PT_LOAD segment %d claims 0x7fffffffffff0000 bytes at"
                        + " file offset 0x%x, but the file has 0x%x bytes", file, segment,
                elf.getLong(phdr(bytes, segment) + 8), bytes.length),
                Fixtures.run("core", file));
    }

    @Test
    void aProgramHeaderCountThatLies() throws IOException {
        byte[] bytes = core("aarch64");
        buffer(bytes).putShort(56, (short) 0x7fff);
        Path file = write("phnum.core", bytes);
        assertBadInput(String.format("%s: truncated: 32767 program headers at file offset 0x40 need 0x1bffc8 bytes,"
                + " the file has 0x%x", file, bytes.length), Fixtures.run("core", file));
    }

    @Test
    void aPcOutsideEverySegment() throws IOException {
        byte[] bytes = core("x86_64");
        int tid = buffer(bytes).getInt(prstatus(bytes) + 32);
        buffer(bytes).putLong(prstatus(bytes) + 112 + 16 * 8, 0x10L);
        Path file = write("pc.core", bytes);
        assertPrinted("#0   0x0000000000000010 in ??", Fixtures.run("core", file));
    }

    @Test
    void anFpOutsideEverySegment() throws IOException {
        byte[] bytes = core("aarch64");
        int tid = buffer(bytes).getInt(prstatus(bytes) + 32);
        buffer(bytes).putLong(prstatus(bytes) + 112 + 29 * 8, 0x7777_0000_0000L);
        Path file = write("fp.core", bytes);
        assertPrinted("Walk ended after 1 frame: the first fp 0x777700000000 does not keep its links inside the stack"
                + " segment [0x5500001000, 0x5500041000) (outside-memory)", Fixtures.run("core", file, "--fp-only"));
    }

    @Test
    void anSpOutsideEverySegment() throws IOException {
        byte[] bytes = core("s390x");
        int tid = buffer(bytes).getInt(prstatus(bytes) + 32);
        // s390x pr_reg: PSW mask, PSW address, r0..r15; r15 is the sp.
        buffer(bytes).putLong(prstatus(bytes) + 112 + (2 + 15) * 8, 0x8L);
        Path file = write("sp.core", bytes);
        assertPrinted("Walk ended after 1 frame: sp 0x8 is outside every PT_LOAD segment of the core (outside-memory)",
                Fixtures.run("core", file));
        // The same with the call-frame information walk, which the executable's CFI selects.
        Fixtures.Run cfi = Fixtures.run("core", file, "--exe", Fixtures.program("s390x"));
        assertPrinted("#0   0x0000000001001038 in endpoint+304 (prog+0x1038)                        sp 0x0000000000000008  context",
                cfi);
        assertPrinted("Walk ended after 1 frame: sp 0x8 is outside every PT_LOAD segment of the core (outside-memory)", cfi);
    }

    @Test
    void anUnknownByteOrder() throws IOException {
        byte[] bytes = core("x86_64");
        bytes[5] = 3;
        Path file = write("order.core", bytes);
        assertBadInput(file + ": ELF data encoding 3 (expected: 1, little-endian, or 2, big-endian)",
                Fixtures.run("core", file));
    }

    @Test
    void anSpInASegmentWhoseBytesTheCoreLeavesOut() throws IOException {
        byte[] bytes = core("s390x");
        ByteBuffer elf = buffer(bytes);
        int segment = -1;
        for (int i = 0; i < Short.toUnsignedInt(elf.getShort(56)) && segment < 0; i++) {
            if (elf.getInt(phdr(bytes, i)) == 1 && elf.getLong(phdr(bytes, i) + 32) == 0
                    && elf.getLong(phdr(bytes, i) + 40) > 0) {
                segment = i;
            }
        }
        long vaddr = elf.getLong(phdr(bytes, segment) + 16);
        long end = vaddr + elf.getLong(phdr(bytes, segment) + 40);
        int tid = elf.getInt(prstatus(bytes) + 32);
        elf.putLong(prstatus(bytes) + 112 + (2 + 15) * 8, vaddr + 0x100);
        Path file = write("sp-text.core", bytes);
        assertPrinted(String.format("Walk ended after 1 frame: sp 0x%x is in a segment whose bytes the core does not hold"
                + " (outside-memory)", vaddr + 0x100), Fixtures.run("core", file));
    }

    /** The file offset of the section header of the first section of {@code type} in an executable. */
    private static int section(byte[] bytes, int type) {
        ByteBuffer elf = buffer(bytes);
        int shoff = (int) elf.getLong(40);
        for (int i = 0; i < Short.toUnsignedInt(elf.getShort(60)); i++) {
            if (elf.getInt(shoff + i * 64 + 4) == type) {
                return shoff + i * 64;
            }
        }
        throw new AssertionError("no section of type " + type);
    }

    @Test
    void anExecutableWithoutASymbolTable() throws IOException {
        byte[] bytes = Files.readAllBytes(Fixtures.program("aarch64"));
        buffer(bytes).putInt(section(bytes, 2) + 4, 1); // SHT_SYMTAB becomes SHT_PROGBITS
        Path program = write("stripped", bytes);
        assertPrinted("Module ./prog: symbols loaded (" + program + ": has no function symbols in .symtab or .dynsym)",
                Fixtures.run("core", Fixtures.core("aarch64"), "--exe", program));
    }

    @Test
    void anExecutableWhoseSymbolTableRunsPastItsEnd() throws IOException {
        byte[] bytes = Files.readAllBytes(Fixtures.program("s390x"));
        int header = section(bytes, 2);
        ByteBuffer elf = buffer(bytes);
        elf.putLong(header + 32, 0x10_0000_0000L);
        int index = (header - (int) elf.getLong(40)) / 64;
        Path program = write("lying-symtab", bytes);
        assertPrinted(String.format("Module ./prog: symbols missing (%s: symbol table section %d claims 0x1000000000 bytes"
                        + " at file offset 0x%x, past the end of the file)", program, index, elf.getLong(header + 24)),
                Fixtures.run("core", Fixtures.core("s390x"), "--exe", program));
    }

    @Test
    void anExecutableOfAnotherMachine() {
        Path core = Fixtures.core("s390x");
        Path program = Fixtures.program("aarch64");
        assertBadInput(program + ": an executable for e_machine 183, but the core " + core + " is for 22 (s390x)",
                Fixtures.run("core", core, "--exe", program));
    }

    @Test
    void aCoreGivenAsTheExecutable() {
        Path core = Fixtures.core("x86_64");
        assertBadInput(core + ": not an executable: its e_type is ET_CORE, a core file (expected: ET_EXEC or ET_DYN)",
                Fixtures.run("core", core, "--exe", core));
    }

    @Test
    void anUnknownFormat() {
        Fixtures.Run run = Fixtures.run("core", Fixtures.core("x86_64"), "--format", "xml");
        assertBadInput("Invalid value for option '--format': expected one of [TEXT, JSON] (case-insensitive) but was"
                + " 'xml' (see 'unwinder core --help')", run);
    }

    @Test
    void noSubcommand() {
        assertBadInput("a subcommand is missing: core, stack, walk or arches (see 'unwinder --help')", Fixtures.run());
    }

    @Test
    void aNegativeFrameLimit() {
        assertBadInput("--max-frames: -1 (expected: >= 0)",
                Fixtures.run("core", Fixtures.core("x86_64"), "--max-frames", "-1"));
    }

    @Test
    void aSysrootOrDebugDirectoryThatIsNotADirectory() throws IOException {
        Path file = write("plain-file", new byte[] {1});
        assertBadInput("--sysroot " + file + ": not a directory",
                Fixtures.run("core", Fixtures.core("x86_64"), "--sysroot", file));
        assertBadInput("--debug-dir " + file + ": not a directory",
                Fixtures.run("core", Fixtures.core("x86_64"), "--debug-dir", file));
    }

    @Test
    void aMissingExecutable() {
        Path missing = dir.resolve("no-such-program");
        assertBadInput("--exe " + missing + ": no such file", Fixtures.run("core", Fixtures.core("x86_64"), "--exe", missing));
    }

    @Test
    void aPerfMapWithAMalformedLine() throws IOException {
        Path map = Files.writeString(dir.resolve("perf-1.map"), "7f00 10 ok\nnot a line\n");
        assertBadInput(map + ": line 2: expected START SIZE NAME with hex numbers (got \"not a line\")",
                Fixtures.run("core", Fixtures.core("x86_64"), "--perf-map", map));
    }
}
