package dev.unwinder.cli;

import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.api.UnwindException;
import dev.unwinder.core.Unwinders;
import dev.unwinder.elf.CfiWalk;
import dev.unwinder.elf.CoreFile;
import dev.unwinder.elf.CoreModules;
import dev.unwinder.elf.ElfException;
import dev.unwinder.elf.ElfFile;
import dev.unwinder.elf.Machine;
import dev.unwinder.elf.Module;
import dev.unwinder.elf.ModuleMap;
import dev.unwinder.elf.SymbolFiles;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code unwinder core CORE [--exe ELF]... [--sysroot DIR] [--format text|json] [--fp-only]}: walks every thread of a core file. */
@Command(
        name = "core",
        description = "Walks every thread of a Linux ELF core file (64-bit, either byte order) within the PT_LOAD"
                + " segment that holds the thread's sp, and names each frame's function and file from the modules of"
                + " the process: the files of the core's NT_FILE note, or the dynamic loader's list in its memory, and"
                + " the vDSO. Each thread is walked from its registers with the modules' call-frame information"
                + " (.eh_frame, .debug_frame), and the frame-pointer rule where none covers a pc; each frame says how"
                + " it was found (context, cfi, fp). With --fp-only, or where no module has call-frame information,"
                + " the frame-pointer chain alone, in the lenient mode.")
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
            options.format.print(report(coreElf, options.symbolFiles(arena), options.perfMaps(), options.maxFrames,
                    options.fpOnly, arena), spec.commandLine().getOut());
        }
        return Cli.OK;
    }

    /**
     * Walks every thread of a core and names its frames.
     *
     * @param coreElf the core file
     * @param files where the process's files are, and how to read their symbols
     * @param perfMaps the modules of perf map files, for JIT code
     * @param maxFrames the most frames per thread
     * @param fpOnly whether to walk the frame-pointer chain only, not the call-frame information
     * @param arena where the call-frame information walk maps files that no module keeps open
     * @return one backtrace per thread, in the order of the core's notes, and the modules
     * @throws BadInputException if the core's plugin is missing
     * @throws ElfException if the core is malformed
     */
    static OutputFormat.Report report(ElfFile coreElf, SymbolFiles files, List<Module> perfMaps, int maxFrames,
                                      boolean fpOnly, Arena arena) throws BadInputException, ElfException {
        CoreFile coreFile = CoreFile.read(coreElf);
        Unwind unwind = plugin(coreFile.machine().arch, coreElf.name());
        for (Path path : files.givenFiles()) {
            requireFileOf(coreFile, path);
        }
        CoreModules modules = CoreModules.find(coreFile, files);
        List<Module> all = new ArrayList<>(modules.modules().modules());
        all.addAll(perfMaps);
        ModuleMap map = ModuleMap.of(all);
        Symbolizer symbolizer = new Symbolizer(map);
        List<Backtrace> backtraces = new ArrayList<>();
        CfiWalk walker = fpOnly || !Backtrace.hasCallFrameInformation(map) ? null
                : Backtrace.cfiWalker(unwind, map, arena);
        for (CoreFile.CoreThread thread : coreFile.threads()) {
            backtraces.add(walk(coreFile, thread, unwind, walker, symbolizer, maxFrames));
        }
        return new OutputFormat.Report(backtraces, map.modules(), modules.problems());
    }

    /** One thread: with the call-frame information walker, or the frame-pointer chain where walker is null. */
    private static Backtrace walk(CoreFile coreFile, CoreFile.CoreThread thread, Unwind unwind, CfiWalk walker,
                                  Symbolizer symbolizer, int maxFrames) {
        Machine machine = coreFile.machine();
        long sp = thread.register(unwind.stackPointerRegister());
        StringBuilder header = new StringBuilder(String.format("Thread %d (%s): pc 0x%x, sp 0x%x", thread.tid(),
                unwind.name(), thread.pc(), sp));
        if (unwind.linkRegister().isPresent()) {
            int lr = unwind.linkRegister().getAsInt();
            long value = thread.register(lr);
            // A return address, named as the frames above the first are.
            Symbolizer.Location where = symbolizer.locate(1, value);
            header.append(String.format(", %s 0x%x", machine.registerName(lr), value));
            if (where.symbol() != null) {
                header.append(" (").append(where.symbol()).append('+').append(where.symbolOffset()).append(')');
            }
        }
        StackMemory stack = coreFile.segmentMemory(sp);
        if (stack == null) {
            String why = coreFile.isMapped(sp)
                    ? String.format("sp 0x%x is in a segment whose bytes the core does not hold", sp)
                    : String.format("sp 0x%x is outside every PT_LOAD segment of the core", sp);
            header.append("; no stack: ").append(why);
            return firstFrameOnly(thread, unwind, header.toString(), 0, why, symbolizer, maxFrames, walker != null);
        }
        if (walker != null) {
            header.append(String.format("; stack segment [0x%x, 0x%x)", stack.baseAddress(),
                    stack.baseAddress() + stack.size()));
            return Backtrace.cfi(OptionalInt.of(thread.tid()), header.toString(), unwind.name(), walker, stack,
                    coreFile::segmentMemory, thread.pc(), thread.dwarfRegisters(), maxFrames, symbolizer);
        }
        long fp;
        try {
            fp = unwind.startFp(thread.registers(), stack);
        } catch (UnwindException e) {
            String why = "the first fp cannot be read: " + e.getMessage();
            return firstFrameOnly(thread, unwind, header + "; " + why, 0, why, symbolizer, maxFrames, false);
        }
        header.append(String.format(", fp 0x%x; stack segment [0x%x, 0x%x)", fp, stack.baseAddress(),
                stack.baseAddress() + stack.size()));
        Backtrace backtrace = Backtrace.lenient(OptionalInt.of(thread.tid()), header.toString(), unwind, stack, thread.pc(),
                fp, maxFrames, symbolizer);
        String hint = leafHint(backtrace, thread, machine, unwind, symbolizer);
        return hint == null ? backtrace : backtrace.withNote(hint);
    }

    /** A file given with --exe must be an executable or shared object of the core's machine. */
    private static void requireFileOf(CoreFile coreFile, Path path) throws ElfException {
        try (Arena arena = Arena.ofConfined()) {
            ElfFile exe = ElfFile.open(path, arena);
            if (exe.type() != ElfFile.ET_EXEC && exe.type() != ElfFile.ET_DYN) {
                throw exe.bad("not an executable: its e_type is " + ElfFile.typeName(exe.type())
                        + " (expected: ET_EXEC or ET_DYN)");
            }
            if (exe.machine() != coreFile.elf().machine()) {
                throw exe.bad("an executable for e_machine " + exe.machine() + ", but the core " + coreFile.elf().name()
                        + " is for " + coreFile.elf().machine() + " (" + coreFile.machine().arch + ")");
            }
        }
    }

    /** A thread whose stack cannot be walked: the frame its pc gives, and why the walk ends there. */
    private static Backtrace firstFrameOnly(CoreFile.CoreThread thread, Unwind unwind, String header, long fp, String why,
                                            Symbolizer symbolizer, int maxFrames, boolean cfi) {
        long sp = thread.register(unwind.stackPointerRegister());
        List<Backtrace.FrameLine> frames = thread.pc() == 0 || maxFrames == 0 ? List.of()
                : List.of(new Backtrace.FrameLine(0, thread.pc(), cfi ? 0 : fp, cfi ? sp : 0, Backtrace.CONTEXT,
                        symbolizer.locate(0, thread.pc())));
        return new Backtrace(OptionalInt.of(thread.tid()), unwind.name(), header, frames, "outside-memory", why, false, null,
                cfi);
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
        Symbolizer.Location caller = symbolizer.locate(1, lr);
        Symbolizer.Location innermost = backtrace.frames().getFirst().where();
        if (lr == 0 || caller.symbol() == null || innermost.symbol() == null || caller.symbol().equals(innermost.symbol())) {
            return null;
        }
        if (backtrace.frames().size() > 1 && backtrace.frames().get(1).pc() == lr) {
            return null;
        }
        return String.format("Note: if %s is a leaf function that saved no return address, its caller is %s+%d"
                        + " at 0x%x, from the link register %s; the frame-pointer chain skips that frame",
                innermost.symbol(), caller.symbol(), caller.symbolOffset(), lr,
                machine.registerName(unwind.linkRegister().getAsInt()));
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
