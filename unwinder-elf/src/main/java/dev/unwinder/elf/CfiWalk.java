package dev.unwinder.elf;

import dev.unwinder.api.StackMemory;
import dev.unwinder.api.UnwindException;
import java.lang.foreign.Arena;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Map;

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
 * is the outermost frame ({@code _start}, {@code clone3}).
 *
 * <p>Memory is read only through the {@link StackMemory} given (the thread's stack): a rule that
 * points outside it ends the walk. The walk is bounded: at most {@code maxFrames} frames, each
 * caller's sp above its callee's, or equal to it for one step at a time where the pc changes (a
 * function without a frame), so no loop; and no exception escapes it but for a visitor's own.
 *
 * <p>Allocation: a module's table is opened (its file mapped into the arena given) and kept on the
 * first frame in that module; after that, a frame allocates nothing. Not safe to share between
 * threads; keep one per walking thread.
 */
public final class CfiWalk {
    /** How a frame was found. */
    public enum How {
        /** The first frame: the thread's registers. */
        CONTEXT,
        /** From its callee's frame with call-frame information. */
        CFI,
        /** From its callee's frame with the frame-pointer rule. */
        FP
    }

    /** Why a walk ended. */
    public enum End {
        /** The outermost frame: its return address is undefined, or the caller's pc is 0. */
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

    private final CfiArch arch;
    private final ModuleMap modules;
    private final Arena arena;
    private final Map<Module, Object> tables = new IdentityHashMap<>();
    private final CfiRow row;
    private final CfiExpression expression = new CfiExpression();
    private final long[] registers;
    private final boolean[] known;
    private final long[] next;
    private final boolean[] nextKnown;
    private final CfiExpression.Registers registerReader;
    private final CfiExpression.Memory memoryReader;
    private StackMemory memory;
    private String detail = "";

    /**
     * Creates a walker.
     *
     * @param machine the architecture of the threads it walks
     * @param modules the modules whose files give CFI
     * @param arena the arena the modules' files are mapped into, which must outlive the walker
     */
    public CfiWalk(Machine machine, ModuleMap modules, Arena arena) {
        this.arch = CfiArch.of(machine);
        this.modules = modules;
        this.arena = arena;
        row = new CfiRow(arch.registerCount);
        registers = new long[arch.registerCount];
        known = new boolean[arch.registerCount];
        next = new long[arch.registerCount];
        nextKnown = new boolean[arch.registerCount];
        registerReader = this::register;
        memoryReader = this::read;
    }

    /**
     * What the last walk's end was about, such as the address outside the memory.
     *
     * @return a message, empty if the walk ended at the outermost frame or as asked
     */
    public String endDetail() {
        return detail;
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
     * Walks a thread's stack.
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
        if (maxFrames < 1) {
            throw new IllegalArgumentException("maxFrames: " + maxFrames + " (expected: at least 1)");
        }
        memory = stack;
        detail = "";
        Arrays.fill(known, false);
        int n = Math.min(dwarfRegisters.length, registers.length);
        System.arraycopy(dwarfRegisters, 0, registers, 0, n);
        Arrays.fill(known, 0, n, true);
        if (arch == CfiArch.RISCV64) {
            registers[0] = 0; // x0 is zero
        }
        long sp = registers[arch.sp];
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
            long lookup = exact ? pc : pc - 1;
            long callerPc;
            try {
                Module module = modules.find(lookup);
                CfiTable table = module == null ? null : table(module);
                CfiFde fde = table == null ? null : table.find(lookup - module.bias());
                if (fde != null) {
                    table.row(fde, lookup - module.bias(), row);
                    int ra = fde.cie().returnAddressRegister();
                    if (ra < 0 || ra >= arch.registerCount) {
                        detail = String.format("return-address column %d at pc 0x%x", ra, pc);
                        return End.BAD_CFI;
                    }
                    if (row.rule(ra) == CfiRule.UNDEFINED) {
                        return End.OUTERMOST;
                    }
                    if (!cfiStep(table, ra)) {
                        return End.OUTSIDE_MEMORY;
                    }
                    callerPc = arch.decodeReturnAddress(next[ra]);
                    exact = fde.cie().signalFrame();
                    how = How.CFI;
                } else if (arch.fp >= 0 && known[arch.fp]) {
                    long fp = registers[arch.fp];
                    long callerFp = memory.readLong(fp, arch.callerFpAt);
                    callerPc = arch.decodeReturnAddress(memory.readLong(fp, arch.returnAddressAt));
                    Arrays.fill(nextKnown, false);
                    next[arch.fp] = callerFp;
                    nextKnown[arch.fp] = true;
                    next[arch.sp] = fp + arch.spFromFp;
                    nextKnown[arch.sp] = true;
                    exact = false;
                    how = How.FP;
                } else {
                    detail = String.format("no call-frame information for pc 0x%x%s", pc,
                            arch.fp < 0 ? "" : " and no frame pointer");
                    return End.NO_UNWIND_INFO;
                }
            } catch (ElfException e) {
                detail = e.getMessage();
                return End.BAD_CFI;
            } catch (UnwindException e) {
                detail = e.getMessage();
                return End.OUTSIDE_MEMORY;
            }
            if (callerPc == 0) {
                return End.OUTERMOST;
            }
            long callerSp = next[arch.sp];
            int order = Long.compareUnsigned(callerSp, sp);
            // A function without a frame (a leaf on aarch64, riscv64, s390x) leaves its caller's sp
            // as it is: one step that keeps sp is allowed, if the pc changes, but not two in a row.
            if (!nextKnown[arch.sp] || order < 0 || order == 0 && (!grew || callerPc == pc)) {
                detail = String.format("caller's sp 0x%x is not above sp 0x%x at pc 0x%x", callerSp, sp, pc);
                return End.CFA_NOT_GROWING;
            }
            grew = order > 0;
            System.arraycopy(next, 0, registers, 0, registers.length);
            System.arraycopy(nextKnown, 0, known, 0, known.length);
            pc = callerPc;
            sp = callerSp;
        }
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
                detail = String.format("the CFA's register %d is not known", r);
                return false;
            }
            cfa = registers[r] + row.cfaOffset();
        }
        for (int r = 0; r < registers.length; r++) {
            long value = 0;
            boolean has = true;
            switch (row.rule(r)) {
                case UNSPECIFIED -> {
                    if (r == arch.sp) {
                        value = cfa - arch.cfaAboveSp;
                    } else if (arch.calleeSaved(r) || r == ra) {
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
            detail = String.format("the return address (register %d) is not known", ra);
            return false;
        }
        return true;
    }

    private long register(int r) throws ElfException {
        if (r < 0 || r >= registers.length || !known[r]) {
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
