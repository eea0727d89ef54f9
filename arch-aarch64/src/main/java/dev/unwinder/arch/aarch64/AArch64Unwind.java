package dev.unwinder.arch.aarch64;

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
 * The aarch64 frame layout: fp is x29 and points at a frame record, the caller's x29 at
 * {@code fp+0} and the return address (x30) at {@code fp+8}; the caller's sp is {@code fp+16}.
 *
 * <p>That sp is exact where the frame record tops its frame, as in Cranelift's frames and in GCC's
 * frames that keep nothing else. GCC puts the record below a frame's locals and its other saved
 * registers: where a frame has those (at {@code -O0}, nearly every frame), the caller's sp is
 * higher by their size, and {@code fp+16}, the {@link dev.unwinder.api.Frame#sp() sp} a walk
 * reports for the caller, is a lower bound.
 *
 * <p>Return addresses may carry a pointer-authentication signature (code built with
 * {@code -mbranch-protection}) or a tag in the bits above the virtual-address size. This plugin
 * strips them as the {@code XPACI} instruction does: bits below the virtual-address size are kept,
 * and the bits above are copied from bit 55, which is clear for user-space addresses and set for
 * kernel ones. The size is 48 bits by default, as on most Linux systems; see
 * {@link #withVirtualAddressBits(int)}.
 *
 * <p>AAPCS64 does not fix where a frame record sits, but records are stored with {@code stp}
 * at a multiple of 8 from the 16-byte aligned sp, so every valid fp is a multiple of 8.
 *
 * <p>Named {@code aarch64}, with the alias {@code arm64}. Immutable and thread-safe.
 */
@AutoService(Unwind.class)
@SuppressWarnings("exports") // @AutoService is a compile-time annotation; readers need not see its module
public final class AArch64Unwind implements Unwind {
    /** The virtual-address size of the plugin that {@link java.util.ServiceLoader} creates. */
    public static final int DEFAULT_VIRTUAL_ADDRESS_BITS = 48;

    private static final int X29 = 29;
    private static final int X30 = 30;
    private static final int SP = 31;

    /**
     * AAPCS64's call-frame facts: DWARF registers 0 to 31 (x0 to x30 and sp); x19 to x29
     * callee-saved; x29 the frame pointer; at a function's first instruction the CFA is sp and the
     * return address in x30; and the {@code rt_sigreturn} trampoline ({@code mov x8, #139;
     * svc #0}) whose frame is {@code struct rt_sigframe} at sp: 128 bytes of {@code siginfo}, then
     * the {@code ucontext} with its {@code sigcontext} at +176, which keeps the fault address, then
     * x0 to x30, sp and pc.
     */
    private static final CallFrameConventions CALL_FRAME_CONVENTIONS = conventions();

    private static CallFrameConventions conventions() {
        int[] saved = new int[32];
        for (int x = 0; x < 32; x++) {
            saved[x] = 8 + 8 * x; // sigcontext.regs[x], then sp at 256
        }
        return CallFrameConventions.builder(32, SP, X30)
                .framePointer(X29)
                .calleeSaved(19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29)
                .entry(0, false)
                .signalFrame(new CallFrameConventions.SignalFrame(
                        new byte[] {0x68, 0x11, (byte) 0x80, (byte) 0xd2, 0x01, 0x00, 0x00, (byte) 0xd4},
                        128 + 176, 264, saved))
                .build();
    }

    private final int virtualAddressBits;
    private final long addressMask;

    /** Creates the plugin with a 48-bit virtual-address size; {@link java.util.ServiceLoader} calls this. */
    public AArch64Unwind() {
        this(DEFAULT_VIRTUAL_ADDRESS_BITS);
    }

    private AArch64Unwind(int virtualAddressBits) {
        this.virtualAddressBits = virtualAddressBits;
        this.addressMask = (1L << virtualAddressBits) - 1;
    }

    /**
     * Returns a plugin that strips return addresses for another virtual-address size, such as 39
     * or 52 on kernels configured so.
     *
     * @param bits the number of address bits, from 32 to 55
     * @return the plugin
     * @throws IllegalArgumentException if {@code bits} is out of range
     */
    public static AArch64Unwind withVirtualAddressBits(int bits) {
        if (bits < 32 || bits > 55) {
            throw new IllegalArgumentException("bits: " + bits + " (expected: 32 to 55)");
        }
        return new AArch64Unwind(bits);
    }

    /**
     * Returns the virtual-address size that stripping keeps.
     *
     * @return the number of address bits
     */
    public int virtualAddressBits() {
        return virtualAddressBits;
    }

    /**
     * Removes a pointer-authentication signature or tag from a return address.
     *
     * @param address a return address as saved on the stack
     * @return the address with the bits above the virtual-address size copied from bit 55
     */
    public long stripPointerAuthentication(long address) {
        return (address & (1L << 55)) == 0 ? address & addressMask : address | ~addressMask;
    }

    @Override
    public String name() {
        return "aarch64";
    }

    @Override
    public List<String> aliases() {
        return List.of("arm64");
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

    /** Strips the saved x30's pointer-authentication bits ({@link #stripPointerAuthentication}). */
    @Override
    public long decodeReturnAddress(long savedWord) {
        return stripPointerAuthentication(savedWord);
    }

    @Override
    public int fpAlignment() {
        return 8;
    }

    @Override
    public int stackPointerRegister() {
        return SP;
    }

    @Override
    public OptionalInt linkRegister() {
        return OptionalInt.of(X30);
    }

    /** Returns x29. */
    @Override
    public long startFp(Registers registers, StackMemory memory) {
        return registers.get(X29);
    }

    @Override
    public String describeLayout() {
        return Unwind.super.describeLayout() + "; pointer authentication stripped above bit " + (virtualAddressBits - 1);
    }

    @Override
    public String toString() {
        return "Unwind[aarch64, " + virtualAddressBits + "-bit virtual addresses]";
    }
    /** The aarch64 call-frame facts; see {@link CallFrameConventions}. */
    @Override
    public Optional<CallFrameConventions> callFrameConventions() {
        return Optional.of(CALL_FRAME_CONVENTIONS);
    }

}
