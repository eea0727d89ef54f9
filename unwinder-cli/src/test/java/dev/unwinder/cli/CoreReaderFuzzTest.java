package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.Demangler;
import dev.unwinder.elf.ElfException;
import dev.unwinder.elf.ElfFile;
import dev.unwinder.elf.SymbolFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Fuzzes the core reader, the symbol reader and the walks behind {@code unwinder core}: real cores
 * and executables with fields overwritten by values that lie (huge sizes and counts, offsets past
 * the end, sign bits), cut short, or replaced by random bytes behind an ELF header. Whatever the
 * input, the outcome is backtraces or a {@link BadInputException} whose message names the file on
 * one line: never another exception, never a hang. Three edits in four hit a field that a reader
 * trusts (header, program and section header fields, note headers, thread registers), the rest a
 * random offset. Each property runs a fixed number of tries with a fixed seed: a few seconds in all.
 */
final class CoreReaderFuzzTest {
    private static final Map<String, byte[]> FILES = new ConcurrentHashMap<>();
    private static final Map<byte[], List<Integer>> FIELDS = new ConcurrentHashMap<>();
    private static final List<Long> LIES = List.of(
        0L, 1L, 3L, 7L, 8L, 12L, 0x38L, 0x40L, 0xffL, 0xffffL, 0x7fff_ffffL, 0xffff_ffffL, 0x8000_0000_0000_0000L,
        0x7fff_ffff_ffff_ffffL, -1L, -8L, 0x1_0000_0000L, 0x4000_0000_0000L);

    private static byte[] file(String key) {
        return FILES.computeIfAbsent(key, k -> {
            String[] parts = k.split("/");
            try {
                return Files.readAllBytes(parts[1].equals("core") ? Fixtures.core(parts[0]) : Fixtures.program(parts[0]));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /**
     * One overwrite of {@code width} bytes (1, 2, 4 or 8), in the file's byte order: at a field of
     * the file's structure (an ELF header field, a program or section header field, a note header,
     * a register of a thread) picked by {@code pick}, or at the plain offset {@code pick}.
     */
    record Edit(boolean atField, int pick, int width, long value) {}

    @Provide
    Arbitrary<Edit> edits() {
        Arbitrary<Long> values = Arbitraries.oneOf(List.of(Arbitraries.of(LIES), Arbitraries.longs()));
        return Combinators.combine(Arbitraries.of(true, true, true, false), Arbitraries.integers().between(0, 1 << 20),
                Arbitraries.of(1, 2, 4, 8), values).as(Edit::new);
    }

    /** The offsets of the fields a reader trusts, found by walking the file's headers with plain buffer reads. */
    private static List<Integer> fieldOffsets(byte[] bytes) {
        ByteBuffer elf = ByteBuffer.wrap(bytes).order(bytes[5] == 2 ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        List<Integer> offsets = new ArrayList<>(List.of(4, 5, 16, 18, 24, 32, 40, 54, 56, 58, 60, 62));
        int phoff = (int) elf.getLong(32);
        for (int i = 0; i < Short.toUnsignedInt(elf.getShort(56)); i++) {
            int at = phoff + i * 56;
            for (int field : new int[] {0, 8, 16, 32, 40}) {
                offsets.add(at + field);
            }
            if (elf.getInt(at) == 4) {
                int note = (int) elf.getLong(at + 8);
                int end = note + (int) elf.getLong(at + 32);
                while (note + 12 <= end) {
                    offsets.addAll(List.of(note, note + 4, note + 8));
                    int desc = note + 12 + ((elf.getInt(note) + 3) & ~3);
                    for (int word = 0; word < 40; word++) {
                        offsets.add(desc + 112 + 8 * word);
                    }
                    note = desc + ((elf.getInt(note + 4) + 3) & ~3);
                }
            }
        }
        long shoff = elf.getLong(40);
        for (int i = 0; i < Short.toUnsignedInt(elf.getShort(60)); i++) {
            int at = (int) shoff + i * 64;
            for (int field : new int[] {4, 24, 32, 40, 56}) {
                offsets.add(at + field);
            }
        }
        return List.copyOf(offsets);
    }

    private static byte[] mutate(byte[] original, List<Edit> edits, int keepPercent) {
        List<Integer> fields = FIELDS.computeIfAbsent(original, CoreReaderFuzzTest::fieldOffsets);
        int length = keepPercent >= 100 ? original.length : (int) ((long) original.length * keepPercent / 100);
        byte[] bytes = Arrays.copyOf(original, length);
        ByteBuffer buffer = ByteBuffer.wrap(bytes)
                .order(original[5] == 2 ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        for (Edit edit : edits) {
            int offset = edit.atField() ? fields.get(edit.pick() % fields.size()) : edit.pick();
            if (offset + edit.width() > bytes.length) {
                continue;
            }
            switch (edit.width()) {
                case 1 -> buffer.put(offset, (byte) edit.value());
                case 2 -> buffer.putShort(offset, (short) edit.value());
                case 4 -> buffer.putInt(offset, (int) edit.value());
                default -> buffer.putLong(offset, edit.value());
            }
        }
        return bytes;
    }

    /** Runs the whole of {@code unwinder core} but the printing; the only failure allowed is bad input. */
    private static void readAndWalk(byte[] core, byte[] exe) {
        Path exeFile = null;
        try (Arena arena = Arena.ofConfined()) {
            ElfFile coreElf = ElfFile.of("fuzzed.core", MemorySegment.ofArray(core));
            List<Path> given = List.of();
            if (exe != null) {
                exeFile = Files.createTempFile("fuzzed", ".prog");
                Files.write(exeFile, exe);
                given = List.of(exeFile);
            }
            SymbolFiles files = SymbolFiles.of(arena, Files.createTempDirectory("empty-sysroot"), List.of(), given,
                    Demangler.none());
            // Both walks: the call-frame information walk (the default) and --fp-only.
            for (boolean fpOnly : new boolean[] {false, true}) {
                OutputFormat.Report report = CoreCommand.report(coreElf, files, List.of(), 64, fpOnly, arena);
                assertTrue(!report.backtraces().isEmpty());
                for (Backtrace backtrace : report.backtraces()) {
                    assertTrue(backtrace.frames().size() <= 64);
                }
                for (String problem : report.problems()) {
                    assertEquals(-1, problem.indexOf('\n'), problem);
                }
                // Printing touches every name and module: it must not fail either.
                OutputFormat.JSON.print(report, new java.io.PrintWriter(java.io.Writer.nullWriter()));
            }
        } catch (BadInputException | ElfException e) {
            String message = e.getMessage();
            assertTrue(message.startsWith("fuzzed.core: ") || message.startsWith(exeFile + ": "), message);
            assertEquals(-1, message.indexOf('\n'), message);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (exeFile != null) {
                try {
                    Files.deleteIfExists(exeFile);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
    }

    @Property(tries = 400, seed = "20261124")
    void aCoreWithLyingFields(@ForAll("cores") String core, @ForAll @Size(min = 1, max = 6) List<@net.jqwik.api.From("edits") Edit> edits) {
        readAndWalk(mutate(file(core + "/core"), edits, 100), file(core + "/prog"));
    }

    @Property(tries = 200, seed = "20261124")
    void aCoreCutShort(@ForAll("cores") String core, @ForAll @IntRange(min = 0, max = 99) int keepPercent,
                       @ForAll @Size(max = 3) List<@net.jqwik.api.From("edits") Edit> edits) {
        readAndWalk(mutate(file(core + "/core"), edits, keepPercent), null);
    }

    @Property(tries = 200, seed = "20261124")
    void anExecutableWithLyingFields(@ForAll("cores") String core,
                                     @ForAll @Size(min = 1, max = 6) List<@net.jqwik.api.From("edits") Edit> edits) {
        readAndWalk(file(core + "/core"), mutate(file(core + "/prog"), edits, 100));
    }

    @Property(tries = 300, seed = "20261124")
    void randomBytesBehindAnElfHeader(@ForAll @Size(min = 0, max = 2048) byte[] random,
                                      @ForAll("cores") String core, @ForAll @IntRange(min = 0, max = 64) int headerBytes) {
        byte[] bytes = Arrays.copyOf(file(core + "/core"), headerBytes + random.length);
        System.arraycopy(random, 0, bytes, headerBytes, random.length);
        readAndWalk(bytes, null);
    }

    @Provide
    Arbitrary<String> cores() {
        return Arbitraries.of(Fixtures.CORE_ARCHES);
    }
}
