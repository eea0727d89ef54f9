package dev.unwinder.api;

import static java.util.Objects.requireNonNull;

/**
 * A thread's registers, by DWARF register number, as a core file's {@code NT_PRSTATUS} note, a
 * profiler's sample or a signal context gives them. {@link Unwind#startFp(Registers,
 * StackMemory)} turns them into the first fp of a walk.
 *
 * <p>DWARF numbers are the psABIs' own: x86_64 rbp is 6 and rsp 7; aarch64 x29 is 29, x30 30
 * and sp 31; riscv64 ra is 1, sp 2 and s0 8; s390x r0 to r15 are 0 to 15.
 */
public interface Registers {

    /**
     * Returns the program counter (x86_64 rip, aarch64 and riscv64 pc, s390x the PSW address).
     *
     * @return the pc
     */
    long pc();

    /**
     * Returns the value of a general register.
     *
     * @param dwarfRegister the register's DWARF number
     * @return its value
     * @throws IllegalArgumentException if this register set does not hold that register
     */
    long get(int dwarfRegister);

    /**
     * Returns a register set of a pc and general registers indexed by DWARF number.
     *
     * @param pc the program counter
     * @param byDwarfNumber register values, element {@code i} holding DWARF register {@code i};
     *     copied
     * @return the register set
     */
    static Registers of(long pc, long... byDwarfNumber) {
        requireNonNull(byDwarfNumber, "byDwarfNumber");
        long[] values = byDwarfNumber.clone();
        return new Registers() {
            @Override
            public long pc() {
                return pc;
            }

            @Override
            public long get(int dwarfRegister) {
                if (dwarfRegister < 0 || dwarfRegister >= values.length) {
                    throw new IllegalArgumentException(
                            "dwarfRegister: " + dwarfRegister + " (expected: 0 to " + (values.length - 1) + ")");
                }
                return values[dwarfRegister];
            }

            @Override
            public String toString() {
                StringBuilder text = new StringBuilder("Registers[pc=0x").append(Long.toHexString(pc));
                for (int i = 0; i < values.length; i++) {
                    text.append(", r").append(i).append("=0x").append(Long.toHexString(values[i]));
                }
                return text.append(']').toString();
            }
        };
    }
}
