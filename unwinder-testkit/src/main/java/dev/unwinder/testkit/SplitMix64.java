package dev.unwinder.testkit;

/**
 * The splitmix64 generator (Steele, Lea and Flood, 2014): a 64-bit state advanced by the golden
 * gamma and mixed by two multiply-xorshift rounds. Every implementation of it yields the same
 * sequence for the same seed, which makes synthetic stacks comparable across runs and languages.
 */
public final class SplitMix64 {
    private long state;

    /**
     * Creates a generator.
     *
     * @param seed the initial state
     */
    public SplitMix64(long seed) {
        this.state = seed;
    }

    /**
     * Returns the next 64 bits of the sequence.
     *
     * @return the next value
     */
    public long next() {
        long z = (state += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
