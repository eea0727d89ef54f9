package dev.unwinder.elf;

/**
 * How a register of the caller is recovered, in one row of a call-frame information table (DWARF
 * 5, section 6.4.1). {@code N} is the rule's offset, {@code R} a register, and the expressions are
 * (offset, length) slices of the section that holds them.
 */
public enum CfiRule {
    /** No instruction said anything about the register: the architecture's default applies. */
    UNSPECIFIED,
    /** {@code DW_CFA_undefined}: the caller's value cannot be recovered (the end of a chain for the return address). */
    UNDEFINED,
    /** {@code DW_CFA_same_value}: the caller's value is the register's current value. */
    SAME_VALUE,
    /** {@code offset(N)}: the caller's value is saved at address CFA + N. */
    OFFSET,
    /** {@code val_offset(N)}: the caller's value is CFA + N itself. */
    VAL_OFFSET,
    /** {@code register(R)}: the caller's value is in register R. */
    REGISTER,
    /** {@code expression(E)}: the caller's value is saved at the address that E computes, with the CFA pushed first. */
    EXPRESSION,
    /** {@code val_expression(E)}: the caller's value is what E computes, with the CFA pushed first. */
    VAL_EXPRESSION
}
