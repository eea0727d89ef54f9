package dev.unwinder.benchmarks;

import dev.unwinder.elf.CfiFde;
import dev.unwinder.elf.CfiTable;
import dev.unwinder.elf.ElfException;
import dev.unwinder.elf.ElfFile;
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
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * How long this machine's C library's call-frame information takes to be ready: {@link #ehFrameReady}
 * opens {@code /lib/x86_64-linux-gnu/libc.so.6} in a fresh arena ({@link ElfFile#open}), reads its
 * {@code .eh_frame_hdr} ({@link CfiTable#ehFrame}) and finds the FDE of one pc through the header's
 * binary search table, then closes the arena: what a walker pays the first time a frame is in libc.
 * Target (issue 13): at most 10 ms. Run once per iteration ({@code -bm ss}) to see a cold JVM's first.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class CfiTableBenchmark {
    static final Path LIBC = Path.of("/lib/x86_64-linux-gnu/libc.so.6");

    private long pc;

    /** Creates the benchmark; JMH calls this. */
    public CfiTableBenchmark() {}

    /**
     * Picks the pc to find: the middle of the FDE in the middle of the section.
     *
     * @throws ElfException if libc cannot be read
     */
    @Setup(Level.Trial)
    public void setUp() throws ElfException {
        if (!Files.isRegularFile(LIBC)) {
            throw new IllegalStateException(LIBC + " is missing: this benchmark needs Debian's x86_64 C library");
        }
        try (Arena arena = Arena.ofConfined()) {
            CfiTable table = CfiTable.ehFrame(ElfFile.open(LIBC, arena));
            if (table == null || !table.hasHeaderTable()) {
                throw new IllegalStateException(LIBC + " has no .eh_frame_hdr search table");
            }
            List<CfiFde> fdes = table.fdes();
            CfiFde middle = fdes.get(fdes.size() / 2);
            pc = middle.pcBegin() + (middle.pcEnd() - middle.pcBegin()) / 2;
        }
    }

    /**
     * Opens libc, reads its {@code .eh_frame_hdr} and finds one FDE, in a fresh arena.
     *
     * @return the FDE's end
     * @throws ElfException if libc cannot be read
     */
    @Benchmark
    public long ehFrameReady() throws ElfException {
        try (Arena arena = Arena.ofConfined()) {
            CfiFde fde = CfiTable.ehFrame(ElfFile.open(LIBC, arena)).find(pc);
            return fde.pcEnd();
        }
    }
}
