package dev.unwinder.arch.aarch64;

import com.google.auto.service.AutoService;
import dev.unwinder.api.Registers;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import java.nio.ByteOrder;
import java.util.List;
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
}
