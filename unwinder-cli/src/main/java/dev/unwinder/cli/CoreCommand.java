package dev.unwinder.cli;

import dev.unwinder.elf.ElfException;
import dev.unwinder.elf.ElfFile;
import dev.unwinder.elf.CoreFile;
import dev.unwinder.elf.SymbolTable;
import dev.unwinder.elf.Machine;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.api.UnwindException;
import dev.unwinder.core.Unwinders;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code unwinder core CORE [--exe ELF]... [--format text|json]}: walks every thread of a core file. */
@Command(
        name = "core",
        description = "Walks the frame-pointer chain of every thread of a Linux ELF core file (64-bit, either byte"
                + " order) in the lenient mode, within the PT_LOAD segment that holds the thread's sp.")
final class CoreCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "CORE", description = "The core file.")
    Path core;

    @Mixin
    WalkOptions options = new WalkOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws BadInputException, ElfException {
        options.check();
        try (Arena arena = Arena.ofConfined()) {
            ElfFile coreElf = ElfFile.open(core, arena);
            List<ElfFile> exes = new ArrayList<>();
            for (Path path : options.executables) {
                exes.add(ElfFile.open(path, arena));
            }
            options.format.print(backtraces(coreElf, exes, options.maxFrames), spec.commandLine().getOut());
        }
        return Cli.OK;
    }

    /**
     * Walks every thread of a core.
     *
     * @param coreElf the core file
     * @param exes the executables whose symbols name the pcs
     * @param maxFrames the most frames per thread
     * @return one backtrace per thread, in the order of the core's notes
     * @throws BadInputException if the core or an executable is malformed or does not fit the other
     */
    static List<Backtrace> backtraces(ElfFile coreElf, List<ElfFile> exes, int maxFrames) throws BadInputException, ElfException {
        CoreFile coreFile = CoreFile.read(coreElf);
        Unwind unwind = plugin(coreFile.machine().arch, coreElf.name());
        Symbolizer symbolizer = new Symbolizer(symbolTables(coreFile, exes));
        List<Backtrace> backtraces = new ArrayList<>();
        for (CoreFile.CoreThread thread : coreFile.threads()) {
            backtraces.add(walk(coreFile, thread, unwind, symbolizer, maxFrames));
        }
        return backtraces;
    }

    private static Backtrace walk(CoreFile coreFile, CoreFile.CoreThread thread, Unwind unwind, Symbolizer symbolizer,
                                  int maxFrames) throws BadInputException, ElfException {
        Machine machine = coreFile.machine();
        String who = "thread " + thread.tid();
        long sp = thread.register(unwind.stackPointerRegister());
        StackMemory stack = coreFile.memoryHolding(sp, who + ": sp");
        coreFile.requireMapped(thread.pc(), who + ": pc");
        long fp;
        try {
            fp = unwind.startFp(thread.registers(), stack);
        } catch (UnwindException e) {
            throw coreFile.elf().bad(who + ": the first fp cannot be read: " + e.getMessage());
        }
        if (fp != 0) {
            coreFile.requireMapped(fp, who + ": fp");
        }
        StringBuilder header = new StringBuilder(String.format("Thread %d (%s): pc 0x%x, sp 0x%x", thread.tid(),
                unwind.name(), thread.pc(), sp));
        if (unwind.linkRegister().isPresent()) {
            int lr = unwind.linkRegister().getAsInt();
            long value = thread.register(lr);
            // A return address, named as the frames above the first are.
            SymbolTable.Symbol symbol = symbolizer.symbolize(1, value);
            header.append(String.format(", %s 0x%x", machine.registerName(lr), value));
            if (symbol != null) {
                header.append(" (").append(symbol.name()).append('+').append(symbol.offset()).append(')');
            }
        }
        header.append(String.format(", fp 0x%x; stack segment [0x%x, 0x%x)", fp, stack.baseAddress(),
                stack.baseAddress() + stack.size()));
        Backtrace backtrace = Backtrace.lenient(OptionalInt.of(thread.tid()), header.toString(), unwind, stack, thread.pc(),
                fp, maxFrames, symbolizer);
        String hint = leafHint(backtrace, thread, machine, unwind, symbolizer);
        return hint == null ? backtrace : backtrace.withNote(hint);
    }

    /**
     * A note when the innermost function looks like a leaf that set up no frame: the link register
     * then holds the return address into a caller that a frame-pointer walk cannot see. Only said
     * when the executable names both: the link register points into another function than the
     * pc's, and it is not the next frame's pc.
     */
    private static String leafHint(Backtrace backtrace, CoreFile.CoreThread thread, Machine machine, Unwind unwind,
                                   Symbolizer symbolizer) {
        if (unwind.linkRegister().isEmpty() || backtrace.frames().isEmpty()) {
            return null;
        }
        long lr = thread.register(unwind.linkRegister().getAsInt());
        SymbolTable.Symbol caller = symbolizer.symbolize(1, lr);
        SymbolTable.Symbol innermost = backtrace.frames().getFirst().symbol();
        if (lr == 0 || caller == null || innermost == null || caller.name().equals(innermost.name())) {
            return null;
        }
        if (backtrace.frames().size() > 1 && backtrace.frames().get(1).pc() == lr) {
            return null;
        }
        return String.format("Note: if %s is a leaf function that saved no return address, its caller is %s+%d"
                        + " at 0x%x, from the link register %s; the frame-pointer chain skips that frame",
                innermost.name(), caller.name(), caller.offset(), lr,
                machine.registerName(unwind.linkRegister().getAsInt()));
    }

    private static List<SymbolTable> symbolTables(CoreFile coreFile, List<ElfFile> exes) throws BadInputException, ElfException {
        List<SymbolTable> tables = new ArrayList<>();
        for (ElfFile exe : exes) {
            if (exe.type() != ElfFile.ET_EXEC && exe.type() != ElfFile.ET_DYN) {
                throw exe.bad("not an executable: its e_type is " + ElfFile.typeName(exe.type())
                        + " (expected: ET_EXEC or ET_DYN)");
            }
            if (exe.machine() != coreFile.elf().machine()) {
                throw exe.bad("an executable for e_machine " + exe.machine() + ", but the core " + coreFile.elf().name()
                        + " is for " + coreFile.elf().machine() + " (" + coreFile.machine().arch + ")");
            }
            long bias = exe.type() == ElfFile.ET_DYN && coreFile.entryPoint().isPresent()
                    ? coreFile.entryPoint().getAsLong() - exe.entry()
                    : 0;
            tables.add(SymbolTable.read(exe, bias));
        }
        return tables;
    }

    /** The plugin for an architecture, or a bad-input error naming the file that asked for it. */
    static Unwind plugin(String arch, String file) throws BadInputException, ElfException {
        try {
            return Unwinders.forArch(arch);
        } catch (IllegalArgumentException e) {
            throw new BadInputException(file + ": " + e.getMessage(), e);
        }
    }
}
