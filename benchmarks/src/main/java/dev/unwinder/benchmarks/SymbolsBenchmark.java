package dev.unwinder.benchmarks;

import dev.unwinder.elf.Demangler;
import dev.unwinder.elf.ElfException;
import dev.unwinder.elf.ElfFile;
import dev.unwinder.elf.Module;
import dev.unwinder.elf.SymbolFiles;
import dev.unwinder.elf.SymbolTable;
import dev.unwinder.testkit.SplitMix64;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Symbols of this machine's C library ({@code /lib/x86_64-linux-gnu/libc.so.6}, whose debug file
 * from libc6-dbg {@code SymbolFiles} finds by build-id under {@code /usr/lib/debug}):
 * <ul>
 *   <li>{@link #load}: what a crash tool pays once per module, {@code SymbolFiles.load} of the
 *       file, its build-id and debug file, and the sorted table of every function symbol of both,
 *       in a fresh arena each time. Milliseconds per load.
 *   <li>{@link #lookup}: what it pays per frame, {@code SymbolTable.lookup} of a pc, over 100,000
 *       pcs drawn uniformly from libc's {@code .text} (splitmix64, seed 0x5EED) once in the setup.
 *       Nanoseconds, and with {@code -prof gc} bytes, per lookup.
 * </ul>
 * The setup checks that the debug file was found and used, and that most pcs land in a function.
 */
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SymbolsBenchmark {
    /** The C library whose symbols are read. */
    static final Path LIBC = Path.of("/lib/x86_64-linux-gnu/libc.so.6");
    /** How many pcs one invocation of {@link #lookup} looks up. */
    static final int PCS = 100_000;
    /** Where the library is placed: its load bias, as a shared library's might be. */
    static final long BIAS = 0x7f3a_1c40_0000L;

    private Arena tableArena;
    private SymbolTable table;
    private long[] pcs;

    /** Creates the benchmark; JMH calls this. */
    public SymbolsBenchmark() {}

    /**
     * Loads libc's symbols once for {@link #lookup}, checks that its debug file was used, and draws
     * the pcs.
     *
     * @throws ElfException if libc cannot be read
     */
    @Setup(Level.Trial)
    public void setUp() throws ElfException {
        if (!Files.isRegularFile(LIBC)) {
            throw new IllegalStateException(LIBC + " is missing: these benchmarks read the symbols of an x86_64 Debian libc");
        }
        tableArena = Arena.ofShared();
        Module module = loadLibc(tableArena);
        if (module.debugFile() == null || !(module.symbols() instanceof SymbolTable symbols)) {
            throw new IllegalStateException(LIBC + ": no debug file was used (install libc6-dbg): " + module.problem());
        }
        table = symbols;
        ElfFile.SectionHeader text = ElfFile.open(LIBC, tableArena).section(".text");
        SplitMix64 random = new SplitMix64(0x5EED);
        pcs = new long[PCS];
        int named = 0;
        for (int i = 0; i < PCS; i++) {
            pcs[i] = BIAS + text.address() + Long.remainderUnsigned(random.next(), text.size());
            named += table.lookup(pcs[i]) >= 0 ? 1 : 0;
        }
        if (named < PCS * 9 / 10) {
            throw new IllegalStateException("only " + named + " of " + PCS + " pcs in libc's .text are in a function");
        }
    }

    /** Closes the arena that maps libc for {@link #lookup}. */
    @TearDown(Level.Trial)
    public void tearDown() {
        tableArena.close();
    }

    private static Module loadLibc(Arena arena) {
        SymbolFiles files = SymbolFiles.of(arena, null, List.of(SymbolFiles.DEFAULT_DEBUG_DIRECTORY), List.of(),
                Demangler.none());
        return files.load(LIBC.toString(), BIAS, BIAS + 0x20_0000, SymbolFiles.Placement.mapped(BIAS, 0), null);
    }

    /**
     * Loads libc's symbols and those of its debug file, in a fresh arena.
     *
     * @return the number of symbols, which the setup's load also found
     */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public int load() {
        try (Arena arena = Arena.ofConfined()) {
            return loadLibc(arena).symbols().size();
        }
    }

    /**
     * Looks up 100,000 pcs; the score is per lookup.
     *
     * @param bh takes each symbol's index
     */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    @OperationsPerInvocation(PCS)
    public void lookup(Blackhole bh) {
        SymbolTable symbols = table;
        for (long pc : pcs) {
            bh.consume(symbols.lookup(pc));
        }
    }
}
