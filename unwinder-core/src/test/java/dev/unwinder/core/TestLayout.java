package dev.unwinder.core;

import dev.unwinder.api.Registers;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.OptionalInt;

/** A frame layout for the core's own tests, which cannot see the plugin modules. */
record TestLayout(String name, ByteOrder byteOrder, long nextOlderFpFromFpOffset, long nextOlderPcFromFpOffset,
        long nextOlderSpFromFpOffset, int fpAlignment) implements Unwind {

    /** x86_64's shape: saved fp at +0, return address at +8, 16-byte aligned, little-endian. */
    static final TestLayout UPWARD = new TestLayout("upward", ByteOrder.LITTLE_ENDIAN, 0, 8, 16, 16);
    /** riscv64's psABI shape: saved fp at -16, return address at -8. */
    static final TestLayout DOWNWARD = new TestLayout("downward", ByteOrder.LITTLE_ENDIAN, -16, -8, 0, 16);
    /** s390x's shape: big-endian, return address 112 bytes up, 8-byte aligned. */
    static final TestLayout BIG = new TestLayout("big", ByteOrder.BIG_ENDIAN, 0, 112, 0, 8);

    @Override
    public int wordSize() {
        return 8;
    }

    @Override
    public int stackPointerRegister() {
        return 1;
    }

    @Override
    public OptionalInt linkRegister() {
        return OptionalInt.empty();
    }

    @Override
    public long startFp(Registers registers, StackMemory memory) {
        return registers.get(0);
    }

    /** A stack being drawn by hand: words placed at absolute addresses. */
    final class Drawing {
        private final ByteBuffer bytes;
        private final long base;

        Drawing(long base, int size) {
            this.base = base;
            this.bytes = ByteBuffer.allocate(size).order(byteOrder);
        }

        /** Writes a frame's link: the caller's fp and the return address, at this layout's offsets. */
        Drawing link(long fp, long savedFp, long returnAddress) {
            bytes.putLong((int) (fp + nextOlderFpFromFpOffset - base), savedFp);
            bytes.putLong((int) (fp + nextOlderPcFromFpOffset - base), returnAddress);
            return this;
        }

        Drawing word(long address, long value) {
            bytes.putLong((int) (address - base), value);
            return this;
        }

        StackMemory memory() {
            return StackMemory.ofBytes(bytes.array(), base, byteOrder);
        }
    }

    Drawing draw(long base, int size) {
        return new Drawing(base, size);
    }
}
