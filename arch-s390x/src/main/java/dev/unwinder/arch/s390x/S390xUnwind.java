package dev.unwinder.arch.s390x;

import com.google.auto.service.AutoService;
import dev.unwinder.api.Registers;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import java.nio.ByteOrder;
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
}
