package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * {@link ModuleMap#find(long)}: at every module's base and last byte, past its end, in the gaps
 * between modules, in modules nested inside others (a small module inside a larger one, as a perf
 * map's ranges lie inside an anonymous mapping), where modules overlap, in the upper half of the
 * address space; against a search of every module over generated maps; and without allocating.
 */
final class ModuleMapTest {
    static Module module(String path, long base, long end) {
        return new Module(path, base, end, 0, null, null, null, Module.Symbols.LOADED, null, SymbolTable.EMPTY);
    }

    private static final Module EXE = module("/usr/bin/prog", 0x5555_5555_4000L, 0x5555_5555_9000L);
    private static final Module LIBC = module("/lib/libc.so.6", 0x7f00_0000_0000L, 0x7f00_001d_5000L);
    private static final Module JIT = module("[anon:jit]", 0x7f10_0000_0000L, 0x7f10_0010_0000L);
    private static final Module JIT_ONE = module("/tmp/perf-1.map", 0x7f10_0000_1000L, 0x7f10_0000_1080L);
    private static final Module JIT_TWO = module("/tmp/perf-2.map", 0x7f10_0000_2000L, 0x7f10_0000_2040L);
    private static final Module VDSO = module("[vdso]", 0x7fff_f7fc_1000L, 0x7fff_f7fc_3000L);
    private static final Module VSYSCALL = module("[vsyscall]", 0xffff_ffff_ff60_0000L, 0xffff_ffff_ff60_1000L);
    private static final List<Module> MODULES = List.of(VDSO, JIT_TWO, EXE, VSYSCALL, JIT, LIBC, JIT_ONE);

    @Test
    void findsEachModuleFromItsBaseToItsLastByteAndNothingInTheGaps() {
        ModuleMap map = ModuleMap.of(MODULES);
        for (Module module : List.of(EXE, LIBC, VDSO, VSYSCALL)) {
            assertSame(module, map.find(module.base()), module.toString());
            assertSame(module, map.find(module.base() + 1), module.toString());
            assertSame(module, map.find(module.end() - 1), module.toString());
            assertNull(map.find(module.end()), module.toString());
            assertNull(map.find(module.base() - 1), module.toString());
        }
        assertNull(map.find(0));
        assertNull(map.find(0x1000));
        assertNull(map.find(-1), "past the last module, at the top of the address space");
        assertNull(map.find(0x8000_0000_0000_0000L), "a gap in the upper half");
    }

    @Test
    void findsTheSmallModuleInsideTheLargerOneAndTheLargerAroundIt() {
        ModuleMap map = ModuleMap.of(MODULES);
        assertSame(JIT, map.find(JIT.base()));
        assertSame(JIT, map.find(JIT_ONE.base() - 1));
        assertSame(JIT_ONE, map.find(JIT_ONE.base()));
        assertSame(JIT_ONE, map.find(JIT_ONE.end() - 1));
        assertSame(JIT, map.find(JIT_ONE.end()), "between the two small modules: the larger one");
        assertSame(JIT_TWO, map.find(JIT_TWO.base()));
        assertSame(JIT_TWO, map.find(JIT_TWO.end() - 1));
        assertSame(JIT, map.find(JIT_TWO.end()), "after the last small module: the larger one");
        assertSame(JIT, map.find(JIT.end() - 1));
        assertNull(map.find(JIT.end()));
    }

    @Test
    void whereModulesOverlapTheOneWithTheHighestBaseWins() {
        Module low = module("low", 0x1000, 0x5000);
        Module high = module("high", 0x3000, 0x8000);
        ModuleMap map = ModuleMap.of(List.of(high, low));
        assertSame(low, map.find(0x2fff));
        assertSame(high, map.find(0x3000));
        assertSame(high, map.find(0x4fff));
        assertSame(high, map.find(0x5000));
        assertSame(high, map.find(0x7fff));
        assertNull(map.find(0x8000));
    }

    @Test
    void listsTheModulesByBaseWhateverTheOrderGiven() {
        List<Module> shuffled = new ArrayList<>(MODULES);
        Collections.shuffle(shuffled, new Random(7));
        assertEquals(List.of(EXE, LIBC, JIT, JIT_ONE, JIT_TWO, VDSO, VSYSCALL), ModuleMap.of(shuffled).modules());
        assertEquals(List.of(), ModuleMap.EMPTY.modules());
        assertNull(ModuleMap.EMPTY.find(0x5555_5555_4000L));
        assertNull(ModuleMap.of(List.of()).find(0));
    }

    @Test
    void findAllocatesNothing() {
        ModuleMap map = ModuleMap.of(MODULES);
        long[] addresses = new long[100_000];
        Random random = new Random(42);
        for (int i = 0; i < addresses.length; i++) {
            Module module = MODULES.get(random.nextInt(MODULES.size()));
            // Inside a module, or just past one: hits, misses, and walks out of nested modules.
            addresses[i] = module.base() + random.nextLong(module.end() - module.base() + 0x100);
        }
        long[] found = new long[1];
        for (int round = 0; round < 5; round++) {
            findAll(map, addresses, found); // warm up: let the JIT compile find
        }
        assertEquals(0, Allocations.bytesAllocatedBy(() -> findAll(map, addresses, found)), "bytes allocated by 100,000 finds");
        long hits = found[0] / 6;
        assertEquals(6 * hits, found[0]);
        assertEquals(addresses.length - hits, java.util.Arrays.stream(addresses).filter(a -> search(MODULES, a) == null).count(),
                "the addresses hit modules and miss them");
    }

    private static void findAll(ModuleMap map, long[] addresses, long[] found) {
        for (long address : addresses) {
            if (map.find(address) != null) {
                found[0]++;
            }
        }
    }

    /** The module a search of every module finds: the highest base that spans the address; the last given of equals. */
    static Module search(List<Module> modules, long address) {
        Module best = null;
        for (Module module : modules) {
            if (module.contains(address) && (best == null || Long.compareUnsigned(module.base(), best.base()) >= 0)) {
                best = module;
            }
        }
        return best;
    }

    @Provide
    Arbitrary<Module> modules() {
        // A small window so that modules nest and overlap; some in the upper half.
        Arbitrary<Long> bases = Arbitraries.longs().between(0, 0x400).map(page -> page << 8);
        Arbitrary<Long> sizes = Arbitraries.longs().between(1, 0x4000);
        Arbitrary<Long> halves = Arbitraries.of(0L, 0L, 0L, 0xffff_ffff_fff0_0000L);
        return Combinators.combine(bases, sizes, halves)
                .as((base, size, half) -> module("m", base + half, base + half + size));
    }

    @Property(tries = 500, seed = "20261130")
    void findAgreesWithASearchOfEveryModule(@ForAll @Size(max = 30) List<@net.jqwik.api.From("modules") Module> modules) {
        // Equal bases keep the order given, and the search takes the last of them: give them distinct bases.
        List<Module> distinct = new ArrayList<>();
        for (Module module : modules) {
            if (distinct.stream().noneMatch(other -> other.base() == module.base())) {
                distinct.add(module);
            }
        }
        ModuleMap map = ModuleMap.of(distinct);
        List<Long> probes = new ArrayList<>(List.of(0L, -1L));
        for (Module module : distinct) {
            for (long edge : new long[] {module.base(), module.end()}) {
                probes.add(edge - 1);
                probes.add(edge);
                probes.add(edge + 1);
            }
        }
        for (long address : probes) {
            assertSame(search(distinct, address), map.find(address), () -> String.format("0x%x in %s", address, distinct));
        }
    }
}
