package dev.unwinder.core;

import dev.unwinder.api.Frame;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.UnwindException;

/**
 * The frame a walk hands out. A walk reuses one mutable instance as its cursor, so visiting
 * allocates nothing; {@link #snapshot()} freezes a copy.
 */
final class WalkFrame implements Frame {
    private final StackMemory memory;
    private final boolean frozen;
    private int index;
    private long pc;
    private long fp;
    private long sp;

    /** Creates a walk's cursor, at index -1 until the walk sets its first frame. */
    WalkFrame(StackMemory memory) {
        this.memory = memory;
        this.frozen = false;
        this.index = -1;
    }

    private WalkFrame(StackMemory memory, int index, long pc, long fp, long sp) {
        this.memory = memory;
        this.frozen = true;
        this.index = index;
        this.pc = pc;
        this.fp = fp;
        this.sp = sp;
    }

    /** Moves the cursor to another frame; {@code sp} is ignored for frame 0. */
    void set(int index, long pc, long fp, long sp) {
        this.index = index;
        this.pc = pc;
        this.fp = fp;
        this.sp = sp;
    }

    @Override
    public int index() {
        return index;
    }

    @Override
    public long pc() {
        return pc;
    }

    @Override
    public long fp() {
        return fp;
    }

    @Override
    public boolean hasSp() {
        return index > 0;
    }

    @Override
    public long sp() {
        if (index == 0) {
            throw new IllegalStateException("sp of frame 0 is unknown: a walk learns a frame's sp from the younger frame");
        }
        return sp;
    }

    @Override
    public long readSlotFromFp(long offset) {
        try {
            return memory.readLong(fp, offset);
        } catch (UnwindException e) {
            throw e.atFrame(index);
        }
    }

    @Override
    public Frame snapshot() {
        return frozen ? this : new WalkFrame(memory, index, pc, fp, sp);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof WalkFrame that
                && index == that.index
                && pc == that.pc
                && fp == that.fp
                && (index == 0 || sp == that.sp)
                && memory == that.memory;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(pc) * 31 + Long.hashCode(fp) + index;
    }

    @Override
    public String toString() {
        String text = "Frame[#" + index + " pc=0x" + Long.toHexString(pc) + " fp=0x" + Long.toHexString(fp);
        return index == 0 ? text + "]" : text + " sp=0x" + Long.toHexString(sp) + "]";
    }
}
