package dev.unwinder.cli;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.api.UnwindException;
import dev.unwinder.core.LenientWalk;
import dev.unwinder.core.StackWalk;
import dev.unwinder.core.WalkEnd;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;

/**
 * The walk of one thread or capture, ready to print: its frames, symbolized where an executable
 * was given, and how the walk ended.
 *
 * @param tid the thread id, empty for a raw capture
 * @param arch the plugin's name
 * @param header a line about the thread's registers for text output, or empty
 * @param frames the frames, innermost first
 * @param end how the walk ended, as a lower-case token such as {@code "fp-not-growing"}
 * @param endDetail the same in words, with the addresses involved
 * @param failed whether a strict walk stopped at a broken invariant instead of its entry fp
 * @param note a last line for text output, or null
 */
record Backtrace(OptionalInt tid, String arch, String header, List<FrameLine> frames, String end, String endDetail,
                 boolean failed, String note) {

    /** This backtrace with a note for text output, such as a hint about a leaf frame. */
    Backtrace withNote(String text) {
        return new Backtrace(tid, arch, header, frames, end, endDetail, failed, text);
    }

    /**
     * One frame.
     *
     * @param index 0 for the innermost frame
     * @param pc the frame's pc
     * @param fp the frame's fp
     * @param where the module and function that hold the pc
     */
    record FrameLine(int index, long pc, long fp, Symbolizer.Location where) {
        /** "name+offset", or "??" where no symbol covers the pc. */
        String function() {
            return where.symbol() == null ? "??" : where.symbol() + "+" + where.symbolOffset();
        }
    }

    /** Walks leniently, as a native stack without an entry fp: every frame whose own pc and fp are good. */
    static Backtrace lenient(OptionalInt tid, String header, Unwind unwind, StackMemory memory, long pc, long fp,
                             int maxFrames, Symbolizer symbolizer) {
        List<FrameLine> frames = new ArrayList<>();
        LenientWalk<Void> walk = StackWalk.visitFramesLenient(unwind, memory, pc, fp, StackWalk.NO_ENTRY_FP, maxFrames, frame -> {
            frames.add(new FrameLine(frame.index(), frame.pc(), frame.fp(), symbolizer.locate(frame.index(), frame.pc())));
            return ControlFlow.continueWalk();
        });
        String detail = describe(walk, frames, unwind, memory, fp, maxFrames);
        if (frames.isEmpty() && pc != 0 && maxFrames > 0) {
            // The thread is at pc even when its fp leads nowhere: its first frame is still known.
            frames.add(new FrameLine(0, pc, fp, symbolizer.locate(0, pc)));
        }
        return new Backtrace(tid, unwind.name(), header, List.copyOf(frames), token(walk.end().name()), detail, false, null);
    }

    /** Walks strictly, up to the entry fp {@code entryFp}; a broken invariant ends the walk as a failure. */
    static Backtrace strict(String header, Unwind unwind, StackMemory memory, long pc, long fp, long entryFp,
                            Symbolizer symbolizer) {
        List<FrameLine> frames = new ArrayList<>();
        try {
            StackWalk.visitFrames(unwind, memory, pc, fp, entryFp, frame -> {
                frames.add(new FrameLine(frame.index(), frame.pc(), frame.fp(), symbolizer.locate(frame.index(), frame.pc())));
                return ControlFlow.continueWalk();
            });
        } catch (UnwindException e) {
            return new Backtrace(OptionalInt.empty(), unwind.name(), header, List.copyOf(frames), token(e.reason().name()),
                    e.getMessage(), true, null);
        }
        return new Backtrace(OptionalInt.empty(), unwind.name(), header, List.copyOf(frames), "entry-fp-reached",
                String.format("reached the entry fp 0x%x", entryFp), false, null);
    }

    /** "FP_NOT_GROWING" as "fp-not-growing". */
    private static String token(String constant) {
        return constant.toLowerCase(Locale.ROOT).replace('_', '-');
    }

    private static String describe(LenientWalk<Void> walk, List<FrameLine> frames, Unwind unwind, StackMemory memory,
                                   long startFp, int maxFrames) {
        long endFp = walk.endFp();
        String which = frames.isEmpty() ? "the first fp" : "frame #" + (frames.size() - 1) + "'s saved fp";
        WalkEnd end = walk.end();
        return switch (end) {
            case ZERO_FP -> which + " is 0, the end of the chain";
            case ENTRY_FP_REACHED -> String.format("%s 0x%x is the entry fp", which, endFp);
            case FP_NOT_GROWING -> String.format("%s 0x%x is not above fp 0x%x", which, endFp,
                    frames.isEmpty() ? startFp : frames.getLast().fp());
            case ZERO_PC -> frames.isEmpty() ? "the pc is 0"
                    : "frame #" + (frames.size() - 1) + "'s saved return address is 0";
            case FP_MISALIGNED -> String.format("%s 0x%x is not a multiple of %d", which, endFp, unwind.fpAlignment());
            case OUTSIDE_MEMORY -> String.format("%s 0x%x does not keep its links inside the stack segment [0x%x, 0x%x)",
                    which, endFp, memory.baseAddress(), memory.baseAddress() + memory.size());
            case FRAME_LIMIT -> "stopped after " + maxFrames + " frames (--max-frames); the chain goes on";
            case VISITOR_BREAK -> "stopped by the visitor";
        };
    }
}
