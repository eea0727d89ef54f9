package dev.unwinder.arch.riscv64;

import dev.unwinder.api.CallFrameConventions;

/** DWARF numbers of the riscv64 registers both layouts use. */
final class Riscv64Registers {
    /** x1, the return-address (link) register. */
    static final int RA = 1;
    /** x2, the stack pointer. */
    static final int SP = 2;
    /** x8, the frame pointer. */
    static final int S0 = 8;

    /**
     * The riscv64 psABI's call-frame facts: DWARF registers 0 to 31 (x0 to x31); s0 to s11 (x8,
     * x9, x18 to x27) callee-saved; s0 the frame pointer; at a function's first instruction the
     * CFA is sp and the return address in ra; and the {@code rt_sigreturn} trampoline
     * ({@code li a7, 139; ecall}) whose frame has 128 bytes of {@code siginfo}, then the
     * {@code ucontext}, its {@code sigcontext} at +176: the pc, then x1 to x31.
     */
    static final CallFrameConventions CALL_FRAME_CONVENTIONS = conventions();

    private Riscv64Registers() {}

    private static CallFrameConventions conventions() {
        int[] saved = new int[32];
        saved[0] = -1;
        for (int x = 1; x < 32; x++) {
            saved[x] = 8 * x;
        }
        return CallFrameConventions.builder(32, SP, RA)
                .framePointer(S0)
                .calleeSaved(8, 9, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27)
                .entry(0, false)
                .signalFrame(new CallFrameConventions.SignalFrame(
                        new byte[] {(byte) 0x93, 0x08, (byte) 0xb0, 0x08, 0x73, 0x00, 0x00, 0x00}, 128 + 176, 0, saved))
                .build();
    }
}
