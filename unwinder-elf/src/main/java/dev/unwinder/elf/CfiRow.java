package dev.unwinder.elf;

import java.util.Arrays;

/**
 * One row of a call-frame information table, the rules that hold at one pc: how to compute the
 * canonical frame address (CFA) and, per register, how to recover the caller's value. Filled by
 * {@link CfiTable#row(CfiFde, long, CfiRow)}.
 *
 * <p>Mutable and meant for reuse: a walker keeps one row per walk (or per thread), and computing a
 * row allocates nothing. It tracks registers {@code 0} to {@code registerCount() - 1}, in DWARF
 * numbering; rules for higher registers are read and dropped. It keeps the CIE's initial rules (for
 * {@code DW_CFA_restore}) and a stack of {@value #MAX_REMEMBERED_STATES} remembered states, all
 * allocated once, by the constructor. Not safe to share between threads.
 */
public final class CfiRow {
    /** How many {@code DW_CFA_remember_state} may be outstanding at once; one more is an error. */
    public static final int MAX_REMEMBERED_STATES = 8;

    private static final CfiRule[] RULES = CfiRule.values();

    private final int registerCount;
    private final byte[] rules;
    private final long[] values;
    private final long[] lengths;
    private final byte[] initialRules;
    private final long[] initialValues;
    private final long[] initialLengths;
    private final byte[] stackRules;
    private final long[] stackValues;
    private final long[] stackLengths;
    private final long[] stackCfa;
    private int depth;
    private final CfiTable.Cursor cursor = new CfiTable.Cursor();

    private boolean cfaIsExpression;
    private int cfaRegister;
    private long cfaOffset;
    private long cfaExpressionOffset;
    private long cfaExpressionLength;
    private boolean raSigned;
    private long argsSize;
    private long location;

    /**
     * Creates a row for registers {@code 0} to {@code registerCount - 1}: 17 cover x86_64's general
     * registers and return address, 32 aarch64's (then {@code x30} is the return address), 80 its
     * {@code d8}-{@code d15} too ({@code v8}-{@code v15} are 72-79), 32 s390x's general and
     * floating-point registers, 66 riscv64's.
     *
     * @param registerCount how many registers to track, 1 to 4096
     * @throws IllegalArgumentException if {@code registerCount} is out of range
     */
    public CfiRow(int registerCount) {
        if (registerCount < 1 || registerCount > 4096) {
            throw new IllegalArgumentException("registerCount: " + registerCount + " (expected: 1 to 4096)");
        }
        this.registerCount = registerCount;
        rules = new byte[registerCount];
        values = new long[registerCount];
        lengths = new long[registerCount];
        initialRules = new byte[registerCount];
        initialValues = new long[registerCount];
        initialLengths = new long[registerCount];
        stackRules = new byte[registerCount * MAX_REMEMBERED_STATES];
        stackValues = new long[registerCount * MAX_REMEMBERED_STATES];
        stackLengths = new long[registerCount * MAX_REMEMBERED_STATES];
        stackCfa = new long[6 * MAX_REMEMBERED_STATES];
    }

    /**
     * How many registers it tracks.
     *
     * @return the count given to the constructor
     */
    public int registerCount() {
        return registerCount;
    }

    /**
     * The rule of a register.
     *
     * @param register a DWARF register number
     * @return its rule; {@link CfiRule#UNSPECIFIED} for a register that is not tracked
     */
    public CfiRule rule(int register) {
        return tracked(register) ? RULES[rules[register]] : CfiRule.UNSPECIFIED;
    }

    /**
     * The rule's operand: N of {@link CfiRule#OFFSET} and {@link CfiRule#VAL_OFFSET} (already
     * multiplied by the data alignment factor), R of {@link CfiRule#REGISTER}, the offset of the
     * expression in the section of {@link CfiRule#EXPRESSION} and {@link CfiRule#VAL_EXPRESSION}.
     *
     * @param register a DWARF register number
     * @return the operand, 0 for other rules and registers that are not tracked
     */
    public long operand(int register) {
        return tracked(register) ? values[register] : 0;
    }

    /**
     * The length in bytes of the expression of an {@link CfiRule#EXPRESSION} or
     * {@link CfiRule#VAL_EXPRESSION} rule.
     *
     * @param register a DWARF register number
     * @return the length, 0 for other rules
     */
    public long expressionLength(int register) {
        return tracked(register) ? lengths[register] : 0;
    }

    /**
     * Whether the CFA is computed by an expression ({@code DW_CFA_def_cfa_expression}) rather than
     * as a register plus an offset.
     *
     * @return whether the CFA rule is an expression
     */
    public boolean cfaIsExpression() {
        return cfaIsExpression;
    }

    /**
     * The register of the CFA rule register + offset.
     *
     * @return its DWARF number
     */
    public int cfaRegister() {
        return cfaRegister;
    }

    /**
     * The offset of the CFA rule register + offset.
     *
     * @return the offset in bytes
     */
    public long cfaOffset() {
        return cfaOffset;
    }

    /**
     * Where the CFA expression is.
     *
     * @return its offset in the section, if {@link #cfaIsExpression()}
     */
    public long cfaExpressionOffset() {
        return cfaExpressionOffset;
    }

    /**
     * How long the CFA expression is.
     *
     * @return its length in bytes, if {@link #cfaIsExpression()}
     */
    public long cfaExpressionLength() {
        return cfaExpressionLength;
    }

    /**
     * Whether the return address is signed (aarch64 pointer authentication): toggled by each
     * {@code DW_CFA_AARCH64_negate_ra_state}; the key is the CIE's ({@link CfiCie#bKey()}).
     *
     * @return whether the return address is signed at this pc
     */
    public boolean raSigned() {
        return raSigned;
    }

    /**
     * The size of the outgoing arguments pushed at this pc ({@code DW_CFA_GNU_args_size}).
     *
     * @return the size in bytes, 0 where none was given
     */
    public long argsSize() {
        return argsSize;
    }

    /**
     * The first pc of this row: the address of the last advance at or before the pc asked for.
     *
     * @return a link-time address
     */
    public long location() {
        return location;
    }

    private boolean tracked(int register) {
        return register >= 0 && register < registerCount;
    }

    // Mutators, for the interpreter.

    CfiTable.Cursor cursor() {
        return cursor;
    }

    void clear(long at) {
        Arrays.fill(rules, (byte) 0);
        Arrays.fill(values, 0);
        Arrays.fill(lengths, 0);
        depth = 0;
        cfaIsExpression = false;
        cfaRegister = 0;
        cfaOffset = 0;
        cfaExpressionOffset = 0;
        cfaExpressionLength = 0;
        raSigned = false;
        argsSize = 0;
        location = at;
        keepInitial(); // a DW_CFA_restore among a CIE's own instructions restores no rule, not the last row's
    }

    void keepInitial() {
        System.arraycopy(rules, 0, initialRules, 0, registerCount);
        System.arraycopy(values, 0, initialValues, 0, registerCount);
        System.arraycopy(lengths, 0, initialLengths, 0, registerCount);
    }

    void set(long register, CfiRule rule, long value, long length) {
        if (register >= 0 && register < registerCount) {
            int r = (int) register;
            rules[r] = (byte) rule.ordinal();
            values[r] = value;
            lengths[r] = length;
        }
    }

    void restore(long register) {
        if (register >= 0 && register < registerCount) {
            int r = (int) register;
            rules[r] = initialRules[r];
            values[r] = initialValues[r];
            lengths[r] = initialLengths[r];
        }
    }

    void cfa(int register, long offset) {
        cfaIsExpression = false;
        cfaRegister = register;
        cfaOffset = offset;
    }

    void cfaOffset(long offset) {
        cfaOffset = offset;
    }

    void cfaExpression(long offset, long length) {
        cfaIsExpression = true;
        cfaExpressionOffset = offset;
        cfaExpressionLength = length;
    }

    void negateRaState() {
        raSigned = !raSigned;
    }

    void argsSize(long size) {
        argsSize = size;
    }

    void location(long at) {
        location = at;
    }

    boolean remember() {
        if (depth == MAX_REMEMBERED_STATES) {
            return false;
        }
        int base = depth * registerCount;
        System.arraycopy(rules, 0, stackRules, base, registerCount);
        System.arraycopy(values, 0, stackValues, base, registerCount);
        System.arraycopy(lengths, 0, stackLengths, base, registerCount);
        int c = depth * 6;
        stackCfa[c] = cfaIsExpression ? 1 : 0;
        stackCfa[c + 1] = cfaRegister;
        stackCfa[c + 2] = cfaOffset;
        stackCfa[c + 3] = cfaExpressionOffset;
        stackCfa[c + 4] = cfaExpressionLength;
        stackCfa[c + 5] = raSigned ? 1 : 0;
        depth++;
        return true;
    }

    boolean restoreState() {
        if (depth == 0) {
            return false;
        }
        depth--;
        int base = depth * registerCount;
        System.arraycopy(stackRules, base, rules, 0, registerCount);
        System.arraycopy(stackValues, base, values, 0, registerCount);
        System.arraycopy(stackLengths, base, lengths, 0, registerCount);
        int c = depth * 6;
        cfaIsExpression = stackCfa[c] != 0;
        cfaRegister = (int) stackCfa[c + 1];
        cfaOffset = stackCfa[c + 2];
        cfaExpressionOffset = stackCfa[c + 3];
        cfaExpressionLength = stackCfa[c + 4];
        raSigned = stackCfa[c + 5] != 0;
        return true;
    }
}
