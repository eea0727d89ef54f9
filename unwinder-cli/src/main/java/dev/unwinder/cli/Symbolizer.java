package dev.unwinder.cli;

import dev.unwinder.elf.SymbolTable;
import java.util.List;

/**
 * Names the pcs of a walk from the symbol tables of the executables given with {@code --exe}, the
 * first table that knows an address winning.
 *
 * <p>Every frame's pc but the first is a return address, the instruction after a call, which may
 * already belong to the next function when the call was the last instruction of a function that
 * never returns; so, as gdb does, the function is looked up at {@code pc - 1} for those frames. The
 * offset printed is still that of the pc itself.
 */
final class Symbolizer {
    private final List<SymbolTable> tables;

    Symbolizer(List<SymbolTable> tables) {
        this.tables = List.copyOf(tables);
    }

    /** The function of frame {@code index}'s {@code pc}, or null if no table knows it. */
    SymbolTable.Symbol symbolize(int index, long pc) {
        long lookupAddress = index == 0 ? pc : pc - 1;
        for (SymbolTable table : tables) {
            SymbolTable.Symbol symbol = table.lookup(lookupAddress);
            if (symbol != null) {
                return new SymbolTable.Symbol(symbol.name(), symbol.offset() + (pc - lookupAddress));
            }
        }
        return null;
    }
}
