package dev.unwinder.elf;

import dev.unwinder.api.CallFrameConventions;

/** The four architectures as the walk's fuzzing draws them, with their plugins' call-frame facts. */
enum FuzzArch {
    X86_64(Machine.X86_64),
    AARCH64(Machine.AARCH64),
    S390X(Machine.S390X),
    RISCV64(Machine.RISCV64);

    final Machine machine;
    final int registerCount;
    final int sp;
    final int returnAddress;
    /** The frame-pointer register, or -1. */
    final int fp;
    final long cfaAboveSp;

    FuzzArch(Machine machine) {
        CallFrameConventions conventions = Plugins.of(machine).callFrameConventions().orElseThrow();
        this.machine = machine;
        this.registerCount = conventions.registerCount();
        this.sp = conventions.stackPointer();
        this.returnAddress = conventions.returnAddressColumn();
        this.fp = conventions.framePointer().orElse(-1);
        this.cfaAboveSp = conventions.cfaAboveCallerSp();
    }
}
