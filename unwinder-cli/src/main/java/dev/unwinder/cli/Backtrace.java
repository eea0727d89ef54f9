package dev.unwinder.cli;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.api.UnwindException;
import dev.unwinder.core.LenientWalk;
import dev.unwinder.core.StackWalk;
import dev.unwinder.core.WalkEnd;
import dev.unwinder.elf.CfiWalk;
import dev.unwinder.elf.ElfException;
import dev.unwinder.elf.ElfFile;
import dev.unwinder.elf.Module;
import dev.unwinder.elf.ModuleMap;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.function.LongFunction;

/**
 * The walk of one thread or capture, ready to print: its frames, symbolized where an executable
 * was given, how each was found, and how the walk ended.
 *
 * <p>Two walks make them: the call-frame information walk ({@link #cfi}, {@link CfiWalk}: each
 * frame has an sp) and the frame-pointer walk ({@link #lenient}, {@link #strict}: each frame has
 * an fp), which {@code --fp-only} keeps.
 *
 * @param tid the thread id, empty for a raw capture
 * @param arch the plugin's name
 * @param header a line about the thread's registers for text output, or empty
 * @param frames the frames, innermost first
 * @param end how the walk ended, as a lower-case token such as {@code "fp-not-growing"}
 * @param endDetail the same in words, with the addresses involved
 * @param failed whether a strict walk stopped at a broken invariant instead of its entry fp
 * @param note a last line for text output, or null
 * @param cfi whether the call-frame information walk made it (frames have an sp), not the
 *     frame-pointer walk (frames have an fp)
 */
record Backtrace(OptionalInt tid, String arch, String header, List<FrameLine> frames, String end, String endDetail,
                 boolean failed, String note, boolean cfi) {

    /** How a first frame was found: from the thread's registers (as {@link CfiWalk.How#CONTEXT} prints). */
    static final String CONTEXT = "context";
    /** How the frame-pointer walk found every frame but the first (as {@link CfiWalk.How#FP} prints). */
    static final String FP = "fp";

    /** This backtrace with a note for text output, such as a hint about a leaf frame. */
    Backtrace withNote(String text) {
        return new Backtrace(tid, arch, header, frames, end, endDetail, failed, text, cfi);
    }

    /**
     * One frame.
     *
     * @param index 0 for the innermost frame
     * @param pc the frame's pc
     * @param fp the frame's fp (frame-pointer walk), else 0
     * @param sp the frame's sp (call-frame information walk), else 0
     * @param how how it was found, in lower case: {@code context} (the registers), {@code cfi},
     *     {@code fp}, or whatever else {@link CfiWalk.How} names
     * @param where the module and function that hold the pc
     */
    record FrameLine(int index, long pc, long fp, long sp, String how, Symbolizer.Location where) {
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
            frames.add(new FrameLine(frame.index(), frame.pc(), frame.fp(), 0, frame.index() == 0 ? CONTEXT : FP,
                    symbolizer.locate(frame.index(), frame.pc())));
            return ControlFlow.continueWalk();
        });
        String detail = describe(walk, frames, unwind, memory, fp, maxFrames);
        if (frames.isEmpty() && pc != 0 && maxFrames > 0) {
            // The thread is at pc even when its fp leads nowhere: its first frame is still known.
            frames.add(new FrameLine(0, pc, fp, 0, CONTEXT, symbolizer.locate(0, pc)));
        }
        return new Backtrace(tid, unwind.name(), header, List.copyOf(frames), token(walk.end().name()), detail, false, null,
                false);
    }

    /** Walks strictly, up to the entry fp {@code entryFp}; a broken invariant ends the walk as a failure. */
    static Backtrace strict(String header, Unwind unwind, StackMemory memory, long pc, long fp, long entryFp,
                            Symbolizer symbolizer) {
        List<FrameLine> frames = new ArrayList<>();
        try {
            StackWalk.visitFrames(unwind, memory, pc, fp, entryFp, frame -> {
                frames.add(new FrameLine(frame.index(), frame.pc(), frame.fp(), 0, frame.index() == 0 ? CONTEXT : FP,
                    symbolizer.locate(frame.index(), frame.pc())));
                return ControlFlow.continueWalk();
            });
        } catch (UnwindException e) {
            return new Backtrace(OptionalInt.empty(), unwind.name(), header, List.copyOf(frames), token(e.reason().name()),
                    e.getMessage(), true, null, false);
        }
        return new Backtrace(OptionalInt.empty(), unwind.name(), header, List.copyOf(frames), "entry-fp-reached",
                String.format("reached the entry fp 0x%x", entryFp), false, null, false);
    }

    /**
     * Whether a module has call-frame information: {@code .eh_frame}, or {@code .debug_frame} in
     * its file or debug file. Where none has, the commands walk the frame-pointer chain, as they did
     * before they read call-frame information: a walk with no call-frame information could only
     * follow the frame-pointer rule, and s390x has none.
     */
    static boolean hasCallFrameInformation(ModuleMap modules) {
        for (Module module : modules.modules()) {
            if (has(module.elf(), ".eh_frame") || has(module.elf(), ".debug_frame") || has(module.debugElf(), ".debug_frame")) {
                return true;
            }
        }
        return false;
    }

    private static boolean has(ElfFile file, String section) {
        try {
            return file != null && file.section(section) != null;
        } catch (ElfException e) {
            return false; // a broken section table: the file gives no call-frame information
        }
    }

    /**
     * The one place that makes the call-frame information walker: for the walks of one core or
     * capture, over its modules.
     *
     * @param unwind the architecture's plugin
     * @param modules the modules whose files give call-frame information
     * @param arena where files of modules made without them are mapped
     * @return a walker for every thread of the core or capture, walked one after another (a walker
     *     is not shared between threads)
     */
    static CfiWalk cfiWalker(Unwind unwind, ModuleMap modules, Arena arena) {
        return new CfiWalk(unwind, modules, arena);
    }

    /**
     * Walks with the call-frame information of the modules, and the frame-pointer rule where none
     * covers a pc: from the thread's registers, every frame until the outermost or a rule that
     * cannot be followed.
     *
     * @param tid the thread id, or empty for a capture
     * @param header the line about the thread for text output
     * @param arch the plugin's name
     * @param walker the walker of this core or capture
     * @param memory the thread's stack
     * @param code the memory of the code at an address, or null where there is none (signal
     *     trampolines without call-frame information are recognized by their code)
     * @param pc the thread's pc
     * @param dwarfRegisters its registers by DWARF number
     * @param maxFrames the most frames
     * @param symbolizer names the frames
     * @return the backtrace
     */
    static Backtrace cfi(OptionalInt tid, String header, String arch, CfiWalk walker, StackMemory memory,
                         LongFunction<StackMemory> code, long pc, long[] dwarfRegisters, int maxFrames,
                         Symbolizer symbolizer) {
        List<FrameLine> frames = new ArrayList<>();
        if (maxFrames == 0) {
            return new Backtrace(tid, arch, header, List.of(), "frame-limit",
                    "stopped after 0 frames (--max-frames)", false, null, true);
        }
        CfiWalk.End end = walker.walk(pc, dwarfRegisters, memory, code, maxFrames, (index, framePc, sp, how) -> {
            frames.add(new FrameLine(index, framePc, 0, sp, how.name().toLowerCase(Locale.ROOT),
                    symbolizer.locate(index, framePc)));
            return true;
        });
        String detail = walker.endDetail();
        String last = "frame #" + (frames.size() - 1);
        String token = end == CfiWalk.End.MAX_FRAMES ? "frame-limit" : token(end.name());
        if (end == CfiWalk.End.MAX_FRAMES) {
            detail = "stopped after " + maxFrames + " frames (--max-frames)";
        } else if (end == CfiWalk.End.OUTERMOST && detail.isEmpty()) {
            detail = last + " is the outermost: its return address is undefined or 0";
        } else if (detail.isEmpty()) {
            detail = "after " + last;
        } else {
            detail = last + ": " + detail;
        }
        return new Backtrace(tid, arch, header, List.copyOf(frames), token, detail, false, null, true);
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
