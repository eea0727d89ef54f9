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

/**
 * {@code unwinder walk --arch NAME --memory FILE --base ADDR --pc ADDR --fp ADDR [--sp ADDR [--reg N=ADDR]...]
 * [--entry-fp FP] [--fp-only]}: walks a raw stack capture.
 *
 * <p>Which walk: the call-frame information walk when it can apply, that is when {@code --sp} is
 * given (its rules start from the stack pointer), there is no {@code --entry-fp} (a strict walk
 * follows the frame-pointer chain) and an {@code --exe} file has {@code .eh_frame} or
 * {@code .debug_frame}; otherwise the frame-pointer walk, exactly as without call-frame
 * information; {@code --fp-only} forces it.
 */
@Command(
        name = "walk",
        description = "Walks a raw stack capture: a file of stack bytes, lowest address first, that were at --base."
                + " With --sp and an --exe file that has call-frame information (.eh_frame, .debug_frame), the walk"
                + " uses it, and the frame-pointer rule where it covers no pc; each frame says how it was found"
                + " (context, cfi, fp). Otherwise, or with --fp-only, the frame-pointer chain: strict mode up to the"
                + " entry fp with --entry-fp, lenient mode without it.")
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

    @Option(names = "--sp", paramLabel = "ADDR", converter = AddressConverter.class,
            description = "The sp of the innermost frame: walk with the call-frame information of the --exe files where"
                    + " they have some.")
    Long sp;

    @Option(names = "--reg", paramLabel = "N=ADDR",
            description = "Another register of the innermost frame, by its DWARF number, for the call-frame information"
                    + " walk: the link register of a leaf (30=0x... on aarch64, 14=0x... on s390x), s390x's frame"
                    + " register r11 (11=0x...; --fp is its backchain, no register), or any other; repeat for more."
                    + " --fp is rbp, x29 or s0; registers not given read as 0.")
    List<String> registerValues = new ArrayList<>();

    @Option(names = "--entry-fp", paramLabel = "FP", converter = AddressConverter.class,
            description = "The entry fp: walk the frame-pointer chain in the strict mode up to it, and fail at any broken"
                    + " invariant. Not with --sp or --reg.")
    Long entryFp;

    @Mixin
    WalkOptions options = new WalkOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws BadInputException, ElfException {
        options.check();
        if (entryFp != null && (sp != null || !registerValues.isEmpty())) {
            throw new BadInputException("--entry-fp: a strict walk follows the frame-pointer chain only, so it takes no"
                    + " --sp or --reg (leave out --entry-fp for the call-frame information walk)");
        }
        if (sp == null && !registerValues.isEmpty()) {
            throw new BadInputException("--reg: registers are for the call-frame information walk, which needs --sp");
        }
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
            Symbolizer symbolizer = new Symbolizer(modules(unwind, arena));
            boolean cfi = sp != null && !options.fpOnly && Backtrace.hasCallFrameInformation(symbolizer.modules());
            if (cfi) {
                Machine machine = machine(unwind);
                long[] registers = registers(unwind, machine);
                String header = String.format("Capture %s (%s): pc 0x%x, sp 0x%x, fp 0x%x; memory [0x%x, 0x%x)",
                        memoryFile, unwind.name(), pc, sp, fp, memory.baseAddress(), memory.baseAddress() + memory.size());
                Backtrace backtrace = Backtrace.cfi(OptionalInt.empty(), header, unwind.name(),
                        Backtrace.cfiWalker(unwind, symbolizer.modules(), arena), memory, null, pc, registers,
                        options.maxFrames, symbolizer);
                options.format.print(new OutputFormat.Report(List.of(backtrace), symbolizer.modules().modules(), List.of()),
                        spec.commandLine().getOut());
                return Cli.OK;
            }
            if (fp != 0) {
                requireLinksInside(unwind, memory);
            }
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

    /** The ELF machine of a plugin: the one whose name the plugin's starts with (riscv64-cranelift is riscv64). */
    private static Machine machine(Unwind unwind) throws BadInputException {
        for (Machine machine : Machine.values()) {
            if (unwind.name().startsWith(machine.arch)) {
                return machine;
            }
        }
        throw new BadInputException("--arch " + unwind.name() + ": no ELF machine for its call-frame information");
    }

    /**
     * The innermost frame's registers by DWARF number: the sp, the fp in the frame-pointer register
     * (rbp, x29, s0; s390x's fp is the backchain word, no register), and each --reg; the rest 0.
     */
    private long[] registers(Unwind unwind, Machine machine) throws BadInputException {
        int fpRegister = switch (machine.arch) {
            case "x86_64" -> 6;
            case "aarch64" -> 29;
            case "riscv64" -> 8;
            default -> -1;
        };
        java.util.Map<Integer, Long> values = new java.util.TreeMap<>();
        if (fpRegister >= 0) {
            values.put(fpRegister, fp);
        }
        for (String given : registerValues) {
            int equals = given.indexOf('=');
            int number;
            try {
                number = equals < 0 ? -1 : Integer.parseInt(given.substring(0, equals).strip());
            } catch (NumberFormatException e) {
                number = -1;
            }
            if (number < 0 || number > 127) {
                throw new BadInputException("--reg " + given + ": not a register (expected: N=ADDR, N a DWARF register"
                        + " number from 0 to 127)");
            }
            try {
                values.put(number, new AddressConverter().convert(given.substring(equals + 1)));
            } catch (picocli.CommandLine.TypeConversionException e) {
                throw new BadInputException("--reg " + given + ": " + e.getMessage(), e);
            }
        }
        values.put(unwind.stackPointerRegister(), sp);
        long[] registers = new long[values.keySet().stream().mapToInt(Integer::intValue).max().orElse(0) + 1];
        values.forEach((number, value) -> registers[number] = value);
        return registers;
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
