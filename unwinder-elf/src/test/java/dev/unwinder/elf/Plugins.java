package dev.unwinder.elf;

import dev.unwinder.api.Unwind;
import dev.unwinder.arch.aarch64.AArch64Unwind;
import dev.unwinder.arch.riscv64.Riscv64Unwind;
import dev.unwinder.arch.s390x.S390xUnwind;
import dev.unwinder.arch.x86_64.X86_64Unwind;

/** The arch plugin of each machine, for the tests that walk with call-frame information. */
final class Plugins {
    private Plugins() {}

    /** The plugin whose call-frame conventions walk {@code machine}'s threads. */
    static Unwind of(Machine machine) {
        return switch (machine) {
            case X86_64 -> new X86_64Unwind();
            case AARCH64 -> new AArch64Unwind();
            case S390X -> new S390xUnwind();
            case RISCV64 -> new Riscv64Unwind();
        };
    }

    /** The DWARF number of {@code machine}'s stack pointer. */
    static int stackPointer(Machine machine) {
        return of(machine).stackPointerRegister();
    }
}
