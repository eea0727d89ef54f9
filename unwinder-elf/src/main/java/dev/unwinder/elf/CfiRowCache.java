package dev.unwinder.elf;

import dev.unwinder.api.StackMemory;
import java.util.Arrays;
import java.util.function.IntPredicate;
import java.util.function.LongUnaryOperator;

/**
 * A walker's cache of the rows it computed, by the pc it looked up: a direct-mapped table of
 * {@value #SLOTS} slots, allocated once by the constructor, so that a frame whose pc was seen
 * before skips the module lookup, the FDE search and the CFA program, and allocates nothing.
 *
 * <p>A slot holds a row in a compact, resolved form: the CFA as a register plus an offset, and per
 * register one of {@link #KEEP}, {@link #UNKNOWN}, {@link #AT_CFA} (saved at CFA + n),
 * {@link #CFA_PLUS} (CFA + n) or {@link #FROM_REGISTER}, with the architecture's defaults for
 * registers that have no rule already applied (the stack pointer follows from the CFA, a
 * callee-saved register and the return-address column keep their value, others are unknown). It
 * keeps only the registers whose rule differs from a base step that keeps every register and
 * forgets those a callee need not keep. Only rows without DWARF expressions, whose return-address
 * column is a tracked register with a defined rule, are kept; the walker computes the others every
 * time.
 *
 * <p>{@link #run} walks on through frames whose rows are kept and simple (the common case: each
 * register saved at CFA + n, or CFA + n itself), changing the registers in place; {@link #step}
 * makes one step with any kept row. Both do exactly what the walker's full path does with the same
 * row, reads in the same order included, so a walk gives the same frames, end, detail and registers
 * with or without the cache.
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
    /** The registers the base step makes unknown: those a callee need not keep, but the stack pointer. */
    private final boolean[] isVolatile;
    /** Per slot, the entries where the row differs from the base step, by register, ascending. */
    private final int[] counts = new int[SLOTS];
    /** Per slot, up to registerCount entries: register (8 bits), kind (8 bits), operand (48 bits, signed). */
    private final long[] entries;
    /** The registers that are volatile, ascending. */
    private final int[] volatileRegisters;
    /** Per slot, whether {@link #run} may step with it: see {@link #store}. */
    private final boolean[] fast = new boolean[SLOTS];
    /** Per slot, the entry (from the slot's first) of the return-address column, and of the stack pointer. */
    private final int[] raEntries = new int[SLOTS];
    private final int[] spEntries = new int[SLOTS];
    /** The values of one step of {@link #run}, by entry, before they are applied. */
    private final long[] values;
    private final LongUnaryOperator decodeReturnAddress;
    private boolean enabled = true;
    private boolean lastSignalFrame;
    private long hits;
    /** Whether {@link #run} changed registers without next since the last full copy of them. */
    private boolean stale;

    /**
     * Creates an empty cache.
     *
     * @param registerCount the number of DWARF registers the walker tracks
     * @param sp the stack pointer's DWARF number
     * @param cfaAboveSp how far the CFA is above the caller's sp
     * @param calleeSaved whether a callee preserves a register
     * @param decodeReturnAddress how a saved return address becomes a pc
     */
    CfiRowCache(int registerCount, int sp, long cfaAboveSp, IntPredicate calleeSaved,
                LongUnaryOperator decodeReturnAddress) {
        this.registerCount = registerCount;
        this.decodeReturnAddress = decodeReturnAddress;
        values = new long[registerCount];
        this.sp = sp;
        this.cfaAboveSp = cfaAboveSp;
        this.calleeSaved = calleeSaved;
        isVolatile = new boolean[registerCount];
        for (int r = 0; r < registerCount; r++) {
            isVolatile[r] = r != sp && !calleeSaved.test(r);
        }
        int volatileCount = 0;
        for (boolean v : isVolatile) {
            volatileCount += v ? 1 : 0;
        }
        volatileRegisters = new int[volatileCount];
        for (int r = 0, i = 0; r < registerCount; r++) {
            if (isVolatile[r]) {
                volatileRegisters[i++] = r;
            }
        }
        entries = new long[SLOTS * registerCount];
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
        int count = 0;
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
            if (kind != (isVolatile[r] ? UNKNOWN : KEEP)) {
                if (operand << 16 >> 16 != operand || r > 0xff) {
                    used[s] = false;
                    return; // an offset beyond 2^47 or a register beyond 255: not worth a slot
                }
                entries[base + count] = (long) r << 56 | (long) kind << 48 | operand & 0xffff_ffff_ffffL;
                count++;
            }
        }
        counts[s] = count;
        boolean simple = true;
        raEntries[s] = -1;
        spEntries[s] = -1;
        for (int e = 0; e < count; e++) {
            long entry = entries[base + e];
            int r = (int) (entry >>> 56);
            int kind = (int) (entry >>> 48) & 0xff;
            simple &= kind == AT_CFA || kind == CFA_PLUS || kind == UNKNOWN;
            if (r == ra) {
                raEntries[s] = kind == UNKNOWN ? -1 : e;
            }
            if (r == sp) {
                spEntries[s] = kind == UNKNOWN ? -1 : e;
            }
        }
        fast[s] = simple && raEntries[s] >= 0 && spEntries[s] >= 0;
        pcs[s] = pc;
        signalFrames[s] = signalFrame;
        returnAddresses[s] = ra;
        cfaRegisters[s] = cfaRegister;
        cfaOffsets[s] = row.cfaOffset();
        used[s] = true;
    }

    /**
     * Steps from one frame to its caller with the row kept for {@code pc}, as the walker's full
     * path would: fills {@code next} and {@code nextKnown}. With {@code same}, they already equal
     * {@code registers} and {@code known} (the walker's previous step ended by copying them there),
     * and only the registers the row changes are written.
     *
     * @return the return-address column, whose {@code next} value is the caller's return address;
     *     -1 if no row is kept for {@code pc}, or the step needs an unknown register (then
     *     {@code next} and {@code nextKnown} may have been written, and the full path must run)
     * @throws dev.unwinder.api.UnwindException if a read is outside the memory, exactly where the
     *     full path's read would be
     */
    int step(long pc, boolean same, long[] registers, boolean[] known, StackMemory memory, long[] next, boolean[] nextKnown) {
        int s = slot(pc);
        if (!used[s] || pcs[s] != pc) {
            return -1;
        }
        int cfaRegister = cfaRegisters[s];
        if (!known[cfaRegister]) {
            return -1;
        }
        long cfa = registers[cfaRegister] + cfaOffsets[s];
        // The base step: every register keeps its value, but those a callee need not keep.
        int n = registerCount;
        if (!same || stale) {
            stale = false;
            System.arraycopy(registers, 0, next, 0, n);
            System.arraycopy(known, 0, nextKnown, 0, n);
        }
        for (int r : volatileRegisters) {
            nextKnown[r] = false; // its value is never read while it is unknown
        }
        // Then the row's own rules, by register, ascending: the full path's order of reads.
        int base = s * n;
        int end = base + counts[s];
        for (int e = base; e < end; e++) {
            long entry = entries[e];
            int r = (int) (entry >>> 56);
            long operand = entry << 16 >> 16;
            int kind = (int) (entry >>> 48) & 0xff;
            if (kind == AT_CFA) {
                next[r] = read(memory, cfa, operand);
                nextKnown[r] = true;
            } else if (kind == CFA_PLUS) {
                next[r] = cfa + operand;
                nextKnown[r] = true;
            } else {
                rare(r, kind, operand, registers, known, next, nextKnown);
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

    /**
     * {@code memory.readLong(address, offset)}, with the same result and the same exception, but
     * through the memory's own one-argument read where the sum does not wrap: small enough for the
     * JIT to inline where the default method is not.
     */
    private static long read(StackMemory memory, long address, long offset) {
        long target = address + offset;
        boolean wraps = offset >= 0 ? Long.compareUnsigned(target, address) < 0 : Long.compareUnsigned(target, address) > 0;
        return wraps ? memory.readLong(address, offset) : memory.readLong(target);
    }

    /** The rules that are not in most rows, out of {@link #step} to keep it small enough to inline. */
    private static void rare(int r, int kind, long operand, long[] registers, boolean[] known, long[] next,
                             boolean[] nextKnown) {
        switch (kind) {
            case KEEP -> {
                next[r] = registers[r];
                nextKnown[r] = known[r];
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

    /** Where {@link #run} stopped when it returned null: the frame, visited, whose row it could not use. */
    int runIndex;
    long runPc;
    long runSp;
    boolean runExact;
    boolean runGrew;
    /**
     * What the end {@link #run} returned was about, as the walker says it: a format of up to three
     * long arguments ({@link #runA} and the others); empty for the others.
     */
    String runDetail = "";
    long runA;
    long runB;
    long runC;

    /**
     * Walks on from a frame that the walker has visited, as long as the rows kept for the frames'
     * pcs are simple (each register saved at CFA + n, equal to CFA + n, or unknown, the return
     * address and the stack pointer among the first two), exactly as the walker's loop would: the
     * same visits, checks, ends and end details, and the registers of the last frame visited.
     * It changes {@code registers} and {@code known} in place, not {@code next} and
     * {@code nextKnown}, which the next {@link #step} then copies from them in full.
     *
     * @return the end of the walk, or null where a frame's row is not kept or not simple (then
     *     {@link #runIndex} and the others say where it is: visited, below {@code maxFrames})
     */
    CfiWalk.End run(int index, long pc, long sp, boolean exact, boolean grew, long[] registers, boolean[] known,
                    long[] next, boolean[] nextKnown, StackMemory memory, int maxFrames, CfiWalk.Visitor visitor) {
        runDetail = "";
        int n = registerCount;
        long[] vals = values;
        int[] volatiles = volatileRegisters;
        while (true) {
            long lookup = exact ? pc : pc - 1;
            int s = slot(lookup);
            if (!used[s] || pcs[s] != lookup || !fast[s] || !known[cfaRegisters[s]]) {
                break;
            }
            long cfa = registers[cfaRegisters[s]] + cfaOffsets[s];
            int base = s * n;
            int count = counts[s];
            // Reads first, in the full path's order: a read outside the memory changes no register.
            try {
                for (int e = 0; e < count; e++) {
                    long entry = entries[base + e];
                    long operand = entry << 16 >> 16;
                    int kind = (int) (entry >>> 48) & 0xff;
                    if (kind == AT_CFA) {
                        vals[e] = read(memory, cfa, operand);
                    } else if (kind == CFA_PLUS) {
                        vals[e] = cfa + operand;
                    }
                }
            } catch (dev.unwinder.api.UnwindException e) {
                runDetail = String.valueOf(e.getMessage()).replace("%", "%%");
                return CfiWalk.End.OUTSIDE_MEMORY;
            }
            long callerPc = decodeReturnAddress.applyAsLong(vals[raEntries[s]]);
            if (callerPc == 0) {
                return CfiWalk.End.OUTERMOST;
            }
            long callerSp = vals[spEntries[s]];
            int order = Long.compareUnsigned(callerSp, sp);
            if (order < 0 || order == 0 && (!grew || callerPc == pc)) {
                runDetail = "caller's sp 0x%x is not above sp 0x%x at pc 0x%x";
                runA = callerSp;
                runB = sp;
                runC = pc;
                return CfiWalk.End.CFA_NOT_GROWING;
            }
            for (int r : volatiles) {
                known[r] = false;
            }
            for (int e = 0; e < count; e++) {
                long entry = entries[base + e];
                int r = (int) (entry >>> 56);
                known[r] = ((int) (entry >>> 48) & 0xff) != UNKNOWN;
                registers[r] = vals[e];
            }
            stale = true;
            grew = order > 0;
            pc = callerPc;
            sp = callerSp;
            exact = signalFrames[s];
            index++;
            hits++;
            if (!visitor.frame(index, pc, sp, CfiWalk.How.CFI)) {
                return CfiWalk.End.STOPPED;
            }
            if (index + 1 == maxFrames) {
                return CfiWalk.End.MAX_FRAMES;
            }
        }
        runIndex = index;
        runPc = pc;
        runSp = sp;
        runExact = exact;
        runGrew = grew;
        return null;
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
