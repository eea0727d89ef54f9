package dev.unwinder.arch.s390x;

import com.google.auto.service.AutoService;
import dev.unwinder.api.CallFrameConventions;
import dev.unwinder.api.Registers;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import java.nio.ByteOrder;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The s390x frame layout of the backchain ABI (GCC's {@code -mbackchain}); big-endian.
 *
 * <p>fp is a backchain value: the sp on entry to the frame's function, which is the caller's sp.
 * Every frame begins with a 160-byte register save area whose first word, the backchain, holds
 * the caller's fp, and whose r14 slot, at offset 112, holds the return address that the callee's
 * {@code stmg %r14,%r15,112(%r15)} saved. So from a frame's fp: the caller's fp at {@code fp+0},
 * the return address at {@code fp+112}, and the caller's sp at {@code fp+0}, fp itself.
 * Stack pointers are 8-byte aligned.
 *
 * <p>Named {@code s390x}. Stateless and thread-safe.
 */
@AutoService(Unwind.class)
@SuppressWarnings("exports") // @AutoService is a compile-time annotation; readers need not see its module
public final class S390xUnwind implements Unwind {
    /**
     * The s390x ELF ABI's call-frame facts: DWARF registers 0 to 31 (r0 to r15, then f0 to f15);
     * r6 to r13 callee-saved (and r15, the stack pointer); no frame pointer, so no fallback for
     * code without CFI; the CFA is the caller's sp + 160, the register save area the caller
     * allocates; at a function's first instruction the CFA is r15 + 160 and the return address in
     * r14. Two trampolines: {@code svc 173} ({@code rt_sigreturn}), whose frame has 160 bytes of
     * save area, the {@code svc} and its padding, 128 bytes of {@code siginfo} and the
     * {@code ucontext}, its {@code _sigregs} at +40; and {@code svc 119} ({@code sigreturn}, a handler
     * without {@code SA_SIGINFO}), whose {@code _sigregs} follow the save area and a 16-byte
     * {@code sigcontext}. {@code _sigregs} holds the PSW (its address the pc, at +8), then r0 to r15.
     */
    private static final CallFrameConventions CALL_FRAME_CONVENTIONS = conventions();

    private static CallFrameConventions conventions() {
        int[] saved = new int[16];
        for (int r = 0; r < 16; r++) {
            saved[r] = 16 + 8 * r;
        }
        return CallFrameConventions.builder(32, 15, 14)
                .calleeSaved(6, 7, 8, 9, 10, 11, 12, 13)
                .cfaAboveCallerSp(160)
                .entry(160, false)
                .signalFrame(new CallFrameConventions.SignalFrame(new byte[] {0x0a, (byte) 0xad}, 160 + 8 + 128 + 40,
                        8, saved))
                .signalFrame(new CallFrameConventions.SignalFrame(new byte[] {0x0a, 0x77}, 160 + 16, 8, saved))
                .build();
    }

    private static final int R14 = 14;
    private static final int R15 = 15;

    /** Creates the plugin; {@link java.util.ServiceLoader} calls this. */
    public S390xUnwind() {}

    @Override
    public String name() {
        return "s390x";
    }

    @Override
    public int wordSize() {
        return 8;
    }

    @Override
    public ByteOrder byteOrder() {
        return ByteOrder.BIG_ENDIAN;
    }

    @Override
    public long nextOlderFpFromFpOffset() {
        return 0;
    }

    @Override
    public long nextOlderSpFromFpOffset() {
        return 0;
    }

    @Override
    public long nextOlderPcFromFpOffset() {
        return 112;
    }

    @Override
    public int fpAlignment() {
        return 8;
    }

    @Override
    public int stackPointerRegister() {
        return R15;
    }

    @Override
    public OptionalInt linkRegister() {
        return OptionalInt.of(R14);
    }

    /**
     * Returns the backchain word that r15 points at: the innermost frame's own register save area
     * starts at sp, and its backchain is the sp on entry to the function, this frame's fp.
     */
    @Override
    public long startFp(Registers registers, StackMemory memory) {
        return memory.readLong(registers.get(R15));
    }

    @Override
    public String toString() {
        return "Unwind[s390x]";
    }
    /** The s390x call-frame facts; see {@link CallFrameConventions}. */
    @Override
    public Optional<CallFrameConventions> callFrameConventions() {
        return Optional.of(CALL_FRAME_CONVENTIONS);
    }

}
