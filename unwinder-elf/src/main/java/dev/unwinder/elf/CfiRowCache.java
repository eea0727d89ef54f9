package dev.unwinder.elf;

import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import java.util.Arrays;
import java.util.function.IntPredicate;

/**
 * A walker's cache of the rows it computed, by the pc it looked up: a direct-mapped table of
 * {@value #SLOTS} slots (the slot of the frame's pc, tagged with the pc looked up, pc - 1 above a
 * call), allocated once by the constructor, so that a frame whose pc was seen before skips the
 * module lookup, the FDE search and the CFA program, and allocates nothing.
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
    /**
     * Per slot, {@value #META} longs that {@link #run} reads, for a row it may step with: the pc
     * (else {@link #noMatch}), the CFA's register and offset, the offsets of the return address
     * and of the caller's sp, the lowest and highest offset of a word it reads, and the register
     * masks of one step.
     */
    private final long[] meta = new long[SLOTS * META];
    /** Per slot and register, the offset from the CFA of a register the row sets ({@link #M_SET}). */
    private final long[] runOffsets;
    /** The CFA and the slot's {@link #meta} index of each step {@link #run} made since it last wrote the registers, in pairs. */
    private final long[] ring = new long[2 * RING];
    /** Whether registers fit in one long's bits: {@link #run} needs it. */
    private final boolean masks;
    private final Unwind unwind;
    private boolean enabled = true;
    private boolean lastSignalFrame;
    private long hits;
    /** Whether {@link #run} changed registers without next since the last full copy of them. */
    private boolean stale;

    static final int META = 16;
    /** The steps {@link #run} makes before it writes the registers: a power of two. */
    static final int RING = 64;
    private static final int M_PC = 0;
    private static final int M_CFA_OFFSET = 1;
    /** The return address's offset from the CFA's register (not from the CFA). */
    private static final int M_RA_OFFSET = 2;
    private static final int M_SP_OFFSET = 3;
    private static final int M_LOW = 4;
    private static final int M_HIGH = 5;
    /** The registers whose known state a step keeps: neither volatile nor written by the row. */
    private static final int M_KEEP = 6;
    /** The registers a step makes known. */
    private static final int M_SET = 7;
    /** The registers a step leaves saved in memory, at CFA + n, to be read when needed. */
    private static final int M_SAVED = 8;
    /** The CFA's register (8 bits) and flags. */
    private static final int M_INFO = 9;
    /**
     * The caller's pc that a step with the slot's row last found, and ({@link #M_NEXT_AT}) its slot's
     * {@link #meta} index: a cache of the next slot, so that {@link #run} can load the next frame's
     * row while it still reads the return address that confirms it.
     */
    private static final int M_NEXT_PC = 10;
    private static final int M_NEXT_AT = 11;
    /** In {@link #M_INFO}: the row is not a signal frame's, so its caller's pc is looked up at pc - 1. */
    private static final int BELOW_SHIFT = 32;
    /** In {@link #M_INFO}: the CFA's register is not the stack pointer (one bit test instead of a compare). */
    private static final long CFA_NOT_SP = 1L << 33;

    /**
     * Creates an empty cache.
     *
     * @param registerCount the number of DWARF registers the walker tracks
     * @param sp the stack pointer's DWARF number
     * @param cfaAboveSp how far the CFA is above the caller's sp
     * @param calleeSaved whether a callee preserves a register
     * @param unwind the plugin, which decodes a saved return address into a pc
     */
    CfiRowCache(int registerCount, int sp, long cfaAboveSp, IntPredicate calleeSaved, Unwind unwind) {
        this.registerCount = registerCount;
        this.unwind = unwind;
        masks = registerCount <= 64;
        runOffsets = new long[SLOTS * registerCount];
        clearTags();
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
            Arrays.fill(meta, 0);
            clearTags();
        }
    }

    /**
     * A lookup that no pc of slot {@code s} makes, as neither it nor the next address is in slot
     * {@code s} (a lookup is the pc or pc - 1): an empty slot's pc in {@link #meta}.
     */
    private static long noMatch(int s) {
        return s < 2 ? 4 : 0; // slot(0) = 0, slot(1) = 1, slot(4) = 4, slot(5) = 5
    }

    /** Makes every slot of {@link #meta} empty. */
    private void clearTags() {
        for (int s = 0; s < SLOTS; s++) {
            meta[s * META + M_PC] = noMatch(s);
        }
    }

    /**
     * The slot of a pc: its low bits folded with the next ones. Cheap on purpose: in {@link #run} the
     * hash is on the path from one frame's return address to the next frame's, and the pcs of a
     * stack are spread over functions anyway. A row is kept in the slot of the frame's pc, not of
     * the pc looked up (pc - 1 above a call), and tagged with the latter: the subtraction is then
     * off that path.
     */
    private static int slot(long pc) {
        return (int) (pc ^ pc >>> 9) & (SLOTS - 1);
    }

    /**
     * Keeps the row computed for {@code pc}, unless it uses an expression or its return-address
     * column is not a tracked register with a defined rule.
     *
     * @param lookup the pc the walker looked up ({@code pc - 1} above a call)
     * @param pc the frame's pc, whose slot keeps the row
     * @param signalFrame whether the row's CIE is a signal frame's
     * @param ra the return-address column
     * @param row the row
     */
    void store(long lookup, long pc, boolean signalFrame, int ra, CfiRow row) {
        if (!enabled || row.cfaIsExpression() || ra < 0 || ra >= registerCount) {
            return;
        }
        int cfaRegister = row.cfaRegister();
        if (cfaRegister < 0 || cfaRegister >= registerCount) {
            return;
        }
        int s = slot(pc);
        meta[s * META + M_PC] = noMatch(s); // run() may not use the slot until the row is complete
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
        storeRun(s, lookup, signalFrame, ra, cfaRegister, row.cfaOffset(), base, count);
        pcs[s] = lookup;
        signalFrames[s] = signalFrame;
        returnAddresses[s] = ra;
        cfaRegisters[s] = cfaRegister;
        cfaOffsets[s] = row.cfaOffset();
        used[s] = true;
    }

    /**
     * Fills the slot's {@link #meta} for {@link #run}, where the row allows: every register saved
     * at CFA + n, equal to CFA + n, or unknown; the return address saved, the sp equal to CFA + n;
     * registers in a long's bits.
     */
    private void storeRun(int s, long lookup, boolean signalFrame, int ra, int cfaRegister, long cfaOffset, int base,
                          int count) {
        int at = s * META;
        if (!masks || ra == sp) {
            return;
        }
        long raOffset = 0;
        long spOffset = 0;
        boolean raSaved = false;
        boolean spSet = false;
        long low = Long.MAX_VALUE;
        long high = Long.MIN_VALUE;
        long keep = -1L;
        long set = 0;
        long saved = 0;
        for (int r : volatileRegisters) {
            keep &= ~(1L << r);
        }
        for (int e = 0; e < count; e++) {
            long entry = entries[base + e];
            int r = (int) (entry >>> 56);
            int kind = (int) (entry >>> 48) & 0xff;
            long operand = entry << 16 >> 16;
            keep &= ~(1L << r);
            if (kind == UNKNOWN) {
                continue;
            }
            if (kind != AT_CFA && kind != CFA_PLUS) {
                return;
            }
            set |= 1L << r;
            runOffsets[base + r] = operand;
            if (kind == AT_CFA) {
                saved |= 1L << r;
                low = Math.min(low, operand);
                high = Math.max(high, operand);
            }
            if (r == ra) {
                if (kind != AT_CFA) {
                    return;
                }
                raSaved = true;
                raOffset = operand;
            } else if (r == sp) {
                if (kind != CFA_PLUS) {
                    return;
                }
                spSet = true;
                spOffset = operand;
            }
        }
        if (!raSaved || !spSet) {
            return;
        }
        meta[at + M_CFA_OFFSET] = cfaOffset;
        meta[at + M_RA_OFFSET] = cfaOffset + raOffset; // from the CFA's register: one add on the path to the read
        meta[at + M_SP_OFFSET] = spOffset;
        meta[at + M_LOW] = low;
        meta[at + M_HIGH] = high;
        meta[at + M_KEEP] = keep;
        meta[at + M_SET] = set;
        meta[at + M_SAVED] = saved;
        meta[at + M_INFO] = cfaRegister | (signalFrame ? 0 : 1L << BELOW_SHIFT) | (cfaRegister == sp ? 0 : CFA_NOT_SP);
        meta[at + M_PC] = lookup;
    }

    /**
     * Steps from one frame to its caller with the row kept for {@code lookup} (in {@code pc}'s
     * slot), as the walker's full path would: fills {@code next} and {@code nextKnown}. With
     * {@code same}, they already equal {@code registers} and {@code known} (the walker's previous
     * step ended by copying them there), and only the registers the row changes are written.
     *
     * @param lookup the pc looked up ({@code pc - 1} above a call)
     * @param pc the frame's pc
     * @return the return-address column, whose {@code next} value is the caller's return address;
     *     -1 if no row is kept for {@code lookup}, or the step needs an unknown register (then
     *     {@code next} and {@code nextKnown} may have been written, and the full path must run)
     * @throws dev.unwinder.api.UnwindException if a read is outside the memory, exactly where the
     *     full path's read would be
     */
    int step(long lookup, long pc, boolean same, long[] registers, boolean[] known, StackMemory memory, long[] next,
             boolean[] nextKnown) {
        int s = slot(pc);
        if (!used[s] || pcs[s] != lookup) {
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
     * Walks on from a frame that the walker has visited, as long as the rows kept for the frames'
     * pcs allow ({@link #storeRun}: each register saved at CFA + n, equal to CFA + n, or unknown;
     * the return address saved, the sp CFA + n), exactly as the walker's loop would: the same
     * visits, checks and ends, and the registers of the last frame visited. A step whose caller's
     * sp is not above the sp, and a step whose words are not all inside the memory, it leaves to
     * the walker, which says whether the walk ends and why; the ends it returns (outermost, stopped,
     * the frame limit) have no detail.
     * It changes {@code registers} and {@code known} in place, not {@code next} and
     * {@code nextKnown}, which the next {@link #step} then copies from them in full.
     *
     * <p>Inside, the known registers are a long's bits, the pc and sp are locals, and a register
     * saved at CFA + n is not read at once: its register holds the address, marked as saved, and is
     * read where a later row takes its CFA from it, or when this returns. A step first checks that
     * every word its row reads (the lowest and the highest offset from the CFA, on a contiguous
     * memory) is inside the memory, and where one is not, leaves the step to {@link #step} and the
     * full path, which read in order and end with the same detail as ever. So every read it defers
     * is inside the memory, and reads the word the full path would have read (the memory's words
     * do not change during a walk: a captured stack, or frames that are live below the walker).
     *
     * @return the end of the walk, or null where the walker must take the next step (a row not kept
     *     or not simple, a word outside the memory, a caller's sp not above): then
     *     {@link #runIndex} and the others say where it is (visited, below {@code maxFrames})
     */
    CfiWalk.End run(int index, long pc, long sp, boolean exact, boolean grew, long[] registers, boolean[] known,
                    long[] next, boolean[] nextKnown, StackMemory memory, int maxFrames, CfiWalk.Visitor visitor) {
        long memoryBase = memory.baseAddress();
        long size = memory.size();
        long lastWord = size - 8;
        if (!masks || lastWord < 0) {
            return stopRun(index, pc, sp, exact, grew);
        }
        int n = registerCount;
        int spRegister = this.sp;
        long[] m = meta;
        long[] log = ring;
        long knownBits = 0;
        for (int r = 0; r < n; r++) {
            knownBits |= known[r] ? 1L << r : 0;
        }
        int first = index;
        int last = maxFrames - 1;
        int start = index; // the index of the ring's first step, not yet written to the registers
        int stop = Math.min(last, start + RING); // where the ring is full, or the last frame
        long below = exact ? 0 : 1; // the lookup is pc - below
        CfiWalk.End end = null;
        int at = slot(pc) * META;
        while (true) {
            long info = m[at + M_INFO];
            if (m[at + M_PC] != pc - below) {
                break;
            }
            long cfaBase;
            if ((info & CFA_NOT_SP) == 0) {
                cfaBase = sp;
            } else {
                int cfaRegister = (int) info & 0xff;
                if ((knownBits >>> cfaRegister & 1) == 0) {
                    break;
                }
                cfaBase = value(cfaRegister, index - start, registers, memory);
            }
            long cfa = cfaBase + m[at + M_CFA_OFFSET];
            // Every word read is inside the memory: else step() reads in order, and says where. The
            // CFA is in [base, base + size], the lowest word read at or above base and the highest
            // at or below the last word; so no sum wraps either (offsets are below 2^47 and size
            // below 2^63), and a difference that overflows comes out negative: step() then.
            long fromBase = cfa - memoryBase;
            if ((fromBase | size - fromBase | fromBase + m[at + M_LOW] | lastWord - fromBase - m[at + M_HIGH]) < 0) {
                break;
            }
            long callerPc = unwind.decodeReturnAddress(memory.readLong(cfaBase + m[at + M_RA_OFFSET]));
            if (callerPc == 0) {
                end = CfiWalk.End.OUTERMOST;
                break;
            }
            long callerSp = cfa + m[at + M_SP_OFFSET];
            if (Long.compareUnsigned(callerSp, sp) <= 0) {
                // The stack does not grow: the walker's own step says whether it may (once, at the
                // same sp) or ends the walk, and why. So every step taken here grows the stack.
                break;
            }
            // The caller's slot: from the last step with this row where it had the same caller (the
            // common case, and then the next row's loads need not wait for the read above), else hashed.
            int nextAt;
            if (callerPc == m[at + M_NEXT_PC]) {
                nextAt = (int) m[at + M_NEXT_AT];
            } else {
                nextAt = slot(callerPc) * META;
                m[at + M_NEXT_PC] = callerPc;
                m[at + M_NEXT_AT] = nextAt;
            }
            int k = 2 * (index - start);
            log[k] = cfa;
            log[k + 1] = at;
            knownBits = knownBits & m[at + M_KEEP] | m[at + M_SET];
            pc = callerPc;
            sp = callerSp;
            below = info >>> BELOW_SHIFT & 1;
            at = nextAt;
            index++;
            if (!visitor.frame(index, pc, sp, CfiWalk.How.CFI)) {
                end = CfiWalk.End.STOPPED;
                break;
            }
            if (index == stop) {
                if (index == last) {
                    end = CfiWalk.End.MAX_FRAMES;
                    break;
                }
                write(index - start, knownBits, registers, memory);
                start = index;
                stop = Math.min(last, start + RING);
            }
        }
        exact = below == 0;
        // The last frame visited: its registers and which are known.
        write(index - start, knownBits, registers, memory);
        registers[spRegister] = sp;
        for (int r = 0; r < n; r++) {
            known[r] = (knownBits >>> r & 1) != 0;
        }
        hits += index - first;
        stale = true;
        return end != null ? end : stopRun(index, pc, sp, exact, index > first || grew);
    }

    /**
     * The value of known register {@code r} after the ring's first {@code count} steps: from the last
     * step that set it, or {@code registers} where none did.
     */
    private long value(int r, int count, long[] registers, StackMemory memory) {
        for (int j = count - 1; j >= 0; j--) {
            int at = (int) ring[2 * j + 1];
            if ((meta[at + M_SET] >>> r & 1) != 0) {
                long address = ring[2 * j] + runOffsets[at / META * registerCount + r];
                return (meta[at + M_SAVED] >>> r & 1) != 0 ? memory.readLong(address) : address;
            }
        }
        return registers[r];
    }

    /**
     * Writes to {@code registers} the values of the known registers after the ring's first
     * {@code count} steps, from the values before them: each from the last step that set it, the
     * word at CFA + n (inside the memory: its step checked) or CFA + n itself.
     */
    private void write(int count, long knownBits, long[] registers, StackMemory memory) {
        long remaining = knownBits;
        int n = registerCount;
        for (int j = count - 1; j >= 0 && remaining != 0; j--) {
            int at = (int) ring[2 * j + 1];
            long set = meta[at + M_SET] & remaining;
            if (set == 0) {
                continue;
            }
            long cfa = ring[2 * j];
            long saved = meta[at + M_SAVED];
            int base = at / META * n;
            remaining &= ~set;
            while (set != 0) {
                int r = Long.numberOfTrailingZeros(set);
                set &= set - 1;
                long address = cfa + runOffsets[base + r];
                registers[r] = (saved >>> r & 1) != 0 ? memory.readLong(address) : address;
            }
        }
    }

    private CfiWalk.End stopRun(int index, long pc, long sp, boolean exact, boolean grew) {
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
