package dev.unwinder.core;

/**
 * The fps whose link words all lie inside a memory: for link words at signed offsets
 * {@code low} to {@code high - 8} from fp, every fp with
 * {@code base - low <= fp <= base + size - high}, computed once per walk so that each frame pays
 * one unsigned compare ({@link #contains}) instead of a wrap-around and a bounds check per word.
 *
 * <p>Equivalent, for every fp, to checking each word {@code fp + offset} (offset in
 * {@code [low, high - 8]}) for wrap-around and for {@code [fp + offset, fp + offset + 8)} lying
 * inside {@code [base, base + size)}.
 *
 * <p>Static methods over plain values, not an object: a walker keeps {@link #first} and
 * {@link #span} in two fields, and nothing has to be allocated, or inlined to avoid allocating,
 * when a walk starts.
 *
 * <p>Parameters throughout: {@code base}, the memory's first address; {@code size}, its size, at
 * most {@code Long.MAX_VALUE}, not wrapping past 2^64; {@code low}, the lowest link word offset;
 * {@code high}, the highest link word offset plus 8.
 */
final class LinkRange {

    private LinkRange() {}

    /** Tells whether any fp has all its link words inside the memory. */
    static boolean any(long base, long size, long low, long high) {
        if (size < high - low) {
            return false;
        }
        if (low < 0 && Long.compareUnsigned(base - low, base) < 0) {
            return false;                   // base - low >= 2^64
        }
        long lastByte = base + size - 1;    // no wrap: the memory fits below 2^64
        if (high - 1 >= 0 && Long.compareUnsigned(lastByte, high - 1) < 0) {
            return false;                   // base + size - high < 0
        }
        return Long.compareUnsigned(first(base, low), last(base, size, high)) <= 0;
    }

    /** Returns the lowest such fp; meaningful when {@link #any} holds. */
    static long first(long base, long low) {
        if (low > 0 && Long.compareUnsigned(base, low) < 0) {
            return 0;                       // base - low < 0: clamp
        }
        return base - low;
    }

    /** Returns the highest such fp minus the lowest, unsigned; meaningful when {@link #any} holds. */
    static long span(long base, long size, long low, long high) {
        return last(base, size, high) - first(base, low);
    }

    private static long last(long base, long size, long high) {
        long lastByte = base + size - 1;
        long last = lastByte - (high - 1);
        if (high - 1 < 0 && Long.compareUnsigned(last, lastByte) < 0) {
            return -1L;                     // base + size - high >= 2^64: clamp
        }
        return last;
    }

    /** Tells whether {@code fp} is in the range of {@link #first} and {@link #span}, which must not be empty. */
    static boolean contains(long first, long span, long fp) {
        return Long.compareUnsigned(fp - first, span) <= 0;
    }
}
