package dev.unwinder.elf;

import dev.unwinder.api.CallFrameConventions;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.api.UnwindException;
import java.lang.foreign.Arena;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongFunction;

/**
 * A walk of one thread's stack with the call-frame information (CFI) of the modules its code is
 * in, and the frame-pointer rule where no CFI covers a pc.
 *
 * <p>Each frame's pc is looked up in its module's table at {@code pc - bias}; frames above the
 * first are looked up at {@code pc - 1} (a return address may be past the end of its call's
 * function), unless the frame below was a signal frame (a CIE with augmentation {@code S}), whose
 * caller's pc is the interrupted instruction itself. The row's rules give the CFA and the caller's
 * registers; a register with no rule keeps its value if the architecture's callee preserves it
 * (and so does the return-address column), and is unknown otherwise. An undefined return address
 * is the outermost frame ({@code _start}, {@code clone3}). What the walk knows of the architecture
 * (its DWARF registers, the callee-saved ones, the frame-pointer rule, signal-return trampolines)
 * comes from the arch plugin's {@link Unwind#callFrameConventions()}.
 *
 * <p>Given the memory of the code too, the walk crosses a signal-return trampoline that no CFI
 * describes (qemu-user's, a runtime's own) by its instructions, reading the interrupted registers
 * from the signal frame; and an innermost pc in no mapped code (a call through a bad function
 * pointer) gets the rule at a function's first instruction.
 *
 * <p>Memory is read only through the {@link StackMemory} given (the thread's stack): a rule that
 * points outside it ends the walk. The walk is bounded: at most {@code maxFrames} frames, each
 * caller's sp above its callee's, or equal to it for one step at a time where the pc changes (a
 * function without a frame), so no loop; and no exception escapes it but for a visitor's own.
 *
 * <p>Allocation: a module's table is read from the file the module keeps mapped ({@link Module#elf()},
 * or for a module made without it, its file mapped into the arena given) and kept, on the first
 * frame in that module; after that, a frame allocates nothing. A frame at a pc the walker has
 * seen before reuses the row it computed then (kept in a cache of 512 rows, those without DWARF
 * expressions), which gives the same walk faster. Not safe to share between threads; keep one per
 * walking thread.
 */
public final class CfiWalk {
    /** How a frame was found. */
    public enum How {
        /** The first frame: the thread's registers. */
        CONTEXT,
        /** From its callee's frame with call-frame information. */
        CFI,
        /** From its callee's frame with the frame-pointer rule. */
        FP,
        /** From the registers a signal-return trampoline restores, its callee being the trampoline. */
        SIGNAL,
        /** From an innermost frame whose pc is in no code, with the rule at a function's first instruction. */
        ENTRY
    }

    /** Why a walk ended. */
    public enum End {
        /** The outermost frame: its return address is undefined, the caller's pc is 0, or its frame pointer is 0. */
        OUTERMOST,
        /** The visitor asked to stop. */
        STOPPED,
        /** {@code maxFrames} frames were visited. */
        MAX_FRAMES,
        /** No CFI covers the pc and the architecture or the registers allow no frame-pointer step. */
        NO_UNWIND_INFO,
        /** A rule reads memory outside the stack, or a register whose value is not known. */
        OUTSIDE_MEMORY,
        /** The caller's sp is not above its callee's. */
        CFA_NOT_GROWING,
        /** The call-frame information is malformed or unsupported. */
        BAD_CFI
    }

    /** Receives the frames of a walk, innermost first. */
    @FunctionalInterface
    public interface Visitor {
        /**
         * One frame.
         *
         * @param index its index, 0 for the innermost
         * @param pc its pc (a return address above frame 0)
         * @param sp its stack pointer
         * @param how how it was found
         * @return whether to go on to its caller
         */
        boolean frame(int index, long pc, long sp, How how);
    }

    private static final Object NO_TABLE = new Object();

    private final Unwind unwind;
    private final int registerCount;
    private final int sp;
    private final int fp;
    private final long cfaAboveSp;
    private final CallFrameConventions conventions;
    private final CallFrameConventions.SignalFrame[] signalFrames;
    private final ModuleMap modules;
    private final Arena arena;
    private final Map<Module, Object> tables = new IdentityHashMap<>();
    private final CfiRow row;
    /** Rows already computed, by pc: a frame seen before skips the lookup and the CFA program. */
    final CfiRowCache rows;
    private final CfiExpression expression = new CfiExpression();
    private final long[] registers;
    private final boolean[] known;
    private final long[] next;
    private final boolean[] nextKnown;
    private final CfiExpression.Registers registerReader;
    private final CfiExpression.Memory memoryReader;
    private StackMemory memory;
    /** The last walk's end detail: a format of up to three long arguments, made a string only when asked. */
    private String detail = "";
    private long detailA;
    private long detailB;
    private long detailC;
    /** Whether an expression read a register whose value is not known: its ElfException ends the walk as OUTSIDE_MEMORY. */
    private boolean unknownRegister;

    /**
     * Creates a walker.
     *
     * @param unwind the arch plugin of the threads it walks
     * @param modules the modules whose files give CFI
     * @param arena where the files of modules made without their mapped files are mapped; it must
     *     outlive the walker
     * @throws IllegalArgumentException if the plugin gives no {@linkplain Unwind#callFrameConventions()
     *     call-frame conventions}
     */
    public CfiWalk(Unwind unwind, ModuleMap modules, Arena arena) {
        this.unwind = unwind;
        this.conventions = unwind.callFrameConventions().orElseThrow(() -> new IllegalArgumentException(
                "unwind: plugin " + unwind.name() + " gives no call-frame conventions"));
        this.modules = Objects.requireNonNull(modules, "modules");
        this.arena = Objects.requireNonNull(arena, "arena");
        registerCount = conventions.registerCount();
        sp = conventions.stackPointer();
        fp = conventions.framePointer().orElse(-1);
        cfaAboveSp = conventions.cfaAboveCallerSp();
        signalFrames = conventions.signalFrames().toArray(CallFrameConventions.SignalFrame[]::new);
        row = new CfiRow(registerCount);
        rows = new CfiRowCache(registerCount, sp, cfaAboveSp, conventions::isCalleeSaved, unwind);
        registers = new long[registerCount];
        known = new boolean[registerCount];
        next = new long[registerCount];
        nextKnown = new boolean[registerCount];
        registerReader = this::register;
        memoryReader = this::read;
    }

    /**
     * What the last walk's end was about, such as the address outside the memory.
     *
     * @return a message, empty if the walk ended at the outermost frame or as asked
     */
    public String endDetail() {
        return String.format(detail, detailA, detailB, detailC);
    }

    /** Sets the end detail without allocating: the format takes its arguments in order, as many as it uses. */
    private void detail(String format, long a, long b, long c) {
        detail = format;
        detailA = a;
        detailB = b;
        detailC = c;
    }

    /** Whether register {@code r} of the last frame visited is known (for tests). */
    boolean registerKnown(int r) {
        return known[r];
    }

    /** The value of register {@code r} of the last frame visited (for tests). */
    long registerValue(int r) {
        return registers[r];
    }

    /**
     * Walks a thread's stack, without the memory of its code: no signal-return trampoline is
     * recognized by its instructions, and no entry rule applies; as
     * {@link #walk(long, long[], StackMemory, LongFunction, int, Visitor) walk(pc, dwarfRegisters,
     * stack, null, maxFrames, visitor)}.
     *
     * @param pc the thread's pc
     * @param dwarfRegisters its registers by DWARF number (more than the walk tracks are ignored,
     *     fewer are unknown)
     * @param stack the memory of its stack
     * @param maxFrames the most frames to visit, at least 1
     * @param visitor receives each frame
     * @return why the walk ended
     * @throws IllegalArgumentException if {@code maxFrames} is below 1
     */
    public End walk(long pc, long[] dwarfRegisters, StackMemory stack, int maxFrames, Visitor visitor) {
        return walk(pc, dwarfRegisters, stack, null, maxFrames, visitor);
    }

    /**
     * Walks a thread's stack.
     *
     * <p>{@code code} gives the memory that holds a pc's instructions, or {@code null} where the
     * caller has none mapped there. It is asked only for pcs that no module's CFI covers, to see
     * whether the pc is a signal-return trampoline of the architecture (its instructions read
     * through the memory returned, which must hold them whole) or, for the innermost frame, in
     * no code at all. A {@code null} {@code code} turns both off.
     *
     * @param pc the thread's pc
     * @param dwarfRegisters its registers by DWARF number (more than the walk tracks are ignored,
     *     fewer are unknown)
     * @param stack the memory of its stack
     * @param code the memory holding the code at an address, or {@code null}
     * @param maxFrames the most frames to visit, at least 1
     * @param visitor receives each frame
     * @return why the walk ended
     * @throws IllegalArgumentException if {@code maxFrames} is below 1
     */
    public End walk(long pc, long[] dwarfRegisters, StackMemory stack, LongFunction<StackMemory> code, int maxFrames,
                    Visitor visitor) {
        if (maxFrames < 1) {
            throw new IllegalArgumentException("maxFrames: " + maxFrames + " (expected: at least 1)");
        }
        memory = stack;
        detail("", 0, 0, 0);
        unknownRegister = false;
        Arrays.fill(known, false);
        int n = Math.min(dwarfRegisters.length, registers.length);
        System.arraycopy(dwarfRegisters, 0, registers, 0, n);
        Arrays.fill(registers, n, registers.length, 0); // not the last walk's: an sp not given is 0
        Arrays.fill(known, 0, n, true);
        long sp = registers[this.sp];
        How how = How.CONTEXT;
        boolean exact = true;
        boolean grew = true;
        for (int index = 0; ; index++) {
            if (!visitor.frame(index, pc, sp, how)) {
                return End.STOPPED;
            }
            if (index + 1 == maxFrames) {
                return End.MAX_FRAMES;
            }
            if (index > 0) { // goes on with kept rows as far as they reach (CfiRowCache.run)
                End end = rows.run(index, pc, sp, exact, grew, registers, known, next, nextKnown, memory, maxFrames,
                        visitor);
                if (end != null) {
                    return end; // outermost, stopped or the frame limit: no detail
                }
                index = rows.runIndex;
                pc = rows.runPc;
                sp = rows.runSp;
                exact = rows.runExact;
                grew = rows.runGrew;
            }
            long lookup = exact ? pc : pc - 1;
            long callerPc;
            boolean signal = false;
            try {
                int cachedRa = rows.step(lookup, pc, index > 0, registers, known, memory, next, nextKnown);
                Module module = cachedRa >= 0 ? null : modules.find(lookup);
                CfiTable table = module == null ? null : table(module);
                CfiFde fde = table == null ? null : table.find(lookup - module.bias());
                CallFrameConventions.SignalFrame trampoline;
                if (cachedRa >= 0) {
                    callerPc = unwind.decodeReturnAddress(next[cachedRa]);
                    exact = rows.signalFrame();
                    how = How.CFI;
                } else if (fde != null) {
                    table.row(fde, lookup - module.bias(), row);
                    int ra = fde.cie().returnAddressRegister();
                    if (ra < 0 || ra >= registerCount) {
                        detail("return-address column %d at pc 0x%x", ra, pc, 0);
                        return End.BAD_CFI;
                    }
                    if (row.rule(ra) == CfiRule.UNDEFINED) {
                        return End.OUTERMOST;
                    }
                    if (!cfiStep(table, ra)) {
                        return End.OUTSIDE_MEMORY;
                    }
                    rows.store(lookup, pc, fde.cie().signalFrame(), ra, row);
                    callerPc = unwind.decodeReturnAddress(next[ra]);
                    exact = fde.cie().signalFrame();
                    how = How.CFI;
                } else if (code != null && (trampoline = trampolineAt(pc, code)) != null) {
                    if (!known[this.sp]) {
                        detail("the stack pointer of the signal trampoline at pc 0x%x is not known", pc, 0, 0);
                        return End.OUTSIDE_MEMORY;
                    }
                    long context = registers[this.sp] + trampoline.contextOffset();
                    for (int r = 0; r < registerCount; r++) {
                        int offset = trampoline.registerOffset(r);
                        nextKnown[r] = offset >= 0;
                        next[r] = offset >= 0 ? memory.readLong(context, offset) : 0;
                    }
                    callerPc = memory.readLong(context, trampoline.pcOffset());
                    exact = true;
                    signal = true;
                    how = How.SIGNAL;
                } else if (index == 0 && module == null && code != null && code.apply(pc) == null) {
                    long cfa = sp + conventions.entryCfaOffset();
                    int ra = conventions.returnAddressColumn();
                    Arrays.fill(nextKnown, false);
                    for (int r = 0; r < registerCount; r++) {
                        if (conventions.isCalleeSaved(r)) {
                            next[r] = registers[r];
                            nextKnown[r] = known[r];
                        }
                    }
                    if (conventions.entryReturnAddressOnStack()) {
                        callerPc = memory.readLong(cfa - unwind.wordSize());
                    } else if (known[ra]) {
                        callerPc = unwind.decodeReturnAddress(registers[ra]);
                    } else {
                        detail("pc 0x%x is in no code and the return address is not known", pc, 0, 0);
                        return End.NO_UNWIND_INFO;
                    }
                    next[this.sp] = cfa - cfaAboveSp;
                    nextKnown[this.sp] = true;
                    exact = false;
                    how = How.ENTRY;
                } else if (fp >= 0 && known[fp]) {
                    long framePointer = registers[fp];
                    if (framePointer == 0) {
                        return End.OUTERMOST; // the end of the frame-pointer chain, as the frame-pointer walk ends
                    }
                    long callerFp = memory.readLong(framePointer, unwind.nextOlderFpFromFpOffset());
                    callerPc = unwind.decodeReturnAddress(
                            memory.readLong(framePointer, unwind.nextOlderPcFromFpOffset()));
                    Arrays.fill(nextKnown, false);
                    next[fp] = callerFp;
                    nextKnown[fp] = true;
                    next[this.sp] = framePointer + unwind.nextOlderSpFromFpOffset();
                    nextKnown[this.sp] = true;
                    exact = false;
                    how = How.FP;
                } else {
                    detail(fp < 0 ? "no call-frame information for pc 0x%x"
                            : "no call-frame information for pc 0x%x and no frame pointer", pc, 0, 0);
                    return End.NO_UNWIND_INFO;
                }
            } catch (ElfException e) {
                detail(String.valueOf(e.getMessage()).replace("%", "%%"), 0, 0, 0);
                return unknownRegister ? End.OUTSIDE_MEMORY : End.BAD_CFI;
            } catch (UnwindException e) {
                detail(String.valueOf(e.getMessage()).replace("%", "%%"), 0, 0, 0);
                return End.OUTSIDE_MEMORY;
            }
            if (callerPc == 0) {
                return End.OUTERMOST;
            }
            long callerSp = next[this.sp];
            int order = Long.compareUnsigned(callerSp, sp);
            // A function without a frame (a leaf on aarch64, riscv64, s390x) leaves its caller's sp
            // as it is: one step that keeps sp is allowed, if the pc changes, but not two in a row.
            // The registers a signal frame restores may be on another stack (sigaltstack): the step
            // out of a trampoline is not checked, and maxFrames bounds the walk still.
            if (!nextKnown[this.sp]
                    || !signal && (order < 0 || order == 0 && (!grew || callerPc == pc))) {
                detail("caller's sp 0x%x is not above sp 0x%x at pc 0x%x", callerSp, sp, pc);
                return End.CFA_NOT_GROWING;
            }
            grew = order > 0 || signal;
            // So next equals registers at the top of every frame but the first: the cached step relies on it.
            System.arraycopy(next, 0, registers, 0, registers.length);
            System.arraycopy(nextKnown, 0, known, 0, known.length);
            pc = callerPc;
            sp = callerSp;
        }
    }

    /** The trampoline whose code is at pc, or null; reads the code through the memory code gives. */
    private CallFrameConventions.SignalFrame trampolineAt(long pc, LongFunction<StackMemory> code) {
        if (signalFrames.length == 0) {
            return null;
        }
        StackMemory text = code.apply(pc);
        if (text == null) {
            return null;
        }
        for (CallFrameConventions.SignalFrame frame : signalFrames) {
            if (matches(text, pc, frame)) {
                return frame;
            }
        }
        return null;
    }

    private static boolean matches(StackMemory text, long pc, CallFrameConventions.SignalFrame frame) {
        int length = frame.codeLength();
        if (!text.contains(pc, length)) {
            return false;
        }
        boolean little = text.byteOrder() == ByteOrder.LITTLE_ENDIAN;
        for (int i = 0; i < length; i++) {
            long address = pc + i;
            // The word that holds the byte, kept inside the memory (which holds the code whole).
            long start = text.contains(address, 8) ? address : pc + length - 8;
            if (!text.contains(start, 8)) {
                return false;
            }
            long word = text.readLong(start);
            long at = address - start;
            long shift = little ? at * 8 : (7 - at) * 8;
            if ((byte) (word >>> shift) != frame.codeByte(i)) {
                return false;
            }
        }
        return true;
    }

    /** Applies the row's rules to the registers into next; false (with detail) if a register needed is unknown. */
    private boolean cfiStep(CfiTable table, int ra) throws ElfException {
        long cfa;
        if (row.cfaIsExpression()) {
            cfa = expression.evaluate(table, row.cfaExpressionOffset(), row.cfaExpressionLength(), 0, false,
                    registerReader, memoryReader);
        } else {
            int r = row.cfaRegister();
            if (r < 0 || r >= registers.length || !known[r]) {
                detail("the CFA's register %d is not known", r, 0, 0);
                return false;
            }
            cfa = registers[r] + row.cfaOffset();
        }
        for (int r = 0; r < registers.length; r++) {
            long value = 0;
            boolean has = true;
            switch (row.rule(r)) {
                case UNSPECIFIED -> {
                    if (r == sp) {
                        value = cfa - cfaAboveSp;
                    } else if (conventions.isCalleeSaved(r) || r == ra) {
                        value = registers[r];
                        has = known[r];
                    } else {
                        has = false;
                    }
                }
                case UNDEFINED -> has = false;
                case SAME_VALUE -> {
                    value = registers[r];
                    has = known[r];
                }
                case OFFSET -> value = memory.readLong(cfa, row.operand(r));
                case VAL_OFFSET -> value = cfa + row.operand(r);
                case REGISTER -> {
                    long from = row.operand(r);
                    has = from >= 0 && from < registers.length && known[(int) from];
                    value = has ? registers[(int) from] : 0;
                }
                case EXPRESSION -> value = memory.readLong(expression.evaluate(table, row.operand(r),
                        row.expressionLength(r), cfa, true, registerReader, memoryReader));
                case VAL_EXPRESSION -> value = expression.evaluate(table, row.operand(r), row.expressionLength(r), cfa,
                        true, registerReader, memoryReader);
            }
            next[r] = value;
            nextKnown[r] = has;
        }
        if (!nextKnown[ra]) {
            detail("the return address (register %d) is not known", ra, 0, 0);
            return false;
        }
        return true;
    }

    private long register(int r) throws ElfException {
        if (r < 0 || r >= registers.length || !known[r]) {
            unknownRegister = true;
            throw new ElfException("register " + r + " is not known");
        }
        return registers[r];
    }

    private long read(long address, int size) {
        if (size == 8) {
            return memory.readLong(address);
        }
        // The word that holds the bytes, aligned so that it stays inside the memory where it can.
        boolean little = memory.byteOrder() == ByteOrder.LITTLE_ENDIAN;
        long start = memory.contains(address, 8) ? address : address + size - 8;
        long word = memory.readLong(start);
        long shift = little ? (address - start) * 8 : (8 - size - (address - start)) * 8;
        long mask = size == 4 ? 0xffff_ffffL : size == 2 ? 0xffffL : 0xffL;
        return (word >>> shift) & mask;
    }

    /**
     * The module's table, loaded on first use: .eh_frame, else .debug_frame of the file or its
     * debug file. It reads the files the module keeps open ({@link Module#elf()},
     * {@link Module#debugElf()}); only a module made without them has its files mapped here, into
     * the walker's arena. A module of another build than the process's has no table.
     */
    private CfiTable table(Module module) {
        Object cached = tables.get(module);
        if (cached == null) {
            cached = NO_TABLE;
            ElfFile[] files = {module.elf(), module.debugElf()};
            Path[] paths = {module.file(), module.debugFile()};
            for (int i = 0; i < files.length && cached == NO_TABLE; i++) {
                try {
                    ElfFile file = files[i];
                    if (file == null && module.elf() == null && paths[i] != null
                            && module.symbolState() != Module.Symbols.MISMATCH) {
                        file = ElfFile.open(paths[i], arena);
                    }
                    CfiTable table = file == null ? null : i == 0 ? CfiTable.ehFrame(file) : null;
                    if (file != null && table == null) {
                        table = CfiTable.debugFrame(file);
                    }
                    if (table != null) {
                        cached = table;
                    }
                } catch (ElfException e) {
                    // try the next file; a module without a readable table falls back to frame pointers
                }
            }
            tables.put(module, cached);
        }
        return cached == NO_TABLE ? null : (CfiTable) cached;
    }
}
