package dev.unwinder.cli;

import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.api.UnwindException;
import dev.unwinder.core.Unwinders;
import dev.unwinder.elf.ElfException;
import dev.unwinder.elf.ElfFile;
import dev.unwinder.elf.Machine;
import dev.unwinder.elf.Module;
import dev.unwinder.elf.ModuleMap;
import dev.unwinder.elf.SymbolFiles;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code unwinder walk --arch NAME --memory FILE --base ADDR --pc ADDR --fp ADDR [--entry-fp FP]}: walks a raw stack capture. */
@Command(
        name = "walk",
        description = "Walks a raw stack capture: a file of stack bytes, lowest address first, that were at --base."
                + " Strict mode up to the entry fp with --entry-fp, lenient mode otherwise.")
final class WalkCommand implements Callable<Integer> {

    @Option(names = "--arch", required = true, paramLabel = "NAME",
            description = "The frame layout: a plugin name or alias, as 'unwinder arches' lists them.")
    String arch;

    @Option(names = "--memory", required = true, paramLabel = "FILE", description = "The captured stack bytes.")
    Path memoryFile;

    @Option(names = "--base", required = true, paramLabel = "ADDR", converter = AddressConverter.class,
            description = "The address of the file's first byte.")
    long base;

    @Option(names = "--pc", required = true, paramLabel = "ADDR", converter = AddressConverter.class,
            description = "The pc of the innermost frame.")
    long pc;

    @Option(names = "--fp", required = true, paramLabel = "ADDR", converter = AddressConverter.class,
            description = "The fp of the innermost frame.")
    long fp;

    @Option(names = "--entry-fp", paramLabel = "FP", converter = AddressConverter.class,
            description = "The entry fp: walk in the strict mode up to it, and fail at any broken invariant.")
    Long entryFp;

    @Mixin
    WalkOptions options = new WalkOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws BadInputException, ElfException {
        options.check();
        Unwind unwind;
        try {
            unwind = Unwinders.forArch(arch);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--arch: " + e.getMessage(), e);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bytes = ElfFile.map(memoryFile, arena);
            if (bytes.byteSize() < 8) {
                throw new BadInputException(memoryFile + ": " + bytes.byteSize()
                        + " bytes (expected: a stack capture of at least one 8-byte word)");
            }
            StackMemory memory;
            try {
                memory = StackMemory.ofSegment(bytes, base, unwind.byteOrder());
            } catch (IllegalArgumentException e) {
                throw new BadInputException(String.format("--base 0x%x: the %d bytes of %s would run past the top of"
                        + " the address space", base, bytes.byteSize(), memoryFile), e);
            }
            if (fp != 0) {
                requireLinksInside(unwind, memory);
            }
            Symbolizer symbolizer = new Symbolizer(modules(unwind, arena));
            String header = String.format("Capture %s (%s): pc 0x%x, fp 0x%x; memory [0x%x, 0x%x)%s", memoryFile,
                    unwind.name(), pc, fp, memory.baseAddress(), memory.baseAddress() + memory.size(),
                    entryFp == null ? "" : String.format("; entry fp 0x%x", entryFp));
            Backtrace backtrace = entryFp == null
                    ? Backtrace.lenient(OptionalInt.empty(), header, unwind, memory, pc, fp, options.maxFrames, symbolizer)
                    : Backtrace.strict(header, unwind, memory, pc, fp, entryFp, symbolizer);
            options.format.print(new OutputFormat.Report(List.of(backtrace), symbolizer.modules().modules(), List.of()),
                    spec.commandLine().getOut());
            return backtrace.failed() ? Cli.WALK_FAILED : Cli.OK;
        }
    }

    /** A first fp whose link words are not in the capture is a wrong --fp or --base, not a walk's end. */
    private void requireLinksInside(Unwind unwind, StackMemory memory) throws BadInputException, ElfException {
        try {
            memory.readLong(fp, unwind.nextOlderFpFromFpOffset());
            memory.readLong(fp, unwind.nextOlderPcFromFpOffset());
        } catch (UnwindException e) {
            throw new BadInputException(String.format("--fp 0x%x: the %s frame's links (fp%+d, fp%+d) are outside the"
                            + " memory [0x%x, 0x%x) of %s", fp, unwind.name(), unwind.nextOlderFpFromFpOffset(),
                    unwind.nextOlderPcFromFpOffset(), memory.baseAddress(), memory.baseAddress() + memory.size(),
                    memoryFile), e);
        }
    }

    /** The --exe files as modules at their link-time addresses: a capture says nothing of where they were loaded. */
    private ModuleMap modules(Unwind unwind, Arena arena) throws ElfException {
        SymbolFiles files = options.symbolFiles(arena);
        List<Module> modules = new ArrayList<>();
        for (Path path : options.executables) {
            ElfFile exe = ElfFile.open(path, arena);
            if (exe.type() != ElfFile.ET_EXEC && exe.type() != ElfFile.ET_DYN) {
                throw exe.bad("not an executable: its e_type is " + ElfFile.typeName(exe.type())
                        + " (expected: ET_EXEC or ET_DYN)");
            }
            Machine machine = Machine.of(exe.machine());
            if (machine == null || !unwind.name().startsWith(machine.arch)) {
                throw exe.bad("an executable for e_machine " + exe.machine() + ", not for --arch " + unwind.name());
            }
            long low = -1;
            long high = 0;
            for (ElfFile.ProgramHeader header : exe.programHeaders()) {
                if (header.type() == ElfFile.PT_LOAD) {
                    low = low == -1 || Long.compareUnsigned(header.vaddr(), low) < 0 ? header.vaddr() : low;
                    long end = header.vaddr() + header.memorySize();
                    high = Long.compareUnsigned(end, high) > 0 ? end : high;
                }
            }
            if (low == -1) {
                throw exe.bad("has no PT_LOAD segment, so no code to name");
            }
            Module module = files.load(path.toString(), exe, path, low, high, SymbolFiles.Placement.bias(0), null);
            if (module.symbols().size() == 0) {
                throw exe.bad("has no function symbols (.symtab or .dynsym) to name functions with");
            }
            modules.add(module);
        }
        modules.addAll(options.perfMaps());
        return ModuleMap.of(modules);
    }
}
