package dev.unwinder.elf;

/**
 * The symbols of one module, at run-time addresses: an ELF file's ({@link SymbolTable}) or a JIT's
 * perf map ({@link PerfMap}). {@link #lookup(long)} allocates nothing; an index it returns stays
 * valid for the life of the object. Implementations are safe to share between threads.
 */
public sealed interface SymbolLookup permits SymbolTable, PerfMap {
    /**
     * The symbol that covers {@code address}. Allocates nothing.
     *
     * @param address an unsigned run-time address
     * @return the symbol's index, or -1 if no symbol covers the address
     */
    int lookup(long address);

    /**
     * A symbol's name, as it is printed (demangled where the source needs it).
     *
     * @param index an index from {@link #lookup(long)}
     * @return its name
     */
    String name(int index);

    /**
     * A symbol's run-time start address.
     *
     * @param index an index from {@link #lookup(long)}
     * @return its start
     */
    long start(int index);

    /**
     * A symbol's size.
     *
     * @param index an index from {@link #lookup(long)}
     * @return its size in bytes
     */
    long size(int index);

    /**
     * How many symbols there are.
     *
     * @return the count
     */
    int size();
}
