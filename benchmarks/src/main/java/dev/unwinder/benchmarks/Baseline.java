package dev.unwinder.benchmarks;

import dev.unwinder.api.Unwind;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The yardstick: the tightest plain-Java pointer chase over the same stack bytes that the
 * framework walks, with the strict walk's checks and none of its abstractions.
 *
 * <p>Per frame it checks, like {@code StackWalk.visitFrames}: fp below the entry fp (unsigned),
 * fp aligned, both link words inside the memory without wrapping around 2^64, and the saved fp
 * above fp (unsigned); it decodes the return address with the plugin's hook, as the walkers do
 * (aarch64 strips pointer-authentication bits there). The offsets are read from the plugin once,
 * outside the loop; the bounds of
 * both link words fold into one unsigned compare of fp against a precomputed range. A failed
 * check throws {@link IllegalStateException}; no stack used by the benchmarks fails one.
 */
final class Baseline {
    private static final VarHandle LITTLE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle BIG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong SEGMENT_LITTLE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong SEGMENT_BIG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final long base;
    private final long fpOffset;
    private final long pcOffset;
    private final long alignMask;
    private final boolean bigEndian;
    private final Unwind unwind;
    /** The lowest fp whose link words are both inside the memory. */
    private final long fpLow;
    /** How far above {@link #fpLow} the highest such fp is, unsigned. */
    private final long fpSpan;

    Baseline(Unwind unwind, long base, long size) {
        this.base = base;
        this.fpOffset = unwind.nextOlderFpFromFpOffset();
        this.pcOffset = unwind.nextOlderPcFromFpOffset();
        this.alignMask = unwind.fpAlignment() - 1;
        this.bigEndian = unwind.byteOrder() == ByteOrder.BIG_ENDIAN;
        this.unwind = unwind;
        long[] range = fpRange(base, size, Math.min(fpOffset, pcOffset), Math.max(fpOffset, pcOffset) + 8);
        this.fpLow = range[0];
        this.fpSpan = range[1];
    }

    /**
     * Returns the fps for which {@code [fp + low, fp + high)} lies inside {@code [base, base + size)}
     * with no wrap-around, as {@code {first, last - first}}: mathematically
     * {@code base - low <= fp <= base + size - high}, clamped to {@code [0, 2^64 - 1]}.
     */
    static long[] fpRange(long base, long size, long low, long high) {
        if (size < high - low) {
            throw noFp(base, size);
        }
        long first = base - low;
        if (low > 0 && Long.compareUnsigned(base, low) < 0) {
            first = 0;
        } else if (low < 0 && Long.compareUnsigned(first, base) < 0) {
            throw noFp(base, size);
        }
        long lastByte = base + size - 1;
        long last = lastByte - (high - 1);
        if (high - 1 >= 0 && Long.compareUnsigned(lastByte, high - 1) < 0) {
            throw noFp(base, size);
        } else if (high - 1 < 0 && Long.compareUnsigned(last, lastByte) < 0) {
            last = -1L;
        }
        if (Long.compareUnsigned(first, last) > 0) {
            throw noFp(base, size);
        }
        return new long[] {first, last - first};
    }

    private static IllegalArgumentException noFp(long base, long size) {
        return new IllegalArgumentException(String.format("no fp has its link inside 0x%x..0x%x", base, base + size));
    }

    private boolean inRange(long fp) {
        return Long.compareUnsigned(fp - fpLow, fpSpan) <= 0;
    }

    private long strip(long pc) {
        return unwind.decodeReturnAddress(pc);
    }

    /** Walks a heap stack from (pc, fp) to the entry fp, handing each pc and fp to the blackhole; returns the frame count. */
    int chase(byte[] bytes, long pc, long fp, long entryFp, Blackhole bh) {
        int frames = 0;
        while (fp != entryFp) {
            if (Long.compareUnsigned(fp, entryFp) > 0 || (fp & alignMask) != 0 || !inRange(fp)) {
                throw bad(frames, fp);
            }
            int at = (int) (fp - base);
            long nextPc = strip(bigEndian ? (long) BIG.get(bytes, at + (int) pcOffset) : (long) LITTLE.get(bytes, at + (int) pcOffset));
            long nextFp = bigEndian ? (long) BIG.get(bytes, at + (int) fpOffset) : (long) LITTLE.get(bytes, at + (int) fpOffset);
            if (Long.compareUnsigned(nextFp, fp) <= 0) {
                throw bad(frames, nextFp);
            }
            bh.consume(pc);
            bh.consume(fp);
            frames++;
            pc = nextPc;
            fp = nextFp;
        }
        return frames;
    }

    /** Walks a stack in a memory segment whose first byte is at {@code base}; as {@link #chase(byte[], long, long, long, Blackhole)}. */
    int chase(MemorySegment segment, long pc, long fp, long entryFp, Blackhole bh) {
        int frames = 0;
        while (fp != entryFp) {
            if (Long.compareUnsigned(fp, entryFp) > 0 || (fp & alignMask) != 0 || !inRange(fp)) {
                throw bad(frames, fp);
            }
            long at = fp - base;
            long nextPc = strip(bigEndian ? segment.get(SEGMENT_BIG, at + pcOffset) : segment.get(SEGMENT_LITTLE, at + pcOffset));
            long nextFp = bigEndian ? segment.get(SEGMENT_BIG, at + fpOffset) : segment.get(SEGMENT_LITTLE, at + fpOffset);
            if (Long.compareUnsigned(nextFp, fp) <= 0) {
                throw bad(frames, nextFp);
            }
            bh.consume(pc);
            bh.consume(fp);
            frames++;
            pc = nextPc;
            fp = nextFp;
        }
        return frames;
    }

    /** The whole address space below 2^63 as one segment, read at absolute addresses: a constant, so its bounds check is a compare with a constant. */
    private static final MemorySegment EVERYTHING = NativeSegments.everything();

    /**
     * Walks a stack in this process's memory whose bytes are at their own addresses, reading at
     * absolute addresses through one constant segment over the address space: no segment base or
     * size to carry, only the range check of fp. As {@link #chase(byte[], long, long, long, Blackhole)}.
     */
    int chaseAbsolute(long pc, long fp, long entryFp, Blackhole bh) {
        int frames = 0;
        while (fp != entryFp) {
            if (Long.compareUnsigned(fp, entryFp) > 0 || (fp & alignMask) != 0 || !inRange(fp)) {
                throw bad(frames, fp);
            }
            long nextPc = strip(bigEndian ? EVERYTHING.get(SEGMENT_BIG, fp + pcOffset) : EVERYTHING.get(SEGMENT_LITTLE, fp + pcOffset));
            long nextFp = bigEndian ? EVERYTHING.get(SEGMENT_BIG, fp + fpOffset) : EVERYTHING.get(SEGMENT_LITTLE, fp + fpOffset);
            if (Long.compareUnsigned(nextFp, fp) <= 0) {
                throw bad(frames, nextFp);
            }
            bh.consume(pc);
            bh.consume(fp);
            frames++;
            pc = nextPc;
            fp = nextFp;
        }
        return frames;
    }

    private static IllegalStateException bad(int frame, long address) {
        return new IllegalStateException("bad link at frame " + frame + ", address 0x" + Long.toHexString(address));
    }
}
