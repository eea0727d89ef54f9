package dev.unwinder.core;

/**
 * The fps whose link words all lie inside a memory: for link words at signed offsets
 * {@code low} to {@code high - 8} from fp, every fp with
 * {@code base - low <= fp <= base + size - high}, computed once per walk so that each frame pays
 * one unsigned compare instead of a wrap-around and a bounds check per word.
 *
 * <p>Equivalent, for every fp, to checking each word {@code fp + offset} (offset in
 * {@code [low, high - 8]}) for wrap-around and for {@code [fp + offset, fp + offset + 8)} lying
 * inside {@code [base, base + size)}.
 */
final class LinkRange {
    /** Whether any fp qualifies. */
    final boolean any;
    /** The lowest qualifying fp. */
    final long first;
    /** The highest qualifying fp minus {@link #first}, unsigned. */
    final long span;

    /**
     * @param base the memory's first address
     * @param size the memory's size, at most {@code Long.MAX_VALUE}, not wrapping past 2^64
     * @param low the lowest link word offset
     * @param high the highest link word offset plus 8
     */
    LinkRange(long base, long size, long low, long high) {
        // Mathematically first = base - low and last = base + size - high, clamped to [0, 2^64 - 1].
        boolean any = size >= high - low;
        long first = base - low;
        if (low > 0 && Long.compareUnsigned(base, low) < 0) {
            first = 0;                      // base - low < 0: clamp
        } else if (low < 0 && Long.compareUnsigned(first, base) < 0) {
            any = false;                    // base - low >= 2^64: nothing fits
        }
        long lastByte = base + size - 1;    // no wrap: the memory fits below 2^64
        long last = lastByte - (high - 1);
        if (high - 1 >= 0 && Long.compareUnsigned(lastByte, high - 1) < 0) {
            any = false;                    // base + size - high < 0
        } else if (high - 1 < 0 && Long.compareUnsigned(last, lastByte) < 0) {
            last = -1L;                     // base + size - high >= 2^64: clamp
        }
        if (Long.compareUnsigned(first, last) > 0) {
            any = false;
        }
        this.any = any;
        this.first = any ? first : 0;
        this.span = any ? last - first : 0;
    }

    /** Tells whether every link word of the frame at {@code fp} is inside the memory. */
    boolean contains(long fp) {
        return any && Long.compareUnsigned(fp - first, span) <= 0;
    }
}
