package dev.unwinder.livestack;

import static java.util.Objects.requireNonNull;

/**
 * A function of a loaded native library: its symbol name and where its code lies in this
 * process, {@code [address, address + size)}.
 *
 * @param name the symbol name, such as {@code "live_bottom"}
 * @param address the address of the function's first instruction in this process, unsigned
 * @param size the size of its code in bytes, from the symbol table, at least 1
 */
public record NativeFunction(String name, long address, long size) {

    /**
     * Validates the components.
     *
     * @param name the symbol name
     * @param address the address of the first instruction
     * @param size the size in bytes
     */
    public NativeFunction {
        requireNonNull(name, "name");
        if (size <= 0) {
            throw new IllegalArgumentException("size: " + size + " (expected: > 0)");
        }
        if (Long.compareUnsigned(address + size - 1, address) < 0) {
            throw new IllegalArgumentException(String.format(
                    "address: 0x%x (expected: %d bytes to fit below 2^64)", address, size));
        }
    }

    /**
     * Tells whether a pc lies in this function's code.
     *
     * @param pc an unsigned address
     * @return {@code true} if {@code address <= pc < address + size}
     */
    public boolean contains(long pc) {
        return Long.compareUnsigned(pc - address, size) < 0;
    }

    /**
     * Describes a pc inside this function as {@code name+0xoffset}.
     *
     * @param pc a pc that this function {@linkplain #contains(long) contains}
     * @return the symbolized pc, such as {@code "live_bottom+0x1f"}
     * @throws IllegalArgumentException if the pc is not inside this function
     */
    public String symbolize(long pc) {
        if (!contains(pc)) {
            throw new IllegalArgumentException(String.format(
                    "pc: 0x%x (expected: inside %s, [0x%x, 0x%x))", pc, name, address, address + size));
        }
        return name + "+0x" + Long.toHexString(pc - address);
    }

    @Override
    public String toString() {
        return String.format("%s[0x%x, 0x%x)", name, address, address + size);
    }
}
