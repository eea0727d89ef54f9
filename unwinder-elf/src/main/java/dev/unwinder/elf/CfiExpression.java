package dev.unwinder.elf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * An evaluator of the DWARF expressions of call-frame information ({@code DW_CFA_def_cfa_expression},
 * {@code DW_CFA_expression}, {@code DW_CFA_val_expression}): the operations compilers and C
 * libraries put there, such as the x86_64 PLT's CFA and the register save slots of signal-return
 * trampolines. Supported: the literals and constants ({@code DW_OP_lit*}, {@code DW_OP_const*},
 * {@code DW_OP_addr}), registers ({@code DW_OP_breg*}, {@code DW_OP_bregx}), memory
 * ({@code DW_OP_deref}, {@code DW_OP_deref_size}), stack operations, arithmetic, logic, shifts,
 * comparisons, {@code DW_OP_skip}, {@code DW_OP_bra} and {@code DW_OP_nop}. Location descriptions
 * ({@code DW_OP_reg*}, pieces) and other operations are rejected.
 *
 * <p>Bounded: at most {@value #MAX_STACK} values on the stack and {@value #MAX_STEPS} operations
 * per evaluation (a branch that loops ends in an error). Reads only the expression's bytes.
 * Reusable and allocation-free: keep one per walk. Not safe to share between threads.
 */
public final class CfiExpression {
    /** The most values the stack holds. */
    public static final int MAX_STACK = 64;
    /** The most operations one evaluation runs. */
    public static final int MAX_STEPS = 10_000;

    /** The registers of the frame whose rules are being applied. */
    @FunctionalInterface
    public interface Registers {
        /**
         * A register's value.
         *
         * @param register its DWARF number
         * @return its value
         * @throws ElfException if the register's value is not known
         */
        long get(int register) throws ElfException;
    }

    /** The memory of the process or core being walked. */
    @FunctionalInterface
    public interface Memory {
        /**
         * Reads {@code size} bytes at {@code address} in the target's byte order, zero-extended.
         *
         * @param address the address
         * @param size 1, 2, 4 or 8
         * @return the value
         * @throws ElfException if the memory cannot be read
         */
        long read(long address, int size) throws ElfException;
    }

    private static final ValueLayout.OfLong[] LONGS = {ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN),
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN)};
    private static final ValueLayout.OfInt[] INTS = {ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN),
            ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN)};
    private static final ValueLayout.OfShort[] SHORTS = {ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN),
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN)};

    private final long[] stack = new long[MAX_STACK];
    private final long[] leb = new long[1];

    /** Creates an evaluator. */
    public CfiExpression() {}

    /**
     * Evaluates the expression of {@code length} bytes at {@code offset} in {@code table}'s section.
     *
     * @param table the table whose section holds the expression
     * @param offset its offset, such as {@link CfiRow#operand(int)} or {@link CfiRow#cfaExpressionOffset()}
     * @param length its length
     * @param initial the value pushed first (the CFA for register rules), or none if {@code push} is false
     * @param push whether to push {@code initial} (false for a CFA expression)
     * @param registers the frame's registers
     * @param memory the target's memory
     * @return the value on top of the stack at the end
     * @throws ElfException if the expression is malformed, unsupported, underflows or overflows its
     *     stack, divides by zero, runs more than {@value #MAX_STEPS} operations, or a register or
     *     memory read fails
     */
    public long evaluate(CfiTable table, long offset, long length, long initial, boolean push, Registers registers,
                         Memory memory) throws ElfException {
        MemorySegment bytes = table.section();
        if (offset < 0 || length < 0 || Long.compareUnsigned(length, bytes.byteSize() - offset) > 0
                || offset > bytes.byteSize()) {
            throw table.bad(String.format("expression of 0x%x bytes at offset 0x%x is outside the section", length, offset));
        }
        int order = table.byteOrder() == ByteOrder.LITTLE_ENDIAN ? 1 : 0;
        long end = offset + length;
        long pos = offset;
        int depth = 0;
        if (push) {
            stack[depth++] = initial;
        }
        for (int steps = 0; pos < end; steps++) {
            if (steps == MAX_STEPS) {
                throw table.bad(String.format("expression at offset 0x%x runs more than %d operations", offset, MAX_STEPS));
            }
            long at = pos;
            int op = bytes.get(ValueLayout.JAVA_BYTE, pos++) & 0xff;
            long value;
            switch (op) {
                case 0x03, 0x0e, 0x0f, 0x0c, 0x0d, 0x0a, 0x0b, 0x08, 0x09 -> {
                    int size = switch (op) {
                        case 0x03, 0x0e, 0x0f -> 8;
                        case 0x0c, 0x0d -> 4;
                        case 0x0a, 0x0b -> 2;
                        default -> 1;
                    };
                    if (end - pos < size) {
                        throw truncated(table, at, op);
                    }
                    value = switch (size) {
                        case 8 -> bytes.get(LONGS[order], pos);
                        case 4 -> op == 0x0d ? bytes.get(INTS[order], pos)
                                : Integer.toUnsignedLong(bytes.get(INTS[order], pos));
                        case 2 -> op == 0x0b ? bytes.get(SHORTS[order], pos)
                                : Short.toUnsignedLong(bytes.get(SHORTS[order], pos));
                        default -> op == 0x09 ? bytes.get(ValueLayout.JAVA_BYTE, pos)
                                : Byte.toUnsignedLong(bytes.get(ValueLayout.JAVA_BYTE, pos));
                    };
                    pos += size;
                    depth = push(table, at, depth, value);
                }
                case 0x10, 0x11 -> {
                    pos = leb(table, bytes, pos, end, at, op == 0x11);
                    depth = push(table, at, depth, leb[0]);
                }
                case 0x12 -> depth = push(table, at, depth, peek(table, at, op, depth, 0));
                case 0x13 -> {
                    peek(table, at, op, depth, 0);
                    depth--;
                }
                case 0x14 -> depth = push(table, at, depth, peek(table, at, op, depth, 1));
                case 0x15 -> {
                    if (pos >= end) {
                        throw truncated(table, at, op);
                    }
                    int index = bytes.get(ValueLayout.JAVA_BYTE, pos++) & 0xff;
                    depth = push(table, at, depth, peek(table, at, op, depth, index));
                }
                case 0x16 -> {
                    long top = peek(table, at, op, depth, 0);
                    stack[depth - 1] = peek(table, at, op, depth, 1);
                    stack[depth - 2] = top;
                }
                case 0x17 -> {
                    long top = peek(table, at, op, depth, 0);
                    stack[depth - 1] = peek(table, at, op, depth, 1);
                    stack[depth - 2] = peek(table, at, op, depth, 2);
                    stack[depth - 3] = top;
                }
                case 0x06, 0x94 -> {
                    int size = 8;
                    if (op == 0x94) {
                        if (pos >= end) {
                            throw truncated(table, at, op);
                        }
                        size = bytes.get(ValueLayout.JAVA_BYTE, pos++) & 0xff;
                        if (size != 1 && size != 2 && size != 4 && size != 8) {
                            throw table.bad(String.format("expression at offset 0x%x: DW_OP_deref_size %d (expected: 1, 2, 4 or 8)",
                                    at, size));
                        }
                    }
                    stack[depth - 1] = memory.read(peek(table, at, op, depth, 0), size);
                }
                case 0x19 -> stack[depth - 1] = Math.abs(peek(table, at, op, depth, 0));
                case 0x1f -> stack[depth - 1] = -peek(table, at, op, depth, 0);
                case 0x20 -> stack[depth - 1] = ~peek(table, at, op, depth, 0);
                case 0x23 -> {
                    pos = leb(table, bytes, pos, end, at, false);
                    stack[depth - 1] = peek(table, at, op, depth, 0) + leb[0];
                }
                case 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x21, 0x22, 0x24, 0x25, 0x26, 0x27, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e -> {
                    long b = peek(table, at, op, depth, 0);
                    long a = peek(table, at, op, depth, 1);
                    if ((op == 0x1b || op == 0x1d) && b == 0) {
                        throw table.bad(String.format("expression at offset 0x%x: division by zero", at));
                    }
                    depth--;
                    stack[depth - 1] = switch (op) {
                        case 0x1a -> a & b;
                        case 0x1b -> a / b;
                        case 0x1c -> a - b;
                        case 0x1d -> Long.remainderUnsigned(a, b);
                        case 0x1e -> a * b;
                        case 0x21 -> a | b;
                        case 0x22 -> a + b;
                        case 0x24 -> Long.compareUnsigned(b, 64) >= 0 ? 0 : a << b;
                        case 0x25 -> Long.compareUnsigned(b, 64) >= 0 ? 0 : a >>> b;
                        case 0x26 -> a >> (Long.compareUnsigned(b, 63) > 0 ? 63 : b);
                        case 0x27 -> a ^ b;
                        case 0x29 -> a == b ? 1 : 0;
                        case 0x2a -> a >= b ? 1 : 0;
                        case 0x2b -> a > b ? 1 : 0;
                        case 0x2c -> a <= b ? 1 : 0;
                        case 0x2d -> a < b ? 1 : 0;
                        default -> a != b ? 1 : 0;
                    };
                }
                case 0x2f, 0x28 -> {
                    if (end - pos < 2) {
                        throw truncated(table, at, op);
                    }
                    short delta = bytes.get(SHORTS[order], pos);
                    pos += 2;
                    boolean jump = true;
                    if (op == 0x28) {
                        jump = peek(table, at, op, depth, 0) != 0;
                        depth--;
                    }
                    if (jump) {
                        long target = pos + delta;
                        if (target < offset || target > end) {
                            throw table.bad(String.format("expression at offset 0x%x: a branch to 0x%x, outside the expression",
                                    at, target));
                        }
                        pos = target;
                    }
                }
                case 0x92 -> {
                    pos = leb(table, bytes, pos, end, at, false);
                    long register = leb[0];
                    pos = leb(table, bytes, pos, end, at, true);
                    if (Long.compareUnsigned(register, 0xffff) > 0) {
                        throw table.bad(String.format("expression at offset 0x%x: register %s", at, Long.toUnsignedString(register)));
                    }
                    depth = push(table, at, depth, registers.get((int) register) + leb[0]);
                }
                case 0x96 -> { }
                default -> {
                    if (op >= 0x30 && op <= 0x4f) {
                        depth = push(table, at, depth, op - 0x30);
                    } else if (op >= 0x70 && op <= 0x8f) {
                        pos = leb(table, bytes, pos, end, at, true);
                        depth = push(table, at, depth, registers.get(op - 0x70) + leb[0]);
                    } else {
                        throw table.bad(String.format("expression at offset 0x%x: operation 0x%02x is not supported", at, op));
                    }
                }
            }
        }
        if (depth == 0) {
            throw table.bad(String.format("expression at offset 0x%x leaves an empty stack", offset));
        }
        return stack[depth - 1];
    }

    private int push(CfiTable table, long at, int depth, long value) throws ElfException {
        if (depth == MAX_STACK) {
            throw table.bad(String.format("expression at offset 0x%x: more than %d values on the stack", at, MAX_STACK));
        }
        stack[depth] = value;
        return depth + 1;
    }

    private long peek(CfiTable table, long at, int op, int depth, int index) throws ElfException {
        if (index >= depth) {
            throw table.bad(String.format("expression at offset 0x%x: operation 0x%02x needs %d operands, the stack has %d",
                    at, op, index + 1, depth));
        }
        return stack[depth - 1 - index];
    }

    private static ElfException truncated(CfiTable table, long at, int op) {
        return table.bad(String.format("expression at offset 0x%x: operation 0x%02x runs past the end of the expression", at, op));
    }

    /** Reads a LEB128 into {@code leb[0]}; returns the position after it. */
    private long leb(CfiTable table, MemorySegment bytes, long pos, long end, long at, boolean signed) throws ElfException {
        long value = 0;
        int shift = 0;
        int b;
        do {
            if (pos >= end) {
                throw table.bad(String.format("expression at offset 0x%x: a LEB128 runs past the end of the expression", at));
            }
            b = bytes.get(ValueLayout.JAVA_BYTE, pos++) & 0xff;
            if (shift < 64) {
                value |= (long) (b & 0x7f) << shift;
            }
            shift += 7;
        } while ((b & 0x80) != 0);
        if (signed && shift < 64 && (b & 0x40) != 0) {
            value |= -1L << shift;
        }
        leb[0] = value;
        return pos;
    }
}
