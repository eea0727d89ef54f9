package dev.unwinder.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

final class LinkRangeTest {

    /** The definition: each word fp + offset neither wraps nor leaves [base, base + size). */
    private static boolean wordsInside(long base, long size, long fp, long[] offsets) {
        for (long offset : offsets) {
            long address = fp + offset;
            if (offset >= 0 ? Long.compareUnsigned(address, fp) < 0 : Long.compareUnsigned(address, fp) > 0) {
                return false;
            }
            if (!(size >= 8 && Long.compareUnsigned(address - base, size - 8) <= 0)) {
                return false;
            }
        }
        return true;
    }

    private static final long[][] LAYOUTS = {{0, 8}, {-16, -8}, {0, 112}, {8, 0}, {-8, 24}, {0, 0}};

    @Test
    void agreesWithTheWordByWordDefinitionAtTheEdges() {
        long[] bases = {0, 16, 0x7ffd_0000_0000L, Long.MAX_VALUE - 15, Long.MIN_VALUE, -4096, -128, -16};
        long[] sizes = {0, 7, 8, 16, 120, 128, 4096};
        for (long[] offsets : LAYOUTS) {
            long low = Math.min(offsets[0], offsets[1]);
            long high = Math.max(offsets[0], offsets[1]) + 8;
            for (long base : bases) {
                for (long size : sizes) {
                    if (size > 0 && Long.compareUnsigned(base + size - 1, base) < 0) {
                        continue; // not a memory: it would wrap past 2^64
                    }
                    boolean any = LinkRange.any(base, size, low, high);
                    long first = LinkRange.first(base, low);
                    long span = LinkRange.span(base, size, low, high);
                    for (long delta = -300; delta <= size + 300; delta++) {
                        for (long fp : new long[] {base + delta, delta, -delta}) {
                            assertEquals(wordsInside(base, size, fp, offsets), any && LinkRange.contains(first, span, fp),
                                    String.format("base 0x%x size %d offsets %d,%d fp 0x%x", base, size, offsets[0],
                                            offsets[1], fp));
                        }
                    }
                }
            }
        }
    }

    @Test
    void agreesWithTheWordByWordDefinitionAnywhere() {
        SplittableRandom random = new SplittableRandom(0x5EED);
        for (int i = 0; i < 200_000; i++) {
            long[] offsets = LAYOUTS[random.nextInt(LAYOUTS.length)];
            long size = random.nextBoolean() ? random.nextLong(0, 1 << 20) : random.nextLong(0, Long.MAX_VALUE);
            long base = random.nextLong();
            if (size > 0 && Long.compareUnsigned(base + size - 1, base) < 0) {
                base = -size;
            }
            long fp = switch (random.nextInt(3)) {
                case 0 -> random.nextLong();
                case 1 -> base + random.nextLong(-512, 512);
                default -> base + size + random.nextLong(-512, 512);
            };
            long low = Math.min(offsets[0], offsets[1]);
            long high = Math.max(offsets[0], offsets[1]) + 8;
            assertEquals(wordsInside(base, size, fp, offsets), LinkRange.any(base, size, low, high)
                            && LinkRange.contains(LinkRange.first(base, low), LinkRange.span(base, size, low, high), fp),
                    String.format("base 0x%x size %d fp 0x%x", base, size, fp));
        }
    }
}
