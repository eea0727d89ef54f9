package dev.unwinder.elf;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.HexFormat;

/**
 * One file mapped into a process: the executable, a shared library, the vDSO, or a file of JIT
 * symbols. It spans {@code [base, end)} of the process's addresses; a symbol's run-time address
 * is its link-time value plus {@link #bias()}.
 *
 * <p>Immutable; its {@link #symbols()} are ready to use. A module read from an ELF file keeps that
 * file open ({@link #elf()}, and {@link #debugElf()} for its separate debug file), so that whoever
 * needs more of the file, such as {@link CfiWalk} its call-frame information, reads the same
 * mapping instead of mapping the file again. Those mappings live in the {@link java.lang.foreign.Arena}
 * the module was read into ({@link SymbolFiles#of}): once it is closed, they must not be read.
 */
public final class Module {
    /** Whether a module's symbols could be used. */
    public enum Symbols {
        /** The file was found and its symbols are in {@link #symbols()} (there may be none). */
        LOADED,
        /** The file was not found on this machine, or could not be read: no symbols. */
        MISSING,
        /** The file found has another build-id than the one the process had loaded: its symbols are not used. */
        MISMATCH
    }

    private final String path;
    private final long base;
    private final long end;
    private final long bias;
    private final byte[] buildId;
    private final Path file;
    private final Path debugFile;
    private final Symbols state;
    private final String problem;
    private final SymbolLookup symbols;
    private final ElfFile elf;
    private final ElfFile debugElf;

    /**
     * Creates a module without open files: {@link #elf()} and {@link #debugElf()} are null.
     *
     * @param path the file's path as the process named it, such as {@code "/lib/x86_64-linux-gnu/libc.so.6"}
     *     or {@code "[vdso]"}
     * @param base the first address it spans
     * @param end the address after the last one it spans
     * @param bias what to add to its link-time addresses to get run-time addresses
     * @param buildId its build-id, or null if unknown
     * @param file where its file was found on this machine, or null
     * @param debugFile the separate debug file whose symbols were read, or null
     * @param state whether its symbols were used
     * @param problem why they were not, in words, or null
     * @param symbols its symbols, from its ELF file or a perf map; {@link SymbolTable#EMPTY} unless {@code state} is {@link Symbols#LOADED}
     */
    public Module(String path, long base, long end, long bias, byte[] buildId, Path file, Path debugFile, Symbols state,
                  String problem, SymbolLookup symbols) {
        this(path, base, end, bias, buildId, file, debugFile, state, problem, symbols, null, null);
    }

    /**
     * Creates a module with the ELF files it was read from, still open.
     *
     * @param path the file's path as the process named it, such as {@code "/lib/x86_64-linux-gnu/libc.so.6"}
     *     or {@code "[vdso]"}
     * @param base the first address it spans
     * @param end the address after the last one it spans
     * @param bias what to add to its link-time addresses to get run-time addresses
     * @param buildId its build-id, or null if unknown
     * @param file where its file was found on this machine, or null
     * @param debugFile the separate debug file whose symbols were read, or null
     * @param state whether its symbols were used
     * @param problem why they were not, in words, or null
     * @param symbols its symbols, from its ELF file or a perf map; {@link SymbolTable#EMPTY} unless {@code state} is {@link Symbols#LOADED}
     * @param elf its ELF file, open (the file at {@code file}, or a copy such as a core's vDSO), or
     *     null; only a file whose build-id matched the process's copy
     * @param debugElf its separate debug file, open ({@code debugFile}), or null
     */
    public Module(String path, long base, long end, long bias, byte[] buildId, Path file, Path debugFile, Symbols state,
                  String problem, SymbolLookup symbols, ElfFile elf, ElfFile debugElf) {
        this.path = requireNonNull(path, "path");
        this.base = base;
        this.end = end;
        this.bias = bias;
        this.buildId = buildId == null ? null : buildId.clone();
        this.file = file;
        this.debugFile = debugFile;
        this.state = requireNonNull(state, "state");
        this.problem = problem;
        this.symbols = requireNonNull(symbols, "symbols");
        this.elf = elf;
        this.debugElf = debugElf;
    }

    /**
     * The file's path, as the process named it.
     *
     * @return the path
     */
    public String path() {
        return path;
    }

    /**
     * The file's name: the last part of its path.
     *
     * @return the name, such as {@code "libc.so.6"}
     */
    public String name() {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? path : path.substring(slash + 1);
    }

    /**
     * The first address it spans.
     *
     * @return the base address
     */
    public long base() {
        return base;
    }

    /**
     * The address after the last one it spans.
     *
     * @return the end address
     */
    public long end() {
        return end;
    }

    /**
     * What to add to a link-time address of its file to get the run-time address.
     *
     * @return the load bias: 0 for an executable that is not position-independent
     */
    public long bias() {
        return bias;
    }

    /**
     * Whether it spans an address.
     *
     * @param address an unsigned address
     * @return whether {@code base <= address < end}
     */
    public boolean contains(long address) {
        return Long.compareUnsigned(address - base, end - base) < 0;
    }

    /**
     * Its build-id.
     *
     * @return the bytes of its build-id, or null if unknown
     */
    public byte[] buildId() {
        return buildId == null ? null : buildId.clone();
    }

    /**
     * Its build-id in lowercase hex, as {@code readelf -n} prints it.
     *
     * @return the hex string, or null if unknown
     */
    public String buildIdHex() {
        return buildId == null ? null : HexFormat.of().formatHex(buildId);
    }

    /**
     * Where its file was found on this machine.
     *
     * @return the file, or null if it was not found
     */
    public Path file() {
        return file;
    }

    /**
     * The separate debug file whose symbols were read.
     *
     * @return the debug file, or null if none was found or used
     */
    public Path debugFile() {
        return debugFile;
    }

    /**
     * Whether its symbols were used.
     *
     * @return the state of its symbols
     */
    public Symbols symbolState() {
        return state;
    }

    /**
     * Why its symbols were not used, or what went wrong reading them.
     *
     * @return one line, or null if nothing went wrong
     */
    public String problem() {
        return problem;
    }

    /**
     * Its symbols, at run-time addresses.
     *
     * @return the table; empty unless {@link #symbolState()} is {@link Symbols#LOADED}
     */
    public SymbolLookup symbols() {
        return symbols;
    }

    /**
     * The ELF file it was read from, still mapped: the same file whose symbols are in
     * {@link #symbols()}. Valid while the arena it was mapped into is open.
     *
     * @return the file, or null if there is none (not found, another build, a perf map), or the
     *     module was made without it
     */
    public ElfFile elf() {
        return elf;
    }

    /**
     * The separate debug file whose symbols were read ({@link #debugFile()}), still mapped. Valid
     * while the arena it was mapped into is open.
     *
     * @return the debug file, or null if there is none or the module was made without it
     */
    public ElfFile debugElf() {
        return debugElf;
    }

    @Override
    public String toString() {
        return String.format("%s [0x%x, 0x%x) %s", path, base, end, state.name().toLowerCase(java.util.Locale.ROOT));
    }
}
