package dev.unwinder.arch.riscv64;

import com.google.auto.service.AutoService;
import dev.unwinder.api.CallFrameConventions;
import dev.unwinder.api.Registers;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import java.nio.ByteOrder;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The riscv64 platform frame layout, as GCC, LLVM and HotSpot emit it: fp is s0 and equals the
 * CFA, the sp on entry to the function. The prologue saves the return address at {@code fp-8}
 * and the caller's s0 at {@code fp-16}; the caller's sp is fp itself. The psABI keeps sp 16-byte
 * aligned, so every fp is a multiple of 16.
 *
 * <p>Named {@code riscv64}: {@code Unwinders.host()} picks it on a riscv64 host. Stateless and
 * thread-safe.
 */
@AutoService(Unwind.class)
@SuppressWarnings("exports") // @AutoService is a compile-time annotation; readers need not see its module
public final class Riscv64Unwind implements Unwind {

    /** Creates the plugin; {@link java.util.ServiceLoader} calls this. */
    public Riscv64Unwind() {}

    @Override
    public String name() {
        return "riscv64";
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
        return -16;
    }

    @Override
    public long nextOlderSpFromFpOffset() {
        return 0;
    }

    @Override
    public long nextOlderPcFromFpOffset() {
        return -8;
    }

    @Override
    public int fpAlignment() {
        return 16;
    }

    @Override
    public int stackPointerRegister() {
        return Riscv64Registers.SP;
    }

    @Override
    public OptionalInt linkRegister() {
        return OptionalInt.of(Riscv64Registers.RA);
    }

    /** Returns s0. */
    @Override
    public long startFp(Registers registers, StackMemory memory) {
        return registers.get(Riscv64Registers.S0);
    }

    @Override
    public String toString() {
        return "Unwind[riscv64]";
    }
    /** The riscv64 call-frame facts; see {@link Riscv64Registers#CALL_FRAME_CONVENTIONS}. */
    @Override
    public Optional<CallFrameConventions> callFrameConventions() {
        return Optional.of(Riscv64Registers.CALL_FRAME_CONVENTIONS);
    }

}
