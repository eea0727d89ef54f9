package dev.unwinder.elf;

/**
 * What a walk with call-frame information needs to know of an architecture, beyond its CFI: how
 * many DWARF registers to track, which one is the stack pointer, how the caller's stack pointer
 * follows from the CFA, which registers a callee preserves, the frame-pointer rule of the fallback,
 * and how a saved return address is decoded.
 *
 * <p>{@code s390x} has no frame-pointer fallback here: its ELF ABI keeps no frame pointer, only an
 * optional back chain that GCC does not maintain by default, so a frame without CFI ends the walk.
 * Its CFA is the caller's stack pointer plus the 160-byte register save area the caller allocates
 * (s390x ELF ABI, "Stack frame"; GCC's CIEs say {@code DW_CFA_def_cfa r15, 160}), so the caller's
 * sp is CFA - 160.
 */
enum CfiArch {
    /** x86_64: DWARF 0-16, rsp 7, rbp 6, the return address in column 16 (rip). */
    X86_64(Machine.X86_64, 17, 7, 16, 0, 6, 0, 8, 16, new int[] {3, 6, 12, 13, 14, 15}, -1L),
    /** aarch64: x0-x30 and sp (31); x29 the frame pointer, x30 the link register; 48-bit addresses. */
    AARCH64(Machine.AARCH64, 32, 31, 30, 0, 29, 0, 8, 16,
            new int[] {19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29}, (1L << 48) - 1),
    /** s390x: r0-r15 and f0-f15 (16-31); r15 the stack pointer, r14 the return address; no fp fallback. */
    S390X(Machine.S390X, 32, 15, 14, 160, -1, 0, 0, 0, new int[] {6, 7, 8, 9, 10, 11, 12, 13}, -1L),
    /** riscv64: x0-x31; sp x2, s0 (x8) the frame pointer, ra x1; caller fp at s0-16, ra at s0-8. */
    RISCV64(Machine.RISCV64, 32, 2, 1, 0, 8, -16, -8, 0, new int[] {8, 9, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27},
            -1L);

    final Machine machine;
    final int registerCount;
    final int sp;
    final int returnAddress;
    /** The caller's sp = CFA - this. */
    final long cfaAboveSp;
    /** The frame-pointer register, or -1 if the fallback is not supported. */
    final int fp;
    /** The caller's fp is at fp + this. */
    final long callerFpAt;
    /** The return address is at fp + this. */
    final long returnAddressAt;
    /** The caller's sp = fp + this, after a frame-pointer step. */
    final long spFromFp;
    private final boolean[] calleeSaved;
    private final long addressMask;

    CfiArch(Machine machine, int registerCount, int sp, int returnAddress, long cfaAboveSp, int fp, long callerFpAt,
            long returnAddressAt, long spFromFp, int[] calleeSaved, long addressMask) {
        this.machine = machine;
        this.registerCount = registerCount;
        this.sp = sp;
        this.returnAddress = returnAddress;
        this.cfaAboveSp = cfaAboveSp;
        this.fp = fp;
        this.callerFpAt = callerFpAt;
        this.returnAddressAt = returnAddressAt;
        this.spFromFp = spFromFp;
        this.calleeSaved = new boolean[registerCount];
        for (int register : calleeSaved) {
            this.calleeSaved[register] = true;
        }
        this.calleeSaved[sp] = true;
        this.addressMask = addressMask;
    }

    /** The facts of {@code machine}. */
    static CfiArch of(Machine machine) {
        return switch (machine) {
            case X86_64 -> X86_64;
            case AARCH64 -> AARCH64;
            case S390X -> S390X;
            case RISCV64 -> RISCV64;
        };
    }

    /** Whether a callee keeps {@code register}'s value: an unspecified rule then means "same value". */
    boolean calleeSaved(int register) {
        return register >= 0 && register < calleeSaved.length && calleeSaved[register];
    }

    /** A saved return address with its pointer-authentication code, if any, removed (aarch64: bits 0-47 kept). */
    long decodeReturnAddress(long saved) {
        return saved & addressMask;
    }
}
