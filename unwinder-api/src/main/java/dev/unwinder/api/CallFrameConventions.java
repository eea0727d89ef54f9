package dev.unwinder.api;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

/**
 * What a walk with DWARF call-frame information (CFI) needs to know of an architecture beyond the
 * CFI itself: which DWARF registers it tracks, how the caller's stack pointer follows from the
 * canonical frame address (CFA), which registers a callee preserves, the frame-pointer rule for
 * code without CFI, the rule at a function's first instruction, and the signal-return trampolines
 * whose saved registers a walk can read where no CFI describes them.
 *
 * <p>An architecture plugin gives these through {@link Unwind#callFrameConventions()}; register
 * numbers are the psABI's DWARF numbers, as in {@link Registers}. Instances are immutable and
 * thread-safe.
 *
 * {@snippet :
 * CallFrameConventions x86_64 = CallFrameConventions.builder(17, 7, 16)
 *         .framePointer(6)
 *         .calleeSaved(3, 6, 12, 13, 14, 15)
 *         .entry(8, true)
 *         .build();
 * }
 */
public final class CallFrameConventions {
    private final int registerCount;
    private final int stackPointer;
    private final int returnAddressColumn;
    private final int framePointer;
    private final boolean[] calleeSaved;
    private final long cfaAboveCallerSp;
    private final long entryCfaOffset;
    private final boolean entryReturnAddressOnStack;
    private final List<SignalFrame> signalFrames;

    private CallFrameConventions(Builder builder) {
        registerCount = builder.registerCount;
        stackPointer = builder.stackPointer;
        returnAddressColumn = builder.returnAddressColumn;
        framePointer = builder.framePointer;
        calleeSaved = builder.calleeSaved.clone();
        calleeSaved[stackPointer] = true;
        cfaAboveCallerSp = builder.cfaAboveCallerSp;
        entryCfaOffset = builder.entryCfaOffset;
        entryReturnAddressOnStack = builder.entryReturnAddressOnStack;
        signalFrames = List.copyOf(builder.signalFrames);
    }

    /**
     * Starts the conventions of an architecture.
     *
     * @param registerCount how many DWARF registers a walk tracks: registers {@code 0} to
     *     {@code registerCount - 1}, at most 128
     * @param stackPointer the DWARF number of the stack pointer
     * @param returnAddressColumn the column that holds the return address in the CIEs compilers
     *     emit (x86_64 16, aarch64 30, riscv64 1, s390x 14)
     * @return a builder
     * @throws IllegalArgumentException if a register is outside {@code [0, registerCount)} or
     *     {@code registerCount} is not in {@code [1, 128]}
     */
    public static Builder builder(int registerCount, int stackPointer, int returnAddressColumn) {
        if (registerCount < 1 || registerCount > 128) {
            throw new IllegalArgumentException("registerCount: " + registerCount + " (expected: 1 to 128)");
        }
        Builder builder = new Builder(registerCount);
        builder.stackPointer = builder.check("stackPointer", stackPointer);
        builder.returnAddressColumn = builder.check("returnAddressColumn", returnAddressColumn);
        return builder;
    }

    /**
     * Returns how many DWARF registers a walk tracks: registers {@code 0} to
     * {@code registerCount() - 1}.
     *
     * @return the number of registers
     */
    public int registerCount() {
        return registerCount;
    }

    /**
     * Returns the DWARF number of the stack pointer.
     *
     * @return the register number
     */
    public int stackPointer() {
        return stackPointer;
    }

    /**
     * Returns the return-address column of the CIEs compilers emit for this architecture; the
     * column a walk uses for the entry rule and for signal frames.
     *
     * @return the register number
     */
    public int returnAddressColumn() {
        return returnAddressColumn;
    }

    /**
     * Returns the frame-pointer register that a walk follows where no CFI covers a pc: its value
     * {@code fp} is a frame whose caller's fp, return address and sp sit at the
     * {@link Unwind#nextOlderFpFromFpOffset() offsets} of the plugin's layout.
     *
     * @return the register number, or empty where the ABI keeps no frame pointer (s390x)
     */
    public OptionalInt framePointer() {
        return framePointer < 0 ? OptionalInt.empty() : OptionalInt.of(framePointer);
    }

    /**
     * Tells whether a callee preserves a register: a register without a rule in a CFI row then
     * keeps its value in the caller, while any other register without a rule is unknown there.
     * The stack pointer is always preserved.
     *
     * @param dwarfRegister a DWARF register number
     * @return {@code true} if the psABI makes it callee-saved
     */
    public boolean isCalleeSaved(int dwarfRegister) {
        return dwarfRegister >= 0 && dwarfRegister < registerCount && calleeSaved[dwarfRegister];
    }

    /**
     * Returns how far the CFA is above the caller's stack pointer: the caller's sp is
     * {@code cfa - cfaAboveCallerSp()}. 0 on most architectures; 160 on s390x, whose CFA includes
     * the register save area the caller allocates.
     *
     * @return the distance in bytes
     */
    public long cfaAboveCallerSp() {
        return cfaAboveCallerSp;
    }

    /**
     * Returns the CFA at a function's first instruction, as an offset from sp: the rule a walk
     * applies to an innermost frame whose pc is in no code (a call through a bad function
     * pointer).
     *
     * @return the offset in bytes (x86_64 8, s390x 160, aarch64 and riscv64 0)
     */
    public long entryCfaOffset() {
        return entryCfaOffset;
    }

    /**
     * Tells where the return address is at a function's first instruction.
     *
     * @return {@code true} if it is the word just below the CFA (x86_64), {@code false} if it is
     *     in the {@link #returnAddressColumn() return-address register}
     */
    public boolean entryReturnAddressOnStack() {
        return entryReturnAddressOnStack;
    }

    /**
     * Returns the signal-return trampolines a walk recognizes by their code.
     *
     * @return the trampolines, possibly empty
     */
    public List<SignalFrame> signalFrames() {
        return signalFrames;
    }

    @Override
    public String toString() {
        return String.format("CallFrameConventions[registers=%d, sp=%d, ra=%d, fp=%d, cfaAboveCallerSp=%d,"
                        + " entryCfaOffset=%d, signalFrames=%d]", registerCount, stackPointer, returnAddressColumn,
                framePointer, cfaAboveCallerSp, entryCfaOffset, signalFrames.size());
    }

    /**
     * A signal-return trampoline: the code the kernel (or an emulator such as qemu-user) makes a
     * signal handler return to, and where the registers of the interrupted code are saved relative
     * to the stack pointer the trampoline runs with. A walk whose pc is in no CFI and whose code
     * there equals {@link #code()} reads the interrupted frame's registers from that block: its pc
     * is exact, not a return address.
     */
    public static final class SignalFrame {
        private final byte[] code;
        private final long contextOffset;
        private final int pcOffset;
        private final int[] registerOffsets;

        /**
         * Describes a trampoline.
         *
         * @param code the trampoline's instruction bytes, in memory order, 1 to 16 of them
         * @param contextOffset where the saved registers start, as a byte offset from the sp the
         *     trampoline runs with
         * @param pcOffset where the interrupted pc is saved, from the start of the saved registers
         * @param registerOffsets where each DWARF register {@code i} is saved, from the start of the
         *     saved registers, or -1 where it is not; copied
         * @throws IllegalArgumentException if {@code code} is empty or longer than 16 bytes, or an
         *     offset is negative (but for -1 in {@code registerOffsets})
         */
        public SignalFrame(byte[] code, long contextOffset, int pcOffset, int... registerOffsets) {
            requireNonNull(code, "code");
            requireNonNull(registerOffsets, "registerOffsets");
            if (code.length < 1 || code.length > 16) {
                throw new IllegalArgumentException("code: " + code.length + " bytes (expected: 1 to 16)");
            }
            if (contextOffset < 0 || pcOffset < 0) {
                throw new IllegalArgumentException(
                        "contextOffset " + contextOffset + ", pcOffset " + pcOffset + " (expected: >= 0)");
            }
            for (int offset : registerOffsets) {
                if (offset < -1) {
                    throw new IllegalArgumentException("registerOffsets: " + offset + " (expected: >= -1)");
                }
            }
            this.code = code.clone();
            this.contextOffset = contextOffset;
            this.pcOffset = pcOffset;
            this.registerOffsets = registerOffsets.clone();
        }

        /**
         * Returns the trampoline's instruction bytes.
         *
         * @return a copy of the bytes
         */
        public byte[] code() {
            return code.clone();
        }

        /**
         * Returns the trampoline's length in bytes.
         *
         * @return the number of code bytes
         */
        public int codeLength() {
            return code.length;
        }

        /**
         * Returns one byte of the trampoline's code.
         *
         * @param index its index, from 0
         * @return the byte
         */
        public byte codeByte(int index) {
            return code[index];
        }

        /**
         * Returns where the saved registers start, from the trampoline's sp.
         *
         * @return the offset in bytes
         */
        public long contextOffset() {
            return contextOffset;
        }

        /**
         * Returns where the interrupted pc is saved, from the start of the saved registers.
         *
         * @return the offset in bytes
         */
        public int pcOffset() {
            return pcOffset;
        }

        /**
         * Returns where a register is saved, from the start of the saved registers.
         *
         * @param dwarfRegister a DWARF register number
         * @return the offset in bytes, or -1 if the trampoline's frame does not save it
         */
        public int registerOffset(int dwarfRegister) {
            return dwarfRegister >= 0 && dwarfRegister < registerOffsets.length ? registerOffsets[dwarfRegister] : -1;
        }

        @Override
        public String toString() {
            return String.format("SignalFrame[code=%s, contextOffset=%d, pcOffset=%d, registers=%s]",
                    hex(code), contextOffset, pcOffset, Arrays.toString(registerOffsets));
        }

        private static String hex(byte[] bytes) {
            StringBuilder text = new StringBuilder();
            for (byte b : bytes) {
                text.append(String.format("%02x", b & 0xff));
            }
            return text.toString();
        }
    }

    /** Collects the conventions of an architecture; not thread-safe. */
    public static final class Builder {
        private final int registerCount;
        private final boolean[] calleeSaved;
        private int stackPointer;
        private int returnAddressColumn;
        private int framePointer = -1;
        private long cfaAboveCallerSp;
        private long entryCfaOffset;
        private boolean entryReturnAddressOnStack;
        private final ArrayList<SignalFrame> signalFrames = new ArrayList<>();

        private Builder(int registerCount) {
            this.registerCount = registerCount;
            this.calleeSaved = new boolean[registerCount];
        }

        private int check(String what, int register) {
            if (register < 0 || register >= registerCount) {
                throw new IllegalArgumentException(
                        what + ": " + register + " (expected: 0 to " + (registerCount - 1) + ")");
            }
            return register;
        }

        /**
         * Sets the frame-pointer register of the fallback for code without CFI.
         *
         * @param dwarfRegister its DWARF number
         * @return this builder
         * @throws IllegalArgumentException if the register is out of range
         */
        public Builder framePointer(int dwarfRegister) {
            framePointer = check("framePointer", dwarfRegister);
            return this;
        }

        /**
         * Marks registers as preserved by a callee.
         *
         * @param dwarfRegisters their DWARF numbers
         * @return this builder
         * @throws IllegalArgumentException if a register is out of range
         */
        public Builder calleeSaved(int... dwarfRegisters) {
            for (int register : dwarfRegisters) {
                calleeSaved[check("calleeSaved", register)] = true;
            }
            return this;
        }

        /**
         * Sets how far the CFA is above the caller's sp; 0 unless set.
         *
         * @param bytes the distance
         * @return this builder
         * @throws IllegalArgumentException if {@code bytes} is negative
         */
        public Builder cfaAboveCallerSp(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("cfaAboveCallerSp: " + bytes + " (expected: >= 0)");
            }
            cfaAboveCallerSp = bytes;
            return this;
        }

        /**
         * Sets the rule at a function's first instruction.
         *
         * @param cfaOffset the CFA's offset from sp there
         * @param returnAddressOnStack whether the return address is the word below the CFA (else it
         *     is in the return-address register)
         * @return this builder
         * @throws IllegalArgumentException if {@code cfaOffset} is negative
         */
        public Builder entry(long cfaOffset, boolean returnAddressOnStack) {
            if (cfaOffset < 0) {
                throw new IllegalArgumentException("cfaOffset: " + cfaOffset + " (expected: >= 0)");
            }
            entryCfaOffset = cfaOffset;
            entryReturnAddressOnStack = returnAddressOnStack;
            return this;
        }

        /**
         * Adds a signal-return trampoline.
         *
         * @param frame the trampoline
         * @return this builder
         */
        public Builder signalFrame(SignalFrame frame) {
            signalFrames.add(requireNonNull(frame, "frame"));
            return this;
        }

        /**
         * Builds the conventions.
         *
         * @return the conventions
         */
        public CallFrameConventions build() {
            return new CallFrameConventions(this);
        }
    }
}
