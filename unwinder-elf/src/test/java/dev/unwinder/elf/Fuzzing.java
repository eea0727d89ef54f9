package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/**
 * What the fuzz tests share: edits that overwrite a field of a file with a value that lies, and a
 * run that must end within a time limit and allocate no more than a bound, whatever the file
 * claims.
 */
final class Fuzzing {
    /** Values that lie: zero, small, sizes and counts past any file, sign bits, all ones. */
    static final List<Long> LIES = List.of(
            0L, 1L, 3L, 7L, 8L, 12L, 0x18L, 0x38L, 0x40L, 0xffL, 0x1000L, 0xffffL, 0x7fff_ffffL, 0xffff_ffffL,
            0x8000_0000_0000_0000L, 0x7fff_ffff_ffff_ffffL, -1L, -8L, 0x1_0000_0000L, 0x4000_0000_0000L);

    /** How long one run may take: far more than any does, far less than a hang. */
    static final Duration TIME_LIMIT = Duration.ofSeconds(20);

    private Fuzzing() {}

    /**
     * One overwrite of {@code width} bytes (1, 2, 4 or 8) in the file's byte order: at a field of
     * the file's structure picked by {@code pick} (three edits in four), or at the plain offset
     * {@code pick}; with a value that lies ({@code kind} 0), an address that means something in
     * the file, such as another link_map entry ({@code kind} 1), or any value ({@code kind} 2).
     */
    record Edit(boolean atField, int pick, int width, int kind, long value) {}

    static Arbitrary<Edit> edits() {
        return Combinators.combine(Arbitraries.of(true, true, true, false), Arbitraries.integers().between(0, 1 << 22),
                Arbitraries.of(1, 2, 4, 8, 8, 8), Arbitraries.of(0, 0, 1, 1, 2), Arbitraries.longs()).as(Edit::new);
    }

    /**
     * A copy of {@code original}, cut to {@code keepPercent} percent of it, with the edits made.
     *
     * @param fields the offsets of the fields a reader trusts
     * @param addresses the values of kind 1
     */
    static byte[] mutate(byte[] original, ByteOrder order, List<Integer> fields, List<Long> addresses, List<Edit> edits,
                         int keepPercent) {
        int length = keepPercent >= 100 ? original.length : (int) ((long) original.length * keepPercent / 100);
        byte[] bytes = Arrays.copyOf(original, length);
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(order);
        for (Edit edit : edits) {
            int offset = edit.atField() ? fields.get(edit.pick() % fields.size()) : edit.pick() % Math.max(original.length, 1);
            if (offset < 0 || offset + edit.width() > bytes.length) {
                continue;
            }
            long value = switch (edit.kind()) {
                case 0 -> LIES.get((int) Long.remainderUnsigned(edit.value(), LIES.size()));
                case 1 -> addresses.isEmpty() ? edit.value()
                        : addresses.get((int) Long.remainderUnsigned(edit.value(), addresses.size()));
                default -> edit.value();
            };
            switch (edit.width()) {
                case 1 -> buffer.put(offset, (byte) value);
                case 2 -> buffer.putShort(offset, (short) value);
                case 4 -> buffer.putInt(offset, (int) value);
                default -> buffer.putLong(offset, value);
            }
        }
        return bytes;
    }

    /**
     * Runs {@code action} on a thread of its own: it must end within {@link #TIME_LIMIT} and allocate
     * at most {@code maxBytes}. Anything it throws fails the caller.
     */
    static void bounded(String what, long maxBytes, Runnable action) {
        long allocated = assertTimeoutPreemptively(TIME_LIMIT, () -> Allocations.bytesAllocatedBy(action), what);
        assertTrue(allocated <= maxBytes, () -> String.format("%s allocated %,d bytes (at most %,d)", what, allocated, maxBytes));
    }

    /** A problem or a message: one line that says something. */
    static void assertOneLine(String text) {
        assertTrue(text != null && !text.isBlank(), "a problem in words: " + text);
        assertEquals(-1, text.indexOf('\n'), text);
    }
}
