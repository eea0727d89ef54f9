package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.api.StackMemory;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * {@link CfiWalk} gives the same walk with its row cache ({@link CfiRowCache}) as without: the same
 * frames (pc, sp, how), the same end and end detail, and the same registers at the last frame. The
 * stacks are made up around this machine's C library, mapped as a module at a made-up base: the
 * first pc is in one of its functions, and the stack's words are return addresses into its
 * functions, addresses inside the stack, or noise, so that walks go through several of its rows,
 * with and without expressions, and end in every way (outside the memory, a CFA that does not
 * grow, no CFI, the frame limit). One cached walker serves every try, so rows kept by earlier tries
 * are found by later ones; each try walks the cached walker twice, the second time from its kept
 * rows.
 */
final class CfiRowCacheProperties {
    private static final long LIBC_BASE = 0x7f12_3400_0000L;
    private static final long STACK_BASE = 0x7ffd_1230_0000L;
    private static final int STACK_BYTES = 2048;
    private static final int MAX_FRAMES = 64;

    private static Arena arena;
    private static long[] functionPcs;
    private static CfiWalk cached;
    private static CfiWalk uncached;
    /** How the walks without a cache ended, and how many went through three CFI frames or more. */
    private static final Map<CfiWalk.End, Integer> ENDS = new TreeMap<>();
    private static int longWalks;

    /** One frame of a walk. */
    private record Frame(int index, long pc, long sp, CfiWalk.How how) {}

    /** All that a walk shows. */
    private record Walk(List<Frame> frames, CfiWalk.End end, String detail, List<String> registers) {}

    @BeforeContainer
    static void open() throws ElfException {
        TestPrograms.requireFile(TestPrograms.LIBC, "libc6");
        arena = Arena.ofShared();
        ElfFile elf = ElfFile.open(TestPrograms.LIBC, arena);
        CfiTable table = CfiTable.ehFrame(elf);
        List<CfiFde> fdes = table.fdes();
        List<Long> pcs = new ArrayList<>();
        long end = 0;
        for (CfiFde fde : fdes) {
            if (fde.pcEnd() != fde.pcBegin()) {
                pcs.add(fde.pcBegin());
                pcs.add(fde.pcBegin() + (fde.pcEnd() - fde.pcBegin()) / 2);
                pcs.add(fde.pcEnd() - 1);
                end = Math.max(end, fde.pcEnd());
            }
        }
        functionPcs = pcs.stream().mapToLong(pc -> pc + LIBC_BASE).toArray();
        Module libc = new Module(TestPrograms.LIBC.toString(), LIBC_BASE, LIBC_BASE + end + 4096, LIBC_BASE, null,
                TestPrograms.LIBC, null, Module.Symbols.MISSING, "not read", SymbolTable.EMPTY);
        ModuleMap modules = ModuleMap.of(List.of(libc));
        cached = new CfiWalk(Plugins.of(Machine.X86_64), modules, arena);
        uncached = new CfiWalk(Plugins.of(Machine.X86_64), modules, arena);
        uncached.rows.enabled(false);
    }

    @AfterContainer
    static void close() {
        if (arena != null) {
            // Seed 20261130: 658 walks of three CFI frames or more; 6,141 steps from kept rows.
            assertTrue(longWalks > 300, longWalks + " walks through three CFI frames or more");
            assertTrue(ENDS.keySet().containsAll(List.of(CfiWalk.End.OUTSIDE_MEMORY, CfiWalk.End.CFA_NOT_GROWING,
                    CfiWalk.End.OUTERMOST)), "ends: " + ENDS);
            assertTrue(cached.rows.hits() > 1000, cached.rows.hits() + " steps from kept rows");
            assertEquals(0, uncached.rows.hits(), "the walker without a cache found no kept rows");
            arena.close();
        }
    }

    @Property(tries = 3000, seed = "20261130")
    void cachedWalksEqualUncachedWalks(@ForAll long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        byte[] bytes = new byte[STACK_BYTES];
        ByteBuffer words = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = 0; at < STACK_BYTES; at += 8) {
            int pick = random.nextInt(10);
            long word;
            if (pick < 4) {
                word = functionPcs[random.nextInt(functionPcs.length)] + 1; // a return address: looked up at pc - 1
            } else if (pick < 7) {
                word = STACK_BASE + random.nextInt(STACK_BYTES / 8) * 8L;
            } else {
                word = random.nextLong();
            }
            words.putLong(at, word);
        }
        StackMemory memory = StackMemory.ofBytes(bytes, STACK_BASE, ByteOrder.LITTLE_ENDIAN);
        long[] registers = new long[17];
        for (int r = 0; r < registers.length; r++) {
            registers[r] = random.nextInt(4) == 0 ? random.nextLong() : STACK_BASE + random.nextInt(STACK_BYTES / 8) * 8L;
        }
        registers[7] = STACK_BASE + random.nextInt(STACK_BYTES / 16) * 8L; // rsp in the stack's lower half
        long pc = functionPcs[random.nextInt(functionPcs.length)];
        int registerCount = random.nextInt(4) == 0 ? 8 + random.nextInt(9) : 17; // some registers unknown

        long[] given = Arrays.copyOf(registers, registerCount);
        Walk expected = walk(uncached, pc, given, memory);
        ENDS.merge(expected.end(), 1, Integer::sum);
        if (expected.frames().stream().filter(f -> f.how() == CfiWalk.How.CFI).count() >= 3) {
            longWalks++;
        }
        assertEquals(expected, walk(cached, pc, given, memory), "first walk, seed " + seed);
        assertEquals(expected, walk(cached, pc, given, memory), "second walk, seed " + seed);
    }

    private static Walk walk(CfiWalk walker, long pc, long[] registers, StackMemory memory) {
        List<Frame> frames = new ArrayList<>();
        CfiWalk.End end = walker.walk(pc, registers, memory, MAX_FRAMES, (index, framePc, sp, how) -> {
            frames.add(new Frame(index, framePc, sp, how));
            return true;
        });
        List<String> last = new ArrayList<>();
        for (int r = 0; r < 17; r++) {
            last.add(walker.registerKnown(r) ? Long.toHexString(walker.registerValue(r)) : "?");
        }
        return new Walk(frames, end, walker.endDetail(), last);
    }
}
