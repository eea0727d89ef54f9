package dev.unwinder.livestack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.arch.x86_64.X86_64Unwind;
import dev.unwinder.elf.CfiWalk;
import dev.unwinder.elf.Demangler;
import dev.unwinder.elf.ElfException;
import dev.unwinder.elf.Module;
import dev.unwinder.elf.ModuleMap;
import dev.unwinder.elf.ProcessModules;
import dev.unwinder.elf.SymbolFiles;
import java.lang.foreign.Arena;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Walks this process's own native stack with {@link CfiWalk}, live, through code without frame
 * pointers: {@link LiveChain}'s chain goes from {@code live_chain} through the C library's
 * {@code qsort} (Debian 12's glibc has no frame pointers) and its comparator, {@code levels} times,
 * down to {@code chain_point}, all but the library's {@code live_capture_registers} built without
 * frame pointers. From the registers {@code chain_point} captured, with this process's modules
 * ({@link ProcessModules#self}) and a memory over this thread's stack, the walk must find every
 * frame up to {@code live_chain}, the C function that the JVM's downcall entered, with the same pcs
 * as glibc's {@code backtrace()} called by {@code chain_point} (the oracle), in the same order,
 * and the return address into the JVM's downcall stub after it, where the oracle stops; its first
 * frame is in {@code chain_point} like the oracle's first, at another call. Beyond the stub the walk
 * goes on with the frame-pointer rule through the JVM's frames, which this test does not check.
 */
final class LiveCfiWalkTest {
    private static final int MAX_FRAMES = 2048;

    private static Arena arena;
    private static ModuleMap modules;
    private static LiveChain chain;

    /** One frame of a walk. */
    private record Frame(long pc, CfiWalk.How how) {}

    /** What the callback saw: the walk's frames and end, and the oracle's pcs. */
    private record Seen(List<Frame> frames, CfiWalk.End end, String detail, List<Long> oracle) {}

    @BeforeAll
    static void open() throws ElfException {
        LiveFixtures.liveStack();
        Assumptions.assumeTrue(LiveChain.isSupported(), "the chain's register capture is x86_64 only");
        chain = LiveChain.load();
        arena = Arena.ofShared();
        SymbolFiles files = SymbolFiles.of(arena, null, List.of(SymbolFiles.DEFAULT_DEBUG_DIRECTORY), List.of(),
                Demangler.none());
        modules = ProcessModules.self(files).modules();
    }

    @AfterAll
    static void close() {
        if (arena != null) {
            arena.close();
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 20})
    void walkMatchesBacktraceUpToTheEntryFunction(int levels) {
        CfiWalk walker = new CfiWalk(new X86_64Unwind(), modules, arena);
        Seen seen = runAndWalk(walker, levels, 1);
        List<Long> oracle = seen.oracle();
        int entry = indexOfFunction(oracle, "live_chain");
        assertTrue(entry > 0, "live_chain in the oracle: " + describe(oracle));
        List<Long> pcs = seen.frames().stream().map(Frame::pc).toList();
        assertTrue(pcs.size() > entry, "walk " + describe(pcs) + " ended " + seen.end() + " (" + seen.detail()
                + "), oracle " + describe(oracle));
        assertEquals(oracle.subList(1, entry + 1), pcs.subList(1, entry + 1),
                "walk " + describe(pcs) + ", oracle " + describe(oracle));
        // backtrace() lists the return address into the JVM's downcall stub after live_chain, and stops
        // there (the stub has no CFI): the walk's next frame, from live_chain's CFI, is the same.
        assertEquals(entry + 2, oracle.size(), describe(oracle));
        assertEquals(oracle.get(entry + 1), pcs.get(entry + 1), "the stub's pc: walk " + describe(pcs));
        assertEquals("chain_point", functionName(pcs.get(0)), describe(pcs));
        assertEquals("chain_point", functionName(oracle.get(0) - 1), describe(oracle));
        for (int i = 1; i <= entry + 1; i++) {
            assertEquals(CfiWalk.How.CFI, seen.frames().get(i).how(), "frame " + i + ": " + describe(pcs));
        }
        // Per level: chain_compare, the C library's qsort frames, chain_level; then live_chain.
        List<String> names = pcs.subList(0, entry + 1).stream().map(LiveCfiWalkTest::functionName).toList();
        List<String> inLibc = new ArrayList<>();
        for (int i = 1; i <= entry; i++) {
            Module module = modules.find(pcs.get(i) - 1);
            if (module != null && module.name().startsWith("libc.so")) {
                inLibc.add(names.get(i));
            }
        }
        assertEquals(levels, names.stream().filter("chain_level"::equals).count(), names.toString());
        assertEquals(levels, names.stream().filter("chain_compare"::equals).count(), names.toString());
        assertTrue(inLibc.size() >= levels && inLibc.stream().allMatch(n -> n.contains("sort")),
                "C library frames " + inLibc + " of " + names);
    }

    @ParameterizedTest
    @ValueSource(ints = {3, 20})
    void walksFromKeptRowsEqualTheFirstWalk(int levels) {
        CfiWalk walker = new CfiWalk(new X86_64Unwind(), modules, arena);
        Seen[] walks = new Seen[1];
        List<Seen> again = new ArrayList<>();
        chain.run(levels, true, context -> {
            walks[0] = walk(walker, context);
            for (int i = 0; i < 3; i++) {
                again.add(walk(walker, context));
            }
        });
        for (Seen seen : again) {
            assertEquals(walks[0], seen);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {20})
    void walkAllocatesNothingOnceWarm(int levels) {
        CfiWalk walker = new CfiWalk(new X86_64Unwind(), modules, arena);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long[] registers = new long[LiveChain.REGISTERS];
        long[] result = new long[2];
        CfiWalk.Visitor count = (index, pc, sp, how) -> {
            result[0]++;
            return true;
        };
        chain.run(levels, false, context -> {
            context.registers(registers);
            for (int i = 0; i < 2000; i++) {
                walker.walk(context.pc(), registers, context.stack(), MAX_FRAMES, count);
            }
            long least = Long.MAX_VALUE;
            for (int round = 0; round < 5; round++) {
                result[0] = 0;
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 100; i++) {
                    walker.walk(context.pc(), registers, context.stack(), MAX_FRAMES, count);
                }
                least = Math.min(least, threads.getCurrentThreadAllocatedBytes() - before);
            }
            result[1] = least;
        });
        assertTrue(result[0] > 100 * 4L * levels, result[0] + " frames");
        assertEquals(0, result[1], "bytes allocated by 100 walks");
    }

    private static Seen runAndWalk(CfiWalk walker, int levels, int walks) {
        Seen[] seen = new Seen[1];
        chain.run(levels, true, context -> {
            for (int i = 0; i < walks; i++) {
                seen[0] = walk(walker, context);
            }
        });
        return seen[0];
    }

    private static Seen walk(CfiWalk walker, LiveChain.Context context) {
        long[] registers = new long[LiveChain.REGISTERS];
        context.registers(registers);
        List<Frame> frames = new ArrayList<>();
        CfiWalk.End end = walker.walk(context.pc(), registers, context.stack(), MAX_FRAMES, (index, pc, sp, how) -> {
            frames.add(new Frame(pc, how));
            return true;
        });
        List<Long> oracle = new ArrayList<>();
        for (int i = 0; i < context.oracleCount(); i++) {
            oracle.add(context.oraclePc(i));
        }
        return new Seen(frames, end, walker.endDetail(), oracle);
    }

    /** The index of the first pc (a return address) in the function named, or -1. */
    private static int indexOfFunction(List<Long> pcs, String name) {
        for (int i = 1; i < pcs.size(); i++) {
            if (name.equals(functionName(pcs.get(i) - 1))) {
                return i;
            }
        }
        return -1;
    }

    /** The name of the function that contains {@code address} in this process's modules, or "?". */
    private static String functionName(long address) {
        String name = modules.symbolName(address);
        return name == null ? "?" : name;
    }

    private static String describe(List<Long> pcs) {
        StringBuilder text = new StringBuilder("[");
        for (long pc : pcs) {
            if (text.length() > 1) {
                text.append(", ");
            }
            text.append(String.format("0x%x %s", pc, functionName(pc == pcs.getFirst() ? pc : pc - 1)));
        }
        return text.append(']').toString();
    }
}
