package dev.unwinder.elf;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Fuzzes the perf map reader with random bytes and with real lines cut, spliced and sprinkled
 * with the bytes a parser trips on: the outcome is a map or an {@link ElfException} whose message
 * is one line starting with the map's name, never another exception, and the small bounds given to
 * the streaming reader stop it early whatever it is fed. A model property checks lookups against
 * the plain rule, the latest entry in the file that covers an address wins. Fixed seeds and tries:
 * a few seconds in all.
 */
final class PerfMapFuzzTest {
    private static final String SAMPLE = """
            0x00007fc39becea80 0x0000000000000128 int java.lang.String.hashCode()
            0x00007fc39bed5e00 0x0000000000000220 boolean java.lang.String.equals(java.lang.Object)
            0x00007fc39baacfe0 0x0000000000000500 I2C/C2I adapters
            3ef414cab400 2a LazyCompile:~foo /srv/app.js:3:10
            3ef414cab410 40 LazyCompile:*bar /srv/app.js:9:1
            7f0000001000 1c0 wasm[0]::function[12]::add
            ffffffffffffff00 ff top
            0 0 nothing
            """;
    private static final byte[] TRICKY = {' ', '\t', '\n', '\r', 'x', 'X', '0', 'f', 'F', 'g', '-', (byte) 0xff, 0, (byte) 0xce};

    /** Parses fully, then streams with small bounds; either way a map or a well-formed error. */
    private static void readBoth(byte[] content) {
        try {
            check(PerfMap.parse("fuzz.map", content));
        } catch (ElfException e) {
            checkMessage(e);
        }
        try {
            check(PerfMap.read("fuzz.map", new ByteArrayInputStream(content), 8, 64, 200));
        } catch (ElfException e) {
            checkMessage(e);
        } catch (IOException e) {
            throw new AssertionError("not an ElfException", e);
        }
    }

    private static void checkMessage(ElfException e) {
        assertTrue(e.getMessage().startsWith("fuzz.map: "), e.getMessage());
        assertFalse(e.getMessage().contains("\n") || e.getMessage().contains("\r"), e.getMessage());
    }

    private static void check(PerfMap map) {
        assertTrue(Long.compareUnsigned(map.lowest(), map.highest()) <= 0, map::toString);
        for (int i = 0; i < map.size(); i++) {
            map.name(i);
            if (map.size(i) != 0) {
                int found = map.lookup(map.start(i));
                assertTrue(found >= i && found < map.size(), map::toString);
                assertTrue(Long.compareUnsigned(map.start(found), map.start(i)) <= 0);
            }
        }
    }

    @Property(tries = 500, seed = "20261124")
    void randomBytes(@ForAll @Size(max = 300) byte[] content) {
        readBoth(content);
    }

    @Property(tries = 300, seed = "20261124")
    void randomTextOfTheRightAlphabet(@ForAll("perfText") String content) {
        readBoth(content.getBytes(UTF_8));
    }

    @Provide
    Arbitrary<String> perfText() {
        return Arbitraries.strings().withChars("0123456789abcdefxX \t\n\r-gz").ofMaxLength(200);
    }

    /** One edit of the sample: insert, overwrite or delete a byte at {@code at}, or cut the text there. */
    record Edit(int kind, int at, byte value) {}

    @Provide
    Arbitrary<Edit> edits() {
        return Combinators.combine(Arbitraries.integers().between(0, 3), Arbitraries.integers().between(0, SAMPLE.length()),
                Arbitraries.oneOf(List.of(Arbitraries.of(TRICKY[0], TRICKY[1], TRICKY[2], TRICKY[3], TRICKY[4], TRICKY[5],
                        TRICKY[6], TRICKY[7], TRICKY[8], TRICKY[9], TRICKY[10], TRICKY[11], TRICKY[12], TRICKY[13]),
                        Arbitraries.bytes()))).as(Edit::new);
    }

    @Property(tries = 500, seed = "20261124")
    void realLinesMutated(@ForAll @Size(min = 1, max = 8) List<@From("edits") Edit> edits) {
        List<Byte> bytes = new ArrayList<>();
        for (byte b : SAMPLE.getBytes(UTF_8)) {
            bytes.add(b);
        }
        for (Edit edit : edits) {
            int at = Math.min(edit.at(), bytes.size());
            switch (edit.kind()) {
                case 0 -> bytes.add(at, edit.value());
                case 1 -> {
                    if (at < bytes.size()) {
                        bytes.set(at, edit.value());
                    }
                }
                case 2 -> {
                    if (at < bytes.size()) {
                        bytes.remove(at);
                    }
                }
                default -> bytes.subList(at, bytes.size()).clear();
            }
        }
        byte[] content = new byte[bytes.size()];
        for (int i = 0; i < content.length; i++) {
            content[i] = bytes.get(i);
        }
        readBoth(content);
    }

    @Property(tries = 100, seed = "20261124")
    void aStreamOfRepeatedLinesStopsAtTheBounds(@ForAll @Size(min = 1, max = 80) byte[] line,
                                                @ForAll @IntRange(min = 1, max = 500) int repeats) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < repeats; i++) {
            out.writeBytes(line);
        }
        readBoth(out.toByteArray());
    }

    /** One entry of a generated map, in a small address space so that they overlap often. */
    record Entry(long start, long size, int style) {}

    @Provide
    Arbitrary<Entry> entries() {
        Arbitrary<Long> starts = Arbitraries.oneOf(List.of(Arbitraries.longs().between(0, 0x100),
                Arbitraries.longs().between(-0x100, -0x41)));
        return Combinators.combine(starts, Arbitraries.longs().between(0, 0x40), Arbitraries.integers().between(0, 3))
                .as(Entry::new);
    }

    /**
     * Entries for a map big enough to be sorted by radix, not by insertion: clustered so that they
     * overlap, with high bits that differ between clusters so that every radix pass runs.
     */
    @Provide
    Arbitrary<List<Entry>> manyEntries() {
        Arbitrary<Long> clusters = Arbitraries.of(0L, 0x7f00_0000_0000L, 0x1234_0000_0000_0000L, 0xffff_ffff_ffff_0000L,
                0x8000_0000_0000_0000L, 0x55_5500_0000L);
        Arbitrary<Entry> entry = Combinators.combine(clusters, Arbitraries.longs().between(0, 0x800),
                Arbitraries.longs().between(0, 0x100), Arbitraries.integers().between(0, 3))
                .as((cluster, offset, size, style) -> new Entry(cluster + offset, size, style));
        return entry.list().ofMinSize(65).ofMaxSize(400);
    }

    @Property(tries = 40, seed = "20261124")
    void manyEntriesResolveAsFewDo(@ForAll("manyEntries") List<Entry> entries) throws ElfException {
        lookupFindsTheLatestEntryThatCoversAnAddress(entries, false);
    }

    @Property(tries = 250, seed = "20261124")
    void lookupFindsTheLatestEntryThatCoversAnAddress(@ForAll @Size(max = 40) List<@From("entries") Entry> entries,
                                                      @ForAll boolean truncate) throws ElfException {
        StringBuilder content = new StringBuilder();
        for (int i = 0; i < entries.size(); i++) {
            Entry entry = entries.get(i);
            String start = Long.toHexString(entry.start());
            String size = Long.toHexString(entry.size());
            switch (entry.style()) {
                case 0 -> content.append(String.format("0x%016x 0x%016x", entry.start(), entry.size()));
                case 1 -> content.append(start).append(' ').append(size);
                case 2 -> content.append("0X").append(start.toUpperCase()).append("\t \t").append(size.toUpperCase());
                default -> content.append("000").append(start).append("  0x").append(size);
            }
            content.append(" entry ").append(i).append('\n');
        }
        if (truncate) {
            content.append("1 1 truncated");
        }
        PerfMap map = PerfMap.parse("model.map", content.toString().getBytes(UTF_8));
        assertEquals(entries.size(), map.size());
        assertEquals(truncate, map.truncatedLastLine());
        long lowest = 0;
        long highest = 0;
        boolean any = false;
        List<Long> probes = new ArrayList<>(List.of(0L, -1L, 1L, -0x41L));
        for (int i = 0; i < entries.size(); i++) {
            Entry entry = entries.get(i);
            assertEquals(entry.start(), map.start(i));
            assertEquals(entry.size(), map.size(i));
            assertEquals("entry " + i, map.name(i));
            long end = entry.start() + entry.size();
            probes.addAll(List.of(entry.start() - 1, entry.start(), entry.start() + entry.size() / 2, end - 1, end));
            if (entry.size() != 0) {
                lowest = !any || Long.compareUnsigned(entry.start(), lowest) < 0 ? entry.start() : lowest;
                highest = !any || Long.compareUnsigned(end, highest) > 0 ? end : highest;
                any = true;
            }
        }
        assertEquals(lowest, map.lowest());
        assertEquals(highest, map.highest());
        for (long address : probes) {
            int expected = -1;
            for (int i = entries.size() - 1; i >= 0; i--) {
                Entry entry = entries.get(i);
                if (Long.compareUnsigned(address - entry.start(), entry.size()) < 0) {
                    expected = i;
                    break;
                }
            }
            assertEquals(expected, map.lookup(address), () -> String.format("0x%x in%n%s", address, content));
        }
    }
}
