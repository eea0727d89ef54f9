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
 * The riscv64 frame layout of Cranelift-compiled code (Wasmtime): fp points at the saved pair,
 * the caller's fp at {@code fp+0} and the return address at {@code fp+8}; the caller's sp is
 * {@code fp+16}. Every fp is a multiple of 16.
 *
 * <p>Named {@code riscv64-cranelift}. Stateless and thread-safe.
 */
@AutoService(Unwind.class)
@SuppressWarnings("exports") // @AutoService is a compile-time annotation; readers need not see its module
public final class Riscv64CraneliftUnwind implements Unwind {

    /** Creates the plugin; {@link java.util.ServiceLoader} calls this. */
    public Riscv64CraneliftUnwind() {}

    @Override
    public String name() {
        return "riscv64-cranelift";
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
        return "Unwind[riscv64-cranelift]";
    }
    /** The riscv64 call-frame facts; see {@link Riscv64Registers#CALL_FRAME_CONVENTIONS}. */
    @Override
    public Optional<CallFrameConventions> callFrameConventions() {
        return Optional.of(Riscv64Registers.CALL_FRAME_CONVENTIONS);
    }

}
