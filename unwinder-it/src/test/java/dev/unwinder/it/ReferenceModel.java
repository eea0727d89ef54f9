package dev.unwinder.it;

import dev.unwinder.api.Unwind;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * A second, deliberately naive model of both walk modes, written from their specification and
 * sharing no code with the walker: addresses as BigIntegers, words looked up one by one. Property
 * tests compare the walker with it.
 */
final class ReferenceModel {
    private static final BigInteger TWO_TO_64 = BigInteger.ONE.shiftLeft(64);

    /** What a walk delivered, as (pc, fp) pairs, and how it ended: "SENTINEL", a Reason or a WalkEnd name. */
    record Outcome(List<List<Long>> frames, String end) {}

    private final Unwind unwind;
    private final ByteBuffer memory;
    private final BigInteger base;

    ReferenceModel(Unwind unwind, byte[] bytes, int length, long base) {
        this.unwind = unwind;
        this.memory = ByteBuffer.wrap(bytes, 0, length).slice().order(unwind.byteOrder());
        this.base = unsigned(base);
    }

    private static BigInteger unsigned(long value) {
        return new BigInteger(Long.toUnsignedString(value));
    }

    /** The word at fp + offset, or empty if the sum leaves the address space or the word leaves the memory. */
    private OptionalLong word(long fp, long offset) {
        BigInteger address = unsigned(fp).add(BigInteger.valueOf(offset));
        if (address.signum() < 0 || address.compareTo(TWO_TO_64) >= 0) {
            return OptionalLong.empty();
        }
        BigInteger index = address.subtract(base);
        if (index.signum() < 0 || index.add(BigInteger.valueOf(8)).compareTo(BigInteger.valueOf(memory.capacity())) > 0) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(memory.getLong(index.intValueExact()));
    }

    private long decode(long returnAddress) {
        return unwind.decodeReturnAddress(returnAddress);
    }

    private static boolean above(long a, long b) {
        return unsigned(a).compareTo(unsigned(b)) > 0;
    }

    private boolean aligned(long fp) {
        return unsigned(fp).mod(BigInteger.valueOf(unwind.fpAlignment())).signum() == 0;
    }

    Outcome strict(long pc, long fp, long entryFp) {
        List<List<Long>> frames = new ArrayList<>();
        if (pc == 0) {
            return new Outcome(frames, "ZERO_PC");
        }
        if (fp == 0) {
            return new Outcome(frames, "ZERO_FP");
        }
        if (entryFp == 0) {
            return new Outcome(frames, "ZERO_ENTRY_FP");
        }
        while (fp != entryFp) {
            if (!above(entryFp, fp)) {
                return new Outcome(frames, "FP_NOT_BELOW_ENTRY_FP");
            }
            if (!aligned(fp)) {
                return new Outcome(frames, "FP_MISALIGNED");
            }
            OptionalLong returnAddress = word(fp, unwind.nextOlderPcFromFpOffset());
            OptionalLong savedFp = word(fp, unwind.nextOlderFpFromFpOffset());
            if (returnAddress.isEmpty() || savedFp.isEmpty()) {
                return new Outcome(frames, "OUTSIDE_MEMORY");
            }
            if (!above(savedFp.getAsLong(), fp)) {
                return new Outcome(frames, "FP_NOT_GROWING");
            }
            frames.add(List.of(pc, fp));
            pc = decode(returnAddress.getAsLong());
            fp = savedFp.getAsLong();
        }
        return new Outcome(frames, "SENTINEL");
    }

    Outcome lenient(long pc, long fp, long entryFp, int maxFrames) {
        List<List<Long>> frames = new ArrayList<>();
        Long younger = null;
        while (true) {
            String bad = badFrame(pc, fp, younger, entryFp);
            if (bad != null) {
                return new Outcome(frames, bad);
            }
            if (frames.size() == maxFrames) {
                return new Outcome(frames, "FRAME_LIMIT");
            }
            frames.add(List.of(pc, fp));
            younger = fp;
            pc = decode(word(fp, unwind.nextOlderPcFromFpOffset()).getAsLong());
            fp = word(fp, unwind.nextOlderFpFromFpOffset()).getAsLong();
        }
    }

    private String badFrame(long pc, long fp, Long younger, long entryFp) {
        if (fp == 0) {
            return "ZERO_FP";
        }
        if (fp == entryFp) {
            return "ENTRY_FP_REACHED";
        }
        if (younger != null && !above(fp, younger)) {
            return "FP_NOT_GROWING";
        }
        if (pc == 0) {
            return "ZERO_PC";
        }
        if (!aligned(fp)) {
            return "FP_MISALIGNED";
        }
        if (word(fp, unwind.nextOlderPcFromFpOffset()).isEmpty() || word(fp, unwind.nextOlderFpFromFpOffset()).isEmpty()) {
            return "OUTSIDE_MEMORY";
        }
        return null;
    }
}
