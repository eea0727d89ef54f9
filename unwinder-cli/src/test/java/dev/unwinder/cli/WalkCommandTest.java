package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.fixtures.StackFixture.TruthFrame;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * {@code unwinder walk} on raw captures cut out of the committed cores: the stack segment's bytes,
 * walked from the program's own record of frame 1 (f4).
 */
final class WalkCommandTest {
    private static final List<String> ARCHES = Fixtures.CORE_ARCHES;

    @TempDir
    Path dir;

    /** A raw capture: the bytes of the core's PT_LOAD segment that holds {@code address}, and their address. */
    private record Capture(Path memory, long base, long size) {}

    private Capture stackOf(String arch, long address) throws IOException {
        byte[] bytes = Files.readAllBytes(Fixtures.core(arch));
        ByteBuffer elf = ByteBuffer.wrap(bytes).order(bytes[5] == 2 ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        long phoff = elf.getLong(32);
        for (int i = 0; i < Short.toUnsignedInt(elf.getShort(56)); i++) {
            int at = (int) phoff + i * Short.toUnsignedInt(elf.getShort(54));
            long vaddr = elf.getLong(at + 16);
            long fileSize = elf.getLong(at + 32);
            if (elf.getInt(at) == 1 && Long.compareUnsigned(address - vaddr, fileSize) < 0) {
                int offset = (int) elf.getLong(at + 8);
                Path memory = dir.resolve(arch + ".stack");
                Files.write(memory, Arrays.copyOfRange(bytes, offset, offset + (int) fileSize));
                return new Capture(memory, vaddr, fileSize);
            }
        }
        throw new AssertionError("no PT_LOAD holds " + Fixtures.hex(address));
    }

    @ParameterizedTest
    @FieldSource("ARCHES")
    void strictWalkStopsAtTheSentinel(String arch) throws IOException {
        List<TruthFrame> truth = Fixtures.truth(arch);
        TruthFrame start = truth.get(1);
        TruthFrame main = truth.getLast();
        Capture capture = stackOf(arch, start.fp());
        Fixtures.Run run = Fixtures.run("walk", "--arch", arch, "--memory", capture.memory(), "--base",
                Fixtures.hex(capture.base()), "--pc", Fixtures.hex(start.pc()), "--fp", Fixtures.hex(start.fp()),
                "--entry-fp", Fixtures.hex(main.fp()), "--exe", Fixtures.program(arch), "--format", "json");
        assertEquals(0, run.status(), run.err());
        StringBuilder expected = new StringBuilder("{\"threads\":[{\"arch\":\"" + arch + "\",\"end\":\"entry-fp-reached\",\"frames\":[");
        for (int i = 1; i < truth.size() - 1; i++) {
            TruthFrame frame = truth.get(i);
            expected.append(i == 1 ? "" : ",").append("{\"pc\":\"").append(Fixtures.hex(frame.pc()))
                    .append("\",\"fp\":\"").append(Fixtures.hex(frame.fp())).append("\",\"symbol\":\"")
                    .append(frame.function()).append("\",\"offset\":");
            // The offsets are the pc's distance from the function's start and from the module's base; the text
            // output is checked below.
            expected.append("OFFSET,\"module\":\"").append(Fixtures.program(arch)).append("\",\"module_offset\":MODULE,\"how\":\"")
                    .append(i == 1 ? "context" : "fp").append("\"}");
        }
        expected.append("]}],\"modules\":[{\"path\":\"").append(Fixtures.program(arch)).append("\",");
        assertEquals(expected.toString(), run.out().strip()
                .replaceAll("\"offset\":\\d+,", "\"offset\":OFFSET,")
                .replaceAll("\"module_offset\":\"0x[0-9a-f]+\"", "\"module_offset\":MODULE")
                .replaceAll("\\{\"path\":\"([^\"]+)\",.*", "{\"path\":\"$1\","));
    }

    @ParameterizedTest
    @FieldSource("ARCHES")
    void lenientWalkGoesPastMainAndSaysWhereItEnded(String arch) throws IOException {
        List<TruthFrame> truth = Fixtures.truth(arch);
        TruthFrame start = truth.get(1);
        Capture capture = stackOf(arch, start.fp());
        Fixtures.Run run = Fixtures.run("walk", "--arch", arch, "--memory", capture.memory(), "--base",
                Fixtures.hex(capture.base()), "--pc", Fixtures.hex(start.pc()), "--fp", Fixtures.hex(start.fp()),
                "--exe", Fixtures.program(arch));
        assertEquals(0, run.status(), run.err());
        List<String> lines = run.outLines();
        assertEquals(String.format("Capture %s (%s): pc %s, fp %s; memory [%s, %s)", capture.memory(), arch,
                Fixtures.hex(start.pc()), Fixtures.hex(start.fp()), Fixtures.hex(capture.base()),
                Fixtures.hex(capture.base() + capture.size())), lines.getFirst());
        for (int i = 1; i < truth.size(); i++) {
            TruthFrame frame = truth.get(i);
            String line = lines.get(i);
            assertTrue(line.startsWith(String.format("#%-3d 0x%016x in %s+", i - 1, frame.pc(), frame.function())), line);
            assertTrue(line.endsWith(String.format("fp 0x%016x", frame.fp())), line);
        }
        String last = lines.getLast();
        assertTrue(last.startsWith("Walk ended after "), last);
        assertTrue(last.endsWith(arch.equals("aarch64") ? "(zero-fp)" : "(fp-not-growing)"), last);
    }

    @Test
    void aStrictWalkThatBreaksAnInvariantExitsWithOne() throws IOException {
        List<TruthFrame> truth = Fixtures.truth("s390x");
        TruthFrame start = truth.get(1);
        Capture capture = stackOf("s390x", start.fp());
        // An entry fp between f3's and f2's fps: f2's fp is not below it.
        long entryFp = truth.get(2).fp() + 8;
        Fixtures.Run run = Fixtures.run("walk", "--arch", "s390x", "--memory", capture.memory(), "--base",
                Fixtures.hex(capture.base()), "--pc", Fixtures.hex(start.pc()), "--fp", Fixtures.hex(start.fp()),
                "--entry-fp", Fixtures.hex(entryFp));
        assertEquals(1, run.status(), run.err());
        assertEquals(String.format("Walk failed after 2 frames: FP_NOT_BELOW_ENTRY_FP at frame 2, address %s: fp %s is"
                        + " not below the entry fp %s (fp-not-below-entry-fp)", Fixtures.hex(truth.get(3).fp()),
                Fixtures.hex(truth.get(3).fp()), Fixtures.hex(entryFp)), run.outLines().getLast());
    }

    @Test
    void anFpOutsideTheCapture() throws IOException {
        TruthFrame start = Fixtures.truth("x86_64").get(1);
        Capture capture = stackOf("x86_64", start.fp());
        long fp = capture.base() + capture.size();
        Fixtures.Run run = Fixtures.run("walk", "--arch", "x86_64", "--memory", capture.memory(), "--base",
                Fixtures.hex(capture.base()), "--pc", Fixtures.hex(start.pc()), "--fp", Fixtures.hex(fp));
        assertEquals(String.format("unwinder: --fp %s: the x86_64 frame's links (fp+0, fp+8) are outside the memory"
                        + " [%s, %s) of %s%n", Fixtures.hex(fp), Fixtures.hex(capture.base()), Fixtures.hex(fp),
                capture.memory()), run.err());
        assertEquals(2, run.status());
    }

    @Test
    void anUnknownArchitecture() throws IOException {
        Path memory = Files.write(dir.resolve("stack"), new byte[64]);
        Fixtures.Run run = Fixtures.run("walk", "--arch", "mips", "--memory", memory, "--base", "0x1000", "--pc", "1",
                "--fp", "0x1000");
        assertEquals("unwinder: --arch: no unwinder plugin for architecture \"mips\" (available: aarch64 [arm64],"
                + " riscv64, riscv64-cranelift, s390x, x86_64 [amd64, x86-64]); plugins are the artifacts"
                + " dev.unwinder:arch-aarch64, dev.unwinder:arch-riscv64, dev.unwinder:arch-s390x,"
                + " dev.unwinder:arch-x86_64" + System.lineSeparator(), run.err());
        assertEquals(2, run.status());
    }

    @Test
    void anAddressThatIsNotANumber() throws IOException {
        Path memory = Files.write(dir.resolve("stack"), new byte[64]);
        Fixtures.Run run = Fixtures.run("walk", "--arch", "x86_64", "--memory", memory, "--base", "0x1000", "--pc",
                "main", "--fp", "0x1000");
        assertEquals("unwinder: Invalid value for option '--pc': 'main' is not an address (expected: 0x-prefixed hex or"
                + " decimal, below 2^64) (see 'unwinder walk --help')" + System.lineSeparator(), run.err());
        assertEquals(2, run.status());
    }

    @Test
    void aCaptureThatWouldRunPastTheAddressSpace() throws IOException {
        Path memory = Files.write(dir.resolve("stack"), new byte[64]);
        Fixtures.Run run = Fixtures.run("walk", "--arch", "x86_64", "--memory", memory, "--base", "0xfffffffffffffff0",
                "--pc", "1", "--fp", "0xfffffffffffffff0");
        assertEquals("unwinder: --base 0xfffffffffffffff0: the 64 bytes of " + memory
                + " would run past the top of the address space" + System.lineSeparator(), run.err());
        assertEquals(2, run.status());
    }

    @Test
    void aCaptureTooSmallForAWord() throws IOException {
        Path memory = Files.write(dir.resolve("stack"), new byte[4]);
        Fixtures.Run run = Fixtures.run("walk", "--arch", "s390x", "--memory", memory, "--base", "0x1000", "--pc", "1",
                "--fp", "0x1000");
        assertEquals("unwinder: " + memory + ": 4 bytes (expected: a stack capture of at least one 8-byte word)"
                + System.lineSeparator(), run.err());
        assertEquals(2, run.status());
    }

    @Test
    void missingOptions() {
        Fixtures.Run run = Fixtures.run("walk", "--arch", "x86_64");
        assertEquals("unwinder: Missing required options: '--memory=FILE', '--base=ADDR', '--pc=ADDR', '--fp=ADDR'"
                + " (see 'unwinder walk --help')" + System.lineSeparator(), run.err());
        assertEquals(2, run.status());
    }
}
