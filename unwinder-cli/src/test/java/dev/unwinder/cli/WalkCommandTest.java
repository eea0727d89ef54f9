package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.CoreFile;
import dev.unwinder.elf.ElfException;
import dev.unwinder.elf.ElfFile;
import dev.unwinder.fixtures.StackFixture.TruthFrame;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * {@code unwinder walk} on raw captures cut out of the committed cores: the stack segment's bytes,
 * walked by frame pointers from the program's own record of frame 1 (f4), and with call-frame
 * information from the thread's registers ({@code --sp}, {@code --reg}).
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

    /** A thread of the committed core: its pc and registers by DWARF number. */
    private static long[] registersOf(String arch) {
        try (Arena arena = Arena.ofConfined()) {
            CoreFile.CoreThread thread = CoreFile.read(ElfFile.open(Fixtures.core(arch), arena)).threads().getFirst();
            long[] registers = thread.dwarfRegisters();
            long[] pcAndRegisters = new long[registers.length + 1];
            pcAndRegisters[0] = thread.pc();
            System.arraycopy(registers, 0, pcAndRegisters, 1, registers.length);
            return pcAndRegisters;
        } catch (ElfException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * walk's arguments for the core's thread: its stack, pc, sp and fp (and on s390x r11), or with
     * {@code allRegisters} every register.
     */
    private List<Object> threadArgs(String arch, boolean allRegisters) throws IOException {
        long[] registers = registersOf(arch);
        int sp = switch (arch) {
            case "x86_64" -> 7;
            case "aarch64" -> 31;
            default -> 15;
        };
        long spValue = registers[sp + 1];
        Capture capture = stackOf(arch, spValue);
        long fp = Fixtures.truth(arch).getFirst().fp();
        List<Object> args = new ArrayList<>(List.of("walk", "--arch", arch, "--memory", capture.memory(), "--base",
                Fixtures.hex(capture.base()), "--pc", Fixtures.hex(registers[0]), "--fp", Fixtures.hex(fp), "--sp",
                Fixtures.hex(spValue), "--exe", Fixtures.program(arch)));
        for (int r = 0; allRegisters && r < registers.length - 1; r++) {
            args.addAll(List.of("--reg", r + "=" + Fixtures.hex(registers[r + 1])));
        }
        if (!allRegisters && arch.equals("s390x")) {
            // s390x's fp is the backchain word, not a register: the CFI's frame register is r11, given as such.
            args.addAll(List.of("--reg", "11=" + Fixtures.hex(registers[11 + 1])));
        }
        return args;
    }

    /** The frames of a JSON report (what follows "frames": up to the end of the thread), without module paths. */
    private static String frames(String json) {
        return json.substring(json.indexOf("\"frames\":"), json.indexOf("]}],\"modules\""))
                .replaceAll("\"module\":\"[^\"]*\",", "");
    }

    @ParameterizedTest
    @FieldSource("ARCHES")
    void withEveryRegisterTheWalkIsTheCoresCallFrameInformationWalk(String arch) throws IOException {
        List<Object> args = threadArgs(arch, true);
        args.addAll(List.of("--format", "json"));
        Fixtures.Run walk = Fixtures.run(args.toArray());
        assertEquals(0, walk.status(), walk.err());
        Fixtures.Run core = Fixtures.run("core", Fixtures.core(arch), "--exe", Fixtures.program(arch), "--format", "json");
        assertEquals(frames(core.out()), frames(walk.out()));
        assertTrue(walk.out().contains("\"how\":\"cfi\"") && walk.out().contains("\"end\":\"outermost\""), walk.out());
    }

    @ParameterizedTest
    @FieldSource("ARCHES")
    void withSpTheCallFrameInformationWalkFindsTheRecordedFrames(String arch) throws IOException {
        Fixtures.Run run = Fixtures.run(threadArgs(arch, false).toArray());
        assertEquals(0, run.status(), run.err());
        List<TruthFrame> truth = Fixtures.truth(arch);
        List<String> lines = run.outLines();
        assertTrue(lines.getFirst().matches("Capture .* \\(" + arch + "\\): pc 0x[0-9a-f]+, sp 0x[0-9a-f]+, fp 0x[0-9a-f]+;"
                + " memory \\[0x[0-9a-f]+, 0x[0-9a-f]+\\)"), lines.getFirst());
        for (int i = 0; i < truth.size(); i++) {
            String line = lines.get(i + 1);
            assertTrue(line.startsWith(String.format("#%-3d 0x%016x in %s+", i, truth.get(i).pc(), truth.get(i).function())),
                    run.out());
            assertTrue(line.endsWith(i == 0 ? "  context" : "  cfi"), line);
        }
    }

    @ParameterizedTest
    @FieldSource("ARCHES")
    void withoutCallFrameInformationOrWithFpOnlyTheWalkIsTheFramePointerWalk(String arch) throws IOException {
        List<Object> args = threadArgs(arch, false);
        List<Object> plain = without(without(args, "--sp"), "--reg");
        String before = Fixtures.run(plain.toArray()).out();
        assertTrue(before.contains("  fp 0x") && !before.contains("  cfi"), before);
        args.add("--fp-only");
        assertEquals(before, Fixtures.run(args.toArray()).out(), "--fp-only");
        // No --exe: no call-frame information, so --sp changes nothing.
        List<Object> noExe = new ArrayList<>(args.subList(0, args.indexOf("--exe")));
        List<Object> noExeNoSp = new ArrayList<>(plain.subList(0, plain.indexOf("--exe")));
        assertEquals(Fixtures.run(noExeNoSp.toArray()).out(), Fixtures.run(noExe.toArray()).out(), "no --exe");
    }

    /** The arguments without every option {@code name} and its value. */
    private static List<Object> without(List<Object> args, String name) {
        List<Object> rest = new ArrayList<>(args);
        for (int at = rest.indexOf(name); at >= 0; at = rest.indexOf(name)) {
            rest.subList(at, at + 2).clear();
        }
        return rest;
    }

    @Test
    void registersAreForTheCallFrameInformationWalkOnly() throws IOException {
        List<Object> args = threadArgs("x86_64", false);
        List<Object> strict = new ArrayList<>(args);
        strict.addAll(List.of("--entry-fp", "0x7ffcaccf3400"));
        assertEquals("unwinder: --entry-fp: a strict walk follows the frame-pointer chain only, so it takes no --sp or --reg"
                + " (leave out --entry-fp for the call-frame information walk)" + System.lineSeparator(),
                Fixtures.run(strict.toArray()).err());
        List<Object> noSp = new ArrayList<>(args);
        int sp = noSp.indexOf("--sp");
        noSp.subList(sp, sp + 2).clear();
        noSp.addAll(List.of("--reg", "6=0x10"));
        assertEquals("unwinder: --reg: registers are for the call-frame information walk, which needs --sp"
                + System.lineSeparator(), Fixtures.run(noSp.toArray()).err());
        for (String bad : List.of("6", "x=1", "200=1", "-1=1")) {
            List<Object> withBad = new ArrayList<>(args);
            withBad.addAll(List.of("--reg", bad));
            Fixtures.Run run = Fixtures.run(withBad.toArray());
            assertEquals("unwinder: --reg " + bad + ": not a register (expected: N=ADDR, N a DWARF register number from 0"
                    + " to 127)" + System.lineSeparator(), run.err());
            assertEquals(2, run.status());
        }
        List<Object> badValue = new ArrayList<>(args);
        badValue.addAll(List.of("--reg", "6=main"));
        assertEquals("unwinder: --reg 6=main: 'main' is not an address (expected: 0x-prefixed hex or decimal, below 2^64)"
                + System.lineSeparator(), Fixtures.run(badValue.toArray()).err());
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
