package dev.unwinder.arch.riscv64;

/** DWARF numbers of the riscv64 registers both layouts use. */
final class Riscv64Registers {
    /** x1, the return-address (link) register. */
    static final int RA = 1;
    /** x2, the stack pointer. */
    static final int SP = 2;
    /** x8, the frame pointer. */
    static final int S0 = 8;

    private Riscv64Registers() {}
}
