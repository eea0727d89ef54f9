package dev.unwinder.elf;

import java.nio.ByteOrder;

/**
 * The ELF machines whose cores the command reads, with where their {@code NT_PRSTATUS} notes keep
 * each register.
 *
 * <p>{@code pr_reg} sits at byte 112 of {@code struct elf_prstatus} on all of them (signal info
 * 12, cursig and padding 4, two signal masks 16, four pids 16, four timevals 64), and the thread
 * id, {@code pr_pid}, at byte 32. {@code pr_reg} is the architecture's {@code user_regs_struct}:
 * <ul>
 * <li>x86_64: r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi, orig_rax,
 *     rip, cs, eflags, rsp, ss, ... (27 words)
 * <li>aarch64: x0 to x30, sp, pc, pstate (34 words)
 * <li>riscv64: pc, then x1 (ra) to x31 (32 words)
 * <li>s390x: PSW mask, PSW address, r0 to r15, then access registers (18 words are used)
 * </ul>
 */
public enum Machine {
    /** AMD64. */
    X86_64(62, "x86_64", ByteOrder.LITTLE_ENDIAN, 27),
    /** 64-bit Arm. */
    AARCH64(183, "aarch64", ByteOrder.LITTLE_ENDIAN, 34),
    /** 64-bit RISC-V. */
    RISCV64(243, "riscv64", ByteOrder.LITTLE_ENDIAN, 32),
    /** IBM Z, big-endian. */
    S390X(22, "s390x", ByteOrder.BIG_ENDIAN, 18);

    /** Where pr_reg starts in struct elf_prstatus. */
    public static final int PR_REG_OFFSET = 112;
    /** Where pr_pid starts in struct elf_prstatus. */
    public static final int PR_PID_OFFSET = 32;

    /** x86_64 DWARF numbers 0 to 16 (rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp, r8 to r15, rip) as pr_reg word indices. */
    private static final int[] X86_64_DWARF_TO_PR_REG = {10, 12, 11, 5, 13, 14, 4, 19, 9, 8, 7, 6, 3, 2, 1, 0, 16};

    /** e_machine. */
    public final int code;
    /** The plugin name of its frame layout. */
    public final String arch;
    /** Its byte order. */
    public final ByteOrder byteOrder;
    /** How many leading words of {@code pr_reg} this module reads. */
    public final int registerWords;

    Machine(int code, String arch, ByteOrder byteOrder, int registerWords) {
        this.code = code;
        this.arch = arch;
        this.byteOrder = byteOrder;
        this.registerWords = registerWords;
    }

    /**
     * The machine of an {@code e_machine} value.
     *
     * @param code an {@code e_machine}
     * @return its machine, or null if this module does not know it
     */
    public static Machine of(int code) {
        for (Machine machine : values()) {
            if (machine.code == code) {
                return machine;
            }
        }
        return null;
    }

    /**
     * The values that {@link #of} knows, for messages.
     *
     * @return a list such as {@code "62 (x86_64), 183 (aarch64), ..."}
     */
    public static String known() {
        StringBuilder text = new StringBuilder();
        for (Machine machine : values()) {
            if (!text.isEmpty()) {
                text.append(", ");
            }
            text.append(machine.code).append(" (").append(machine.arch).append(')');
        }
        return text.toString();
    }

    /**
     * The pc, from the words of {@code pr_reg}.
     *
     * @param prReg the first {@link #registerWords} words of {@code pr_reg}
     * @return the pc
     */
    public long pc(long[] prReg) {
        return switch (this) {
            case X86_64 -> prReg[16];
            case AARCH64 -> prReg[32];
            case RISCV64 -> prReg[0];
            case S390X -> prReg[1];
        };
    }

    /**
     * The general registers by DWARF number, from the words of {@code pr_reg}.
     *
     * @param prReg the first {@link #registerWords} words of {@code pr_reg}
     * @return a new array, indexed by DWARF register number
     */
    public long[] dwarfRegisters(long[] prReg) {
        return switch (this) {
            case X86_64 -> {
                long[] dwarf = new long[X86_64_DWARF_TO_PR_REG.length];
                for (int i = 0; i < dwarf.length; i++) {
                    dwarf[i] = prReg[X86_64_DWARF_TO_PR_REG[i]];
                }
                yield dwarf;
            }
            // x0..x30 and sp are DWARF 0..31, in pr_reg's order.
            case AARCH64 -> java.util.Arrays.copyOf(prReg, 32);
            case RISCV64 -> {
                long[] dwarf = prReg.clone(); // x1..x31 are DWARF 1..31 at the same indices
                dwarf[0] = 0; // x0 is hard-wired zero; pr_reg holds the pc there
                yield dwarf;
            }
            case S390X -> java.util.Arrays.copyOfRange(prReg, 2, 18);
        };
    }

    /**
     * A register's conventional name, for text output.
     *
     * @param dwarf a DWARF register number
     * @return its name, such as {@code "rbp"} or {@code "x30"}
     */
    public String registerName(int dwarf) {
        return switch (this) {
            case X86_64 -> switch (dwarf) {
                case 6 -> "rbp";
                case 7 -> "rsp";
                default -> "r" + dwarf;
            };
            case AARCH64 -> dwarf == 31 ? "sp" : "x" + dwarf;
            case RISCV64 -> switch (dwarf) {
                case 1 -> "ra";
                case 2 -> "sp";
                case 8 -> "s0";
                default -> "x" + dwarf;
            };
            case S390X -> "r" + dwarf;
        };
    }
}
