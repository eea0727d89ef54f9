package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unwinder.cli.GdbOracle.CoreFrames;
import dev.unwinder.cli.GdbOracle.Frame;
import dev.unwinder.cli.GdbOracle.ThreadFrames;
import dev.unwinder.cli.RealCores.RealCore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code unwinder core} with its default walk, the call-frame information walk, on cores made on
 * this machine ({@link RealCores}: threads blocked in the C library, {@code abort}, {@code assert},
 * a segfault in {@code strlen}, an uncaught C++ exception, a frameless leaf and, on x86_64, a thread
 * blocked in a signal handler; x86_64 kernel cores, aarch64 and s390x qemu cores) against gdb
 * ({@link GdbOracle}): for every thread, every real frame gdb finds the command finds, at the same
 * pc, in the same order, from the first; and every frame has gdb's name and module, as
 * {@link RealCoreSymbolsTest} checks them. gdb's inline frames and its tail-call frames, which it
 * makes up from DWARF call-site information and which are not on the stack, are left out. The
 * command may go on past gdb's last frame (gdb stops at {@code main}).
 *
 * <p>It also counts, over all cores, the frames gdb finds, and how many of them each walk finds
 * (the call-frame information walk, and {@code --fp-only}): the figures of docs/command.md, written
 * to {@code target/real-cores/frame-counts.txt}; and every thread's CFI walk has at least as many
 * frames as its frame-pointer walk.
 */
final class RealCoreCfiTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static List<RealCore> cores() {
        return RealCores.all();
    }

    @ParameterizedTest
    @MethodSource("cores")
    void everyFrameGdbFindsTheCommandFindsInOrder(RealCore core) {
        CoreFrames gdb = GdbOracle.of(core);
        JsonNode ours = ours(core, false);
        Map<Long, JsonNode> threads = threads(ours);
        assertEquals(new HashSet<>(gdb.threads().stream().map(ThreadFrames::tid).toList()), threads.keySet(),
                core + ": threads");
        for (ThreadFrames theirs : gdb.threads()) {
            List<Long> want = realPcs(theirs);
            JsonNode frames = threads.get(theirs.tid()).path("frames");
            List<Long> pcs = pcs(frames);
            assertTrue(pcs.size() >= want.size() && pcs.subList(0, want.size()).equals(want),
                    core + " thread " + theirs.tid() + ": gdb " + hex(want) + ", ours " + hex(pcs) + " ("
                            + threads.get(theirs.tid()).path("end").asText() + ")\n" + ours);
            for (int i = 0; i < frames.size(); i++) {
                String how = frames.get(i).path("how").asText();
                assertTrue(i == 0 ? how.equals("context") : !how.equals("context") && !how.isEmpty(),
                        core + " thread " + theirs.tid() + " frame #" + i + ": how " + how);
                assertTrue(frames.get(i).has("sp") && !frames.get(i).has("fp"), frames.get(i).toString());
            }
        }
        RealCoreSymbolsTest.Comparison comparison = RealCoreSymbolsTest.compare(core, gdb, ours);
        assertEquals(List.of(), comparison.differences(), core + ": names and modules");
        long real = gdb.threads().stream().mapToLong(thread -> realPcs(thread).size()).sum();
        assertTrue(comparison.compared() >= real, core + ": compared " + comparison.compared() + " of " + real);
    }

    /** The leaf without a frame: its caller is found (from [sp] or the link register), by the call-frame information. */
    @ParameterizedTest
    @MethodSource("cores")
    void theFramelessLeafsCallerIsFound(RealCore core) {
        if (!core.name().equals("leaf_signal")) {
            return;
        }
        JsonNode spinner = threadWith(ours(core, false), "frameless_leaf");
        List<String> symbols = symbols(spinner);
        // The cross C libraries have no debug files: their start_thread, a static function, has no name there.
        assertEquals(core.arch().equals("x86_64") ? List.of("frameless_leaf", "spin_in_leaf", "start_thread")
                : List.of("frameless_leaf", "spin_in_leaf"), symbols.subList(0, core.arch().equals("x86_64") ? 3 : 2),
                core + ": " + spinner);
        assertEquals("cfi", spinner.path("frames").get(1).path("how").asText());
        assertTrue(spinner.path("frames").get(2).path("module").asText().endsWith("/libc.so.6"), spinner.toString());
        // The frame-pointer chain skips the caller: the leaf saved no frame record.
        List<String> fpOnly = symbols(threadWith(ours(core, true), "frameless_leaf"));
        assertTrue(!fpOnly.contains("spin_in_leaf"), core + ": --fp-only " + fpOnly);
    }

    /** On the x86_64 kernel core, the walk crosses a signal frame through __restore_rt's call-frame information. */
    @Test
    void x86_64WalkCrossesTheSignalHandler() {
        RealCore core = RealCores.get("x86_64", "leaf_signal");
        JsonNode thread = threadWith(ours(core, false), "block_in_handler");
        List<String> symbols = symbols(thread);
        int handler = symbols.indexOf("block_in_handler");
        // The signal trampoline, __restore_rt, where gdb has it: its ELF symbol has size 0, so it has no name here.
        Frame trampoline = GdbOracle.of(core).thread(thread.path("tid").asLong()).frames().stream()
                .filter(frame -> frame.type().equals("SIGTRAMP_FRAME")).findFirst().orElseThrow();
        assertEquals("__restore_rt", trampoline.symbol());
        JsonNode ours = thread.path("frames").get(handler + 1);
        assertEquals(Fixtures.hex(trampoline.pc()), ours.path("pc").asText(), ours.toString());
        assertTrue(ours.path("module").asText().endsWith("/libc.so.6"), ours.toString());
        assertEquals("cfi", ours.path("how").asText());
        // The interrupted frame: read, called by the thread's own function, and the thread's start.
        List<String> above = symbols.subList(handler + 2, symbols.size());
        assertTrue(above.contains("wait_for_signal") && above.contains("start_thread"), symbols.toString());
        assertTrue(above.indexOf("wait_for_signal") < above.indexOf("start_thread"), symbols.toString());
    }

    /** The uncaught C++ exception: through libstdc++'s terminate handler and __cxa_throw to the thrower. */
    @ParameterizedTest
    @MethodSource("cores")
    void anUncaughtExceptionIsWalkedThroughLibstdcxx(RealCore core) {
        if (!core.name().equals("cxx_throw")) {
            return;
        }
        CoreFrames gdb = GdbOracle.of(core);
        JsonNode crashed = threads(ours(core, false)).get(gdb.crashedTid());
        List<String> symbols = symbols(crashed);
        int thrower = symbols.indexOf("__cxa_throw");
        assertTrue(thrower > 0 && symbols.subList(0, thrower).contains("std::terminate()"), core + ": " + symbols);
        JsonNode frame = crashed.path("frames").get(thrower);
        assertTrue(frame.path("module").asText().contains("libstdc++"), frame.toString());
        assertTrue(symbols.subList(thrower + 1, symbols.size()).contains("main"), core + ": " + symbols);
    }

    /**
     * The gain: of the frames gdb finds (real frames, every thread of every core), how many each
     * walk finds at the same pc. The call-frame information walk finds all; the frame-pointer walk
     * far fewer.
     */
    @Test
    void countsFramesGdbFindsAgainstBothWalks() throws IOException {
        StringBuilder summary = new StringBuilder(String.format("%-22s %5s %5s %5s%n", "core", "gdb", "cfi", "fp"));
        int gdbTotal = 0;
        int cfiTotal = 0;
        int fpTotal = 0;
        for (RealCore core : RealCores.all()) {
            CoreFrames gdb = GdbOracle.of(core);
            Map<Long, JsonNode> cfi = threads(ours(core, false));
            Map<Long, JsonNode> fp = threads(ours(core, true));
            int gdbFrames = 0;
            int cfiFrames = 0;
            int fpFrames = 0;
            for (ThreadFrames thread : gdb.threads()) {
                List<Long> want = realPcs(thread);
                gdbFrames += want.size();
                cfiFrames += found(want, pcs(cfi.get(thread.tid()).path("frames")));
                fpFrames += found(want, pcs(fp.get(thread.tid()).path("frames")));
                // Where gdb stops early, the CFI walk still goes at least as far as the chain.
                List<Long> cfiPcs = pcs(cfi.get(thread.tid()).path("frames"));
                List<Long> fpPcs = pcs(fp.get(thread.tid()).path("frames"));
                assertTrue(cfiPcs.size() >= fpPcs.size(), core + " thread " + thread.tid() + ": CFI " + hex(cfiPcs)
                        + ", --fp-only " + hex(fpPcs));
            }
            summary.append(String.format("%-22s %5d %5d %5d%n", core, gdbFrames, cfiFrames, fpFrames));
            gdbTotal += gdbFrames;
            cfiTotal += cfiFrames;
            fpTotal += fpFrames;
        }
        summary.append(String.format("%-22s %5d %5d %5d%n", "total", gdbTotal, cfiTotal, fpTotal));
        Files.createDirectories(RealCores.output());
        Files.writeString(RealCores.output().resolve("frame-counts.txt"), summary);
        System.out.print(summary);
        assertEquals(gdbTotal, cfiTotal, summary.toString());
        assertTrue(fpTotal < cfiTotal, summary.toString());
    }

    /** How many of gdb's frames a walk has: gdb's pcs found in order among the walk's (each at most once). */
    private static int found(List<Long> want, List<Long> pcs) {
        int count = 0;
        int from = 0;
        for (long pc : want) {
            int at = pcs.subList(from, pcs.size()).indexOf(pc);
            if (at >= 0) {
                count++;
                from += at + 1;
            }
        }
        return count;
    }

    /** gdb's real frames' pcs: its normal and signal-trampoline frames, not inline or tail-call ones. */
    private static List<Long> realPcs(ThreadFrames thread) {
        List<Long> pcs = new ArrayList<>();
        for (Frame frame : thread.frames()) {
            if (!frame.inline() && !frame.type().equals("TAILCALL_FRAME")) {
                pcs.add(frame.pc());
            }
        }
        return pcs;
    }

    private static JsonNode threadWith(JsonNode ours, String symbol) {
        for (JsonNode thread : ours.path("threads")) {
            if (symbols(thread).contains(symbol)) {
                return thread;
            }
        }
        return fail("no thread has a frame in " + symbol + ": " + ours);
    }

    private static List<String> symbols(JsonNode thread) {
        List<String> symbols = new ArrayList<>();
        for (JsonNode frame : thread.path("frames")) {
            symbols.add(frame.path("symbol").asText("??"));
        }
        return symbols;
    }

    private static List<Long> pcs(JsonNode frames) {
        List<Long> pcs = new ArrayList<>();
        for (JsonNode frame : frames) {
            pcs.add(Long.parseUnsignedLong(frame.path("pc").asText().substring(2), 16));
        }
        return pcs;
    }

    private static Map<Long, JsonNode> threads(JsonNode ours) {
        Map<Long, JsonNode> threads = new LinkedHashMap<>();
        for (JsonNode thread : ours.path("threads")) {
            threads.put(thread.path("tid").asLong(), thread);
        }
        return threads;
    }

    private static List<String> hex(List<Long> pcs) {
        return pcs.stream().map(Fixtures::hex).toList();
    }

    /** The command's JSON for a core, with its default walk or {@code --fp-only}. */
    private static JsonNode ours(RealCore core, boolean fpOnly) {
        List<Object> args = new ArrayList<>(List.of("core", core.core(), "--format", "json"));
        if (core.sysroot() != null) {
            args.addAll(List.of("--sysroot", core.sysroot(), "--exe", core.program()));
        }
        if (fpOnly) {
            args.add("--fp-only");
        }
        Fixtures.Run run = Fixtures.run(args.toArray());
        assertEquals(0, run.status(), core + ": " + run.err());
        try {
            return JSON.readTree(run.out());
        } catch (IOException e) {
            throw new UncheckedIOException(core + ": the output is not JSON:\n" + run.out(), e);
        }
    }
}
