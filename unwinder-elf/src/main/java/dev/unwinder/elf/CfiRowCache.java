package dev.unwinder.elf;

import dev.unwinder.api.StackMemory;
import java.util.Arrays;
import java.util.function.IntPredicate;

/**
 * A walker's cache of the rows it computed, by the pc it looked up: a direct-mapped table of
 * {@value #SLOTS} slots, allocated once by the constructor, so that a frame whose pc was seen
 * before skips the module lookup, the FDE search and the CFA program, and allocates nothing.
 *
 * <p>A slot holds a row in a compact, resolved form: the CFA as a register plus an offset, and per
 * register one of {@link #KEEP}, {@link #UNKNOWN}, {@link #AT_CFA} (saved at CFA + n),
 * {@link #CFA_PLUS} (CFA + n) or {@link #FROM_REGISTER}, with the architecture's defaults for
 * registers that have no rule already applied (the stack pointer follows from the CFA, a
 * callee-saved register and the return-address column keep their value, others are unknown). Only
 * rows without DWARF expressions, whose return-address column is a tracked register with a defined
 * rule, are kept; the walker computes the others every time.
 *
 * <p>{@link #step} does exactly what the walker's full path does with the same row, reads in the
 * same order included, so a walk gives the same frames, end and detail with or without the cache.
 * Where the full path would end the walk (a register it needs is unknown) the step declines and the
 * walker takes the full path, which says why. A row depends only on the pc and the walker's modules,
 * which do not change, so slots are never invalidated, only replaced. Not safe to share between
 * threads, like its walker.
 */
final class CfiRowCache {
    /** The number of slots: a power of two. */
    static final int SLOTS = 512;

    /** The caller's value is the register's current value, known if it is. */
    static final byte KEEP = 0;
    /** The caller's value is not known. */
    static final byte UNKNOWN = 1;
    /** The caller's value is saved at CFA + n. */
    static final byte AT_CFA = 2;
    /** The caller's value is CFA + n. */
    static final byte CFA_PLUS = 3;
    /** The caller's value is in register n, known if it is. */
    static final byte FROM_REGISTER = 4;

    private final int registerCount;
    private final int sp;
    private final long cfaAboveSp;
    private final IntPredicate calleeSaved;

    private final boolean[] used = new boolean[SLOTS];
    private final long[] pcs = new long[SLOTS];
    private final boolean[] signalFrames = new boolean[SLOTS];
    private final int[] returnAddresses = new int[SLOTS];
    private final int[] cfaRegisters = new int[SLOTS];
    private final long[] cfaOffsets = new long[SLOTS];
    private final byte[] kinds;
    private final long[] operands;
    private boolean enabled = true;
    private boolean lastSignalFrame;
    private long hits;

    /**
     * Creates an empty cache.
     *
     * @param registerCount the number of DWARF registers the walker tracks
     * @param sp the stack pointer's DWARF number
     * @param cfaAboveSp how far the CFA is above the caller's sp
     * @param calleeSaved whether a callee preserves a register
     */
    CfiRowCache(int registerCount, int sp, long cfaAboveSp, IntPredicate calleeSaved) {
        this.registerCount = registerCount;
        this.sp = sp;
        this.cfaAboveSp = cfaAboveSp;
        this.calleeSaved = calleeSaved;
        kinds = new byte[SLOTS * registerCount];
        operands = new long[SLOTS * registerCount];
    }

    /** Turns the cache on or off (for tests that compare both paths); off, it neither finds nor keeps rows. */
    void enabled(boolean on) {
        enabled = on;
        if (!on) {
            Arrays.fill(used, false);
        }
    }

    private static int slot(long pc) {
        long h = pc * 0x9E37_79B9_7F4A_7C15L;
        return (int) (h >>> (64 - Integer.numberOfTrailingZeros(SLOTS)));
    }

    /**
     * Keeps the row computed for {@code pc}, unless it uses an expression or its return-address
     * column is not a tracked register with a defined rule.
     *
     * @param pc the pc the walker looked up ({@code pc - 1} above a call)
     * @param signalFrame whether the row's CIE is a signal frame's
     * @param ra the return-address column
     * @param row the row
     */
    void store(long pc, boolean signalFrame, int ra, CfiRow row) {
        if (!enabled || row.cfaIsExpression() || ra < 0 || ra >= registerCount) {
            return;
        }
        int cfaRegister = row.cfaRegister();
        if (cfaRegister < 0 || cfaRegister >= registerCount) {
            return;
        }
        int s = slot(pc);
        int base = s * registerCount;
        for (int r = 0; r < registerCount; r++) {
            byte kind;
            long operand = 0;
            switch (row.rule(r)) {
                case UNSPECIFIED -> {
                    if (r == sp) {
                        kind = CFA_PLUS;
                        operand = -cfaAboveSp;
                    } else {
                        kind = calleeSaved.test(r) || r == ra ? KEEP : UNKNOWN;
                    }
                }
                case UNDEFINED -> {
                    if (r == ra) {
                        used[s] = false;
                        return; // the outermost frame: the walker ends there before any step
                    }
                    kind = UNKNOWN;
                }
                case SAME_VALUE -> kind = KEEP;
                case OFFSET -> {
                    kind = AT_CFA;
                    operand = row.operand(r);
                }
                case VAL_OFFSET -> {
                    kind = CFA_PLUS;
                    operand = row.operand(r);
                }
                case REGISTER -> {
                    long from = row.operand(r);
                    if (from >= 0 && from < registerCount) {
                        kind = FROM_REGISTER;
                        operand = from;
                    } else {
                        kind = UNKNOWN;
                    }
                }
                default -> {
                    used[s] = false;
                    return; // EXPRESSION, VAL_EXPRESSION: the full path evaluates them
                }
            }
            kinds[base + r] = kind;
            operands[base + r] = operand;
        }
        pcs[s] = pc;
        signalFrames[s] = signalFrame;
        returnAddresses[s] = ra;
        cfaRegisters[s] = cfaRegister;
        cfaOffsets[s] = row.cfaOffset();
        used[s] = true;
    }

    /**
     * Steps from one frame to its caller with the row kept for {@code pc}, as the walker's full
     * path would: fills {@code next} and {@code nextKnown}.
     *
     * @return the return-address column, whose {@code next} value is the caller's return address;
     *     -1 if no row is kept for {@code pc}, or the step needs an unknown register (then
     *     {@code next} and {@code nextKnown} may have been written, and the full path must run)
     * @throws dev.unwinder.api.UnwindException if a read is outside the memory, exactly where the
     *     full path's read would be
     */
    int step(long pc, long[] registers, boolean[] known, StackMemory memory, long[] next, boolean[] nextKnown) {
        int s = slot(pc);
        if (!used[s] || pcs[s] != pc) {
            return -1;
        }
        int cfaRegister = cfaRegisters[s];
        if (!known[cfaRegister]) {
            return -1;
        }
        long cfa = registers[cfaRegister] + cfaOffsets[s];
        int base = s * registerCount;
        for (int r = 0; r < registerCount; r++) {
            long operand = operands[base + r];
            switch (kinds[base + r]) {
                case KEEP -> {
                    next[r] = registers[r];
                    nextKnown[r] = known[r];
                }
                case AT_CFA -> {
                    next[r] = memory.readLong(cfa, operand);
                    nextKnown[r] = true;
                }
                case CFA_PLUS -> {
                    next[r] = cfa + operand;
                    nextKnown[r] = true;
                }
                case FROM_REGISTER -> {
                    int from = (int) operand;
                    boolean has = known[from];
                    next[r] = has ? registers[from] : 0;
                    nextKnown[r] = has;
                }
                default -> {
                    next[r] = 0;
                    nextKnown[r] = false;
                }
            }
        }
        int ra = returnAddresses[s];
        if (!nextKnown[ra]) {
            return -1;
        }
        lastSignalFrame = signalFrames[s];
        hits++;
        return ra;
    }

    /** The number of steps made with a kept row (for tests). */
    long hits() {
        return hits;
    }

    /**
     * Whether the row of the last successful {@link #step} is a signal frame's.
     *
     * @return the CIE's {@code S} augmentation
     */
    boolean signalFrame() {
        return lastSignalFrame;
    }
}
