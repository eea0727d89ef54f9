package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The command's backtrace of each committed core against gdb-multiarch's {@code bt} of the same
 * core and program, frame by frame: the same pc (where gdb prints one) and the same function.
 *
 * <p>gdb unwinds with the programs' DWARF call-frame information and stops at {@code main}; the
 * command follows the frame-pointer chain and goes on into the C library's start-up code where
 * the chain does (aarch64). So the frames compared are gdb's, all of which the chain must cover.
 * When the innermost function is a leaf that saved no return address, gdb finds its caller in the
 * link register and the chain skips it: then gdb's frame 1 must be the core's link register, and
 * the comparison goes on one frame further down gdb's list. On CI ({@code CI=true}) a missing
 * gdb-multiarch fails the test; elsewhere it skips.
 */
final class GdbComparisonTest {
    private static final List<String> ARCHES = Fixtures.CORE_ARCHES;
    /** "#1  0x0000000000401ddb in f4 (x=0) at ..." or, for a frame 0 at the start of a line, "#0  endpoint (x=0) at ...". */
    private static final Pattern GDB_FRAME = Pattern.compile("#(\\d+)\\s+(?:0x([0-9a-f]+) in )?(\\S+) \\(.*");
    private static final Pattern OUR_FRAME = Pattern.compile("#(\\d+) +0x([0-9a-f]{16}) in (\\S+?)(?:\\+\\d+)?(?: \\([^)]+\\))? +fp 0x[0-9a-f]+");
    private static final Pattern LINK_REGISTER = Pattern.compile(".*, (?:x30|r14) 0x([0-9a-f]+).*");

    private record Frame(int index, long pc, String function) {}

    /**
     * The committed cores, and any others named by the system property {@code unwinder.gdb.cores}
     * as {@code CORE=PROGRAM} pairs separated by commas, to compare cores of your own.
     */
    static List<Arguments> cores() {
        List<Arguments> cores = new ArrayList<>();
        for (String arch : ARCHES) {
            cores.add(Arguments.of(Fixtures.core(arch), Fixtures.program(arch)));
        }
        String more = System.getProperty("unwinder.gdb.cores", "");
        for (String pair : more.split(",")) {
            if (!pair.isBlank()) {
                String[] paths = pair.split("=", 2);
                cores.add(Arguments.of(Path.of(paths[0].strip()), Path.of(paths[1].strip())));
            }
        }
        return cores;
    }

    @ParameterizedTest
    @MethodSource("cores")
    void everyGdbFrameIsAFrameOfTheChain(Path core, Path program) throws Exception {
        Path gdb = gdbMultiarch();
        Fixtures.Run run = Fixtures.run("core", core, "--exe", program, "--fp-only");
        assertEquals(0, run.status(), run.err());
        List<Frame> ours = new ArrayList<>();
        long linkRegister = -1;
        for (String line : run.outLines()) {
            Matcher frame = OUR_FRAME.matcher(line);
            if (frame.matches()) {
                ours.add(new Frame(Integer.parseInt(frame.group(1)), Long.parseUnsignedLong(frame.group(2), 16), frame.group(3)));
            }
            Matcher lr = LINK_REGISTER.matcher(line);
            if (line.startsWith("Thread ") && lr.matches()) {
                linkRegister = Long.parseUnsignedLong(lr.group(1), 16);
            }
        }
        List<Frame> theirs = gdbBacktrace(gdb, program, core);
        assertTrue(theirs.size() >= 2, "gdb's backtrace is too short to compare: " + theirs);

        int skipped = 0;
        if (theirs.get(1).pc() == linkRegister && (ours.size() < 2 || ours.get(1).pc() != linkRegister)) {
            skipped = 1; // a leaf frame: gdb's frame 1 is in the link register only
        }
        int compared = 0;
        for (int i = 0; i + skipped < theirs.size(); i++) {
            Frame expected = theirs.get(i == 0 ? 0 : i + skipped);
            assertTrue(i < ours.size(), "the chain ended before gdb's frame " + expected + ": " + run.out());
            Frame actual = ours.get(i);
            assertEquals(expected.function(), actual.function(), "frame " + i + " of " + run.out());
            if (expected.pc() != -1) {
                assertEquals(expected.pc(), actual.pc(), "frame " + i + " of " + run.out());
            }
            compared++;
        }
        assertEquals(theirs.size() - skipped, compared);
        if (core.startsWith(Fixtures.repository().resolve("fixtures"))) {
            // The committed programs crash in a function with a frame, five frames below main: no leaf difference.
            assertEquals(0, skipped, run.out());
            assertEquals("main", theirs.getLast().function(), "gdb stops at main: " + theirs);
            assertEquals(6, compared);
        }
    }

    private static List<Frame> gdbBacktrace(Path gdb, Path program, Path core) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(gdb.toString(), "-nx", "-batch", "-ex", "set pagination off", "-ex", "bt",
                program.toString(), core.toString())
                .redirectErrorStream(true)
                .start();
        process.getOutputStream().close();
        byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("gdb-multiarch did not finish in 60 s");
        }
        String text = new String(output, StandardCharsets.UTF_8);
        assertEquals(0, process.exitValue(), text);
        List<Frame> frames = new ArrayList<>();
        for (String line : text.lines().toList()) {
            Matcher frame = GDB_FRAME.matcher(line);
            // gdb prints frame 0 twice: once when it loads the core, once for bt.
            if (frame.matches() && Integer.parseInt(frame.group(1)) == frames.size()) {
                frames.add(new Frame(frames.size(),
                        frame.group(2) == null ? -1 : Long.parseUnsignedLong(frame.group(2), 16), frame.group(3)));
            } else if (frame.matches() && Integer.parseInt(frame.group(1)) == 0) {
                frames.clear();
                frames.add(new Frame(0, frame.group(2) == null ? -1 : Long.parseUnsignedLong(frame.group(2), 16),
                        frame.group(3)));
            }
        }
        return frames;
    }

    /** gdb-multiarch on the PATH; a failure on CI if it is missing, a skip elsewhere. */
    private static Path gdbMultiarch() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, "gdb-multiarch");
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        if ("true".equals(System.getenv("CI"))) {
            fail("gdb-multiarch is not on the PATH, and CI=true: .ci/run installs it (apt-get install gdb-multiarch)");
        }
        Assumptions.abort("gdb-multiarch is not on the PATH; install it to compare with gdb");
        throw new AssertionError("unreachable");
    }
}
