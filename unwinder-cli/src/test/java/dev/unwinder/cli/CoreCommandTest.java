package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.fixtures.StackFixture.TruthFrame;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * {@code unwinder core} on the committed cores, checked against each program's own record of its
 * frames: the frame-pointer walk ({@code --fp-only}), whose fps the record has, and the default
 * call-frame information walk.
 */
final class CoreCommandTest {
    private static final List<String> ARCHES = Fixtures.CORE_ARCHES;
    private static final Pattern TEXT_FRAME =
            Pattern.compile("#(\\d+) +0x([0-9a-f]{16}) in (\\S+?)\\+(\\d+) \\(prog\\+0x[0-9a-f]+\\) +fp 0x([0-9a-f]{16})");
    private static final Pattern JSON_FRAME =
            Pattern.compile("\\{\"pc\":\"0x([0-9a-f]+)\",\"fp\":\"0x([0-9a-f]+)\",\"symbol\":\"([^\"]+)\",\"offset\":(\\d+)"
                    + ",\"module\":\"[^\"]*/prog\",\"module_offset\":\"0x[0-9a-f]+\",\"how\":\"(context|fp)\"}");

    @ParameterizedTest
    @FieldSource("ARCHES")
    void textNamesEveryFrameTheProgramRecorded(String arch) {
        Fixtures.Run run = Fixtures.run("core", Fixtures.core(arch), "--exe", Fixtures.program(arch), "--fp-only");
        assertEquals(0, run.status(), run.err());
        assertEquals("", run.err());
        List<TruthFrame> truth = Fixtures.truth(arch);
        List<String> frameLines = run.outLines().stream().filter(line -> line.startsWith("#")).toList();
        assertTrue(frameLines.size() >= truth.size(), run.out());
        for (TruthFrame expected : truth) {
            Matcher frame = TEXT_FRAME.matcher(frameLines.get(expected.index()));
            assertTrue(frame.matches(), frameLines.get(expected.index()));
            assertEquals(expected.index(), Integer.parseInt(frame.group(1)));
            if (expected.pc() != -1) {
                assertEquals(expected.pc(), Long.parseUnsignedLong(frame.group(2), 16), frame.group());
            }
            assertEquals(expected.function(), frame.group(3), frame.group());
            assertEquals(expected.fp(), Long.parseUnsignedLong(frame.group(5), 16), frame.group());
        }
        assertTrue(run.outLines().getFirst().startsWith("Thread "), run.out());
        assertTrue(run.outLines().stream().anyMatch(line -> line.startsWith("Walk ended after ")), run.out());
    }

    @ParameterizedTest
    @FieldSource("ARCHES")
    void jsonHasTheDocumentedShape(String arch) {
        Fixtures.Run run = Fixtures.run("core", Fixtures.core(arch), "--exe", Fixtures.program(arch), "--format", "json",
                "--fp-only");
        assertEquals(0, run.status(), run.err());
        String json = run.out().strip();
        Matcher head = Pattern.compile("\\{\"threads\":\\[\\{\"tid\":(\\d+),\"arch\":\"" + arch
                + "\",\"end\":\"([a-z-]+)\",\"frames\":\\[(.*)]}],\"modules\":\\[\\{\"path\":\"[^\"]*prog\",.*]}").matcher(json);
        assertTrue(head.matches(), json);
        String expectedEnd = arch.equals("aarch64") ? "zero-fp" : "fp-not-growing";
        assertEquals(expectedEnd, head.group(2));
        List<TruthFrame> truth = Fixtures.truth(arch);
        Matcher frame = JSON_FRAME.matcher(head.group(3));
        int index = 0;
        int end = 0;
        while (frame.find()) {
            assertEquals(end == 0 ? 0 : end + 1, frame.start(), "frames are separated by one comma: " + head.group(3));
            end = frame.end();
            if (index < truth.size()) {
                TruthFrame expected = truth.get(index);
                assertEquals(expected.function(), frame.group(3));
                assertEquals(expected.fp(), Long.parseUnsignedLong(frame.group(2), 16));
                assertEquals(index == 0 ? "context" : "fp", frame.group(5));
                if (expected.pc() != -1) {
                    assertEquals(expected.pc(), Long.parseUnsignedLong(frame.group(1), 16));
                }
            }
            index++;
        }
        assertEquals(head.group(3).length(), end, "every frame has pc, fp, symbol, offset, module and how: " + head.group(3));
        assertTrue(index >= truth.size(), json);
    }

    @ParameterizedTest
    @FieldSource("ARCHES")
    void withoutAnExecutableFramesHaveNoSymbol(String arch, @TempDir Path emptySysroot) {
        Fixtures.Run run = Fixtures.run("core", Fixtures.core(arch), "--sysroot", emptySysroot, "--format", "json");
        assertEquals(0, run.status(), run.err());
        assertTrue(run.out().contains("\"frames\":[{\"pc\":\"0x"), run.out());
        assertTrue(!run.out().contains("\"symbol\":") && !run.out().contains("\"offset\":"), run.out());
        Fixtures.Run text = Fixtures.run("core", Fixtures.core(arch), "--sysroot", emptySysroot, "--fp-only");
        List<String> frames = text.outLines().stream().filter(line -> line.startsWith("#")).toList();
        assertEquals(Fixtures.truth(arch).getLast().fp(),
                Long.parseUnsignedLong(frames.get(Fixtures.truth(arch).size() - 1).replaceAll(".*fp 0x", ""), 16));
        assertTrue(frames.stream().allMatch(line -> line.contains(" in ?? ")), text.out());
        Fixtures.Run byDefault = Fixtures.run("core", Fixtures.core(arch), "--sysroot", emptySysroot);
        if (arch.equals("x86_64")) {
            // The kernel core keeps the vDSO, whose call-frame information selects the CFI walk: in the program, without
            // its file, it follows the frame-pointer rule, and finds the chain's frames (and one more, main's caller).
            List<String> pcs = frames.stream().map(line -> line.substring(0, 26)).toList();
            List<String> ours = byDefault.outLines().stream().filter(line -> line.startsWith("#")).toList();
            assertEquals(pcs, ours.subList(0, pcs.size()).stream().map(line -> line.substring(0, 26)).toList(), byDefault.out());
            assertTrue(ours.stream().skip(1).allMatch(line -> line.endsWith("  fp")), byDefault.out());
        } else {
            // Without its files no module of a qemu core has call-frame information: the default walk is the chain's.
            assertEquals(text.out(), byDefault.out());
        }
    }

    @ParameterizedTest
    @FieldSource("ARCHES")
    void maxFramesCutsTheWalk(String arch) {
        Fixtures.Run run = Fixtures.run("core", Fixtures.core(arch), "--max-frames", "2", "--format", "json");
        assertEquals(0, run.status(), run.err());
        assertTrue(run.out().contains("\"end\":\"frame-limit\""), run.out());
        assertEquals(2, run.out().split("\\{\"pc\"", -1).length - 1, run.out());
    }

    @ParameterizedTest
    @FieldSource("ARCHES")
    void theThreadLineShowsTheRegisters(String arch) {
        Fixtures.Run run = Fixtures.run("core", Fixtures.core(arch), "--exe", Fixtures.program(arch), "--fp-only");
        String first = run.outLines().getFirst();
        Matcher thread = Pattern.compile("Thread \\d+ \\(" + arch + "\\): pc 0x[0-9a-f]+, sp 0x[0-9a-f]+"
                + (arch.equals("x86_64") ? "" : ", (x30|r14) 0x[0-9a-f]+ \\(\\w+\\+\\d+\\)")
                + ", fp 0x([0-9a-f]+); stack segment \\[0x[0-9a-f]+, 0x[0-9a-f]+\\)").matcher(first);
        assertTrue(thread.matches(), first);
        assertEquals(Fixtures.truth(arch).getFirst().fp(), Long.parseUnsignedLong(thread.group(thread.groupCount()), 16));
    }

    private static final Pattern CFI_TEXT_FRAME =
            Pattern.compile("#(\\d+) +0x([0-9a-f]{16}) in (\\S+?)(\\+\\d+)? \\(prog\\+0x[0-9a-f]+\\) +sp 0x([0-9a-f]{16})  ([a-z]+)");

    /** The default walk: the recorded frames, each with its sp and how it was found, and on past main to _start's frame. */
    @ParameterizedTest
    @FieldSource("ARCHES")
    void theDefaultWalkUsesCallFrameInformation(String arch) {
        Fixtures.Run run = Fixtures.run("core", Fixtures.core(arch), "--exe", Fixtures.program(arch));
        assertEquals(0, run.status(), run.err());
        List<TruthFrame> truth = Fixtures.truth(arch);
        List<String> frameLines = run.outLines().stream().filter(line -> line.startsWith("#")).toList();
        assertTrue(frameLines.size() > truth.size(), "past main: " + run.out());
        long previousSp = 0;
        for (int i = 0; i < frameLines.size(); i++) {
            Matcher frame = CFI_TEXT_FRAME.matcher(frameLines.get(i));
            assertTrue(frame.matches(), frameLines.get(i));
            assertEquals(i, Integer.parseInt(frame.group(1)));
            assertEquals(i == 0 ? "context" : "cfi", frame.group(6), frameLines.get(i));
            long sp = Long.parseUnsignedLong(frame.group(5), 16);
            assertTrue(i == 0 || Long.compareUnsigned(sp, previousSp) > 0, "sp grows: " + run.out());
            previousSp = sp;
            if (i < truth.size()) {
                TruthFrame expected = truth.get(i);
                assertEquals(expected.function(), frame.group(3), frame.group());
                if (expected.pc() != -1) {
                    assertEquals(expected.pc(), Long.parseUnsignedLong(frame.group(2), 16), frame.group());
                }
            }
        }
        assertTrue(run.outLines().getFirst().matches("Thread \\d+ \\(" + arch + "\\): pc 0x[0-9a-f]+, sp 0x[0-9a-f]+"
                + (arch.equals("x86_64") ? "" : ", (x30|r14) 0x[0-9a-f]+ \\(\\w+\\+\\d+\\)")
                + "; stack segment \\[0x[0-9a-f]+, 0x[0-9a-f]+\\)"), run.outLines().getFirst());
        assertTrue(run.out().contains("\nWalk ended after " + frameLines.size() + " frames: frame #" + (frameLines.size() - 1)
                + " is the outermost: its return address is undefined or 0 (outermost)\n"), run.out());
    }

    @ParameterizedTest
    @FieldSource("ARCHES")
    void theDefaultWalksJsonHasSpAndHow(String arch) {
        Fixtures.Run run = Fixtures.run("core", Fixtures.core(arch), "--exe", Fixtures.program(arch), "--format", "json");
        assertEquals(0, run.status(), run.err());
        String json = run.out().strip();
        assertTrue(json.matches("\\{\"threads\":\\[\\{\"tid\":\\d+,\"arch\":\"" + arch + "\",\"end\":\"outermost\",\"frames\":\\["
                + "\\{\"pc\":\"0x[0-9a-f]+\",\"sp\":\"0x[0-9a-f]+\",\"symbol\":\"endpoint\",\"offset\":\\d+,\"module\":\"[^\"]*prog\","
                + "\"module_offset\":\"0x[0-9a-f]+\",\"how\":\"context\"},\\{\"pc\":\"0x[0-9a-f]+\",\"sp\":\"0x[0-9a-f]+\","
                + "\"symbol\":\"f4\",.*\"how\":\"cfi\"},.*"), json);
        assertTrue(!json.contains("\"fp\":"), json);
    }

    /** gdb's "info registers" in fixtures/cores/ARCH/bt.txt: name to value. */
    private static java.util.Map<String, String> gdbRegisters(String arch) {
        java.util.Map<String, String> registers = new java.util.HashMap<>();
        for (String line : Fixtures.lines(dev.unwinder.fixtures.CoreFixture.directory(arch).resolve("bt.txt"))) {
            String[] words = line.trim().split("\\s+", 3);
            if (words.length == 3 && words[1].startsWith("0x") && !line.startsWith("#")) {
                registers.putIfAbsent(words[0], words[1] + " " + words[2]);
            }
        }
        return registers;
    }

    @ParameterizedTest
    @FieldSource("ARCHES")
    void registersAgreeWithGdbsInfoRegisters(String arch) {
        java.util.Map<String, String> gdb = gdbRegisters(arch);
        String pc = switch (arch) {
            case "x86_64" -> "rip";
            case "s390x" -> "pswa";
            default -> "pc";
        };
        String sp = switch (arch) {
            case "x86_64" -> "rsp";
            case "s390x" -> "r15";
            default -> "sp";
        };
        String value = gdb.get(pc).split(" ")[0];
        String expected = "Thread \\d+ \\(" + arch + "\\): pc " + value + ", sp " + gdb.get(sp).split(" ")[0]
                + switch (arch) {
                    case "aarch64" -> ", x30 " + gdb.get("x30").split(" ")[0] + " \\(\\w+\\+\\d+\\), fp " + gdb.get("x29").split(" ")[0];
                    case "s390x" -> ", r14 " + gdb.get("r14").split(" ")[0] + " \\(\\w+\\+\\d+\\), fp 0x[0-9a-f]+";
                    default -> ", fp " + gdb.get("rbp").split(" ")[0];
                }
                + "; stack segment .*";
        Fixtures.Run run = Fixtures.run("core", Fixtures.core(arch), "--exe", Fixtures.program(arch), "--fp-only");
        assertTrue(run.outLines().getFirst().matches(expected), run.outLines().getFirst() + " !~ " + expected);
        // gdb names the pc "<endpoint+340>" (s390x on its "pc" line): the first frame must say the same.
        String gdbName = gdb.getOrDefault("pc", gdb.get(pc)).replaceAll(".*<(.*)>.*", "$1");
        assertTrue(run.outLines().get(1).contains(" in " + gdbName + " "), run.outLines().get(1) + " vs " + gdbName);
    }
}
