package dev.unwinder.arch.x86_64;

import com.google.auto.service.AutoService;
import dev.unwinder.api.CallFrameConventions;
import dev.unwinder.api.Registers;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The x86_64 frame layout: fp is rbp. A prologue's {@code push %rbp; mov %rsp,%rbp} leaves the
 * caller's rbp at {@code fp+0}, the return address that {@code call} pushed at {@code fp+8}, and
 * the caller's sp at {@code fp+16}. Every fp is a multiple of 8, not of 16: the System V ABI asks
 * for a 16-byte aligned stack at calls, but GCC does not keep it between functions that it knows
 * need no more than 8 (GCC 12 at -O0 leaves rbp values such as {@code 0x7ffe2eed5838} in a
 * static program's chain, which gdb unwinds), so a 16-byte check would end real walks early.
 *
 * <p>Named {@code x86_64}, with the aliases {@code amd64} and {@code x86-64}. Stateless and
 * thread-safe.
 */
@AutoService(Unwind.class)
@SuppressWarnings("exports") // @AutoService is a compile-time annotation; readers need not see its module
public final class X86_64Unwind implements Unwind {
    /**
     * The System V x86_64 psABI's call-frame facts: DWARF registers 0 to 16 (16 is the return
     * address, rip); rbx, rbp and r12 to r15 callee-saved; rbp the frame pointer; at a function's
     * first instruction the CFA is rsp + 8 and the return address the word below it; and the
     * {@code rt_sigreturn} trampoline ({@code mov $15, %rax; syscall}) whose frame has the
     * interrupted registers in the {@code ucontext} at sp, its {@code uc_mcontext} at +40.
     */
    private static final CallFrameConventions CALL_FRAME_CONVENTIONS = CallFrameConventions.builder(17, 7, 16)
            .framePointer(6)
            .calleeSaved(3, 6, 12, 13, 14, 15)
            .entry(8, true)
            .signalFrame(new CallFrameConventions.SignalFrame(
                    new byte[] {0x48, (byte) 0xc7, (byte) 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05}, 40, 128,
                    // struct sigcontext: r8..r15 at 0..56, rdi 64, rsi 72, rbp 80, rbx 88, rdx 96, rax 104,
                    // rcx 112, rsp 120; by DWARF number rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp, r8..r15
                    104, 96, 112, 88, 72, 64, 80, 120, 0, 8, 16, 24, 32, 40, 48, 56))
            .build();

    private static final int RBP = 6;
    private static final int RSP = 7;

    /** Creates the plugin; {@link java.util.ServiceLoader} calls this. */
    public X86_64Unwind() {}

    @Override
    public String name() {
        return "x86_64";
    }

    @Override
    public List<String> aliases() {
        return List.of("amd64", "x86-64");
    }

    @Override
    public int wordSize() {
        return 8;
    }

    @Override
    public ByteOrder byteOrder() {
        return ByteOrder.LITTLE_ENDIAN;
    }

    @Override
    public long nextOlderFpFromFpOffset() {
        return 0;
    }

    @Override
    public long nextOlderSpFromFpOffset() {
        return 16;
    }

    @Override
    public long nextOlderPcFromFpOffset() {
        return 8;
    }

    @Override
    public int fpAlignment() {
        return 8;
    }

    @Override
    public int stackPointerRegister() {
        return RSP;
    }

    @Override
    public OptionalInt linkRegister() {
        return OptionalInt.empty();
    }

    /** Returns rbp. */
    @Override
    public long startFp(Registers registers, StackMemory memory) {
        return registers.get(RBP);
    }

    @Override
    public String toString() {
        return "Unwind[x86_64]";
    }
    /** The x86_64 call-frame facts; see {@link CallFrameConventions}. */
    @Override
    public Optional<CallFrameConventions> callFrameConventions() {
        return Optional.of(CALL_FRAME_CONVENTIONS);
    }

}
