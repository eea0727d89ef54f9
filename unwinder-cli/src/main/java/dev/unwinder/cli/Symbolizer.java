package dev.unwinder.cli;

import dev.unwinder.elf.Module;
import dev.unwinder.elf.ModuleMap;
import dev.unwinder.elf.SymbolLookup;

/**
 * Names the pcs of a walk: the module that holds each one, and the function that covers it in
 * that module's symbols.
 *
 * <p>Every frame's pc but the first is a return address, the instruction after a call, which may
 * already belong to the next function when the call was the last instruction of a function that
 * never returns; so, as gdb does, the module and function are looked up at {@code pc - 1} for
 * those frames. The offsets printed are still those of the pc itself.
 *
 * <p>One exception: a pc whose {@code pc - 1} no symbol covers, while a function starts exactly at
 * the pc, is named at the pc. No call returns to a function's first byte from outside it, but a
 * signal handler returns to a signal trampoline's first byte (x86_64's {@code __restore_rt}, whose
 * call-frame information starts one byte early for this reason), and gdb names that frame there.
 */
final class Symbolizer {
    private final ModuleMap modules;

    Symbolizer(ModuleMap modules) {
        this.modules = modules;
    }

    /**
     * Where a frame's pc is.
     *
     * @param module the module that holds it, or null
     * @param symbol the function that covers it, or null
     * @param symbolOffset the pc's offset from the function's start
     */
    record Location(Module module, String symbol, long symbolOffset) {
        /** The pc's offset from the module's base. */
        long moduleOffset(long pc) {
            return pc - module.base();
        }
    }

    /** The module and function of frame {@code index}'s {@code pc}; both parts null if no module holds it. */
    Location locate(int index, long pc) {
        Location where = locateAt(index == 0 ? pc : pc - 1, pc);
        if (index > 0 && where.symbol() == null) {
            Location exact = locateAt(pc, pc);
            if (exact.symbol() != null && exact.symbolOffset() == 0) {
                return exact; // a signal trampoline's first byte: see the class comment
            }
        }
        return where;
    }

    /** The module and function at {@code lookupAddress}, with offsets of {@code pc}. */
    private Location locateAt(long lookupAddress, long pc) {
        Module module = modules.find(lookupAddress);
        if (module == null) {
            return new Location(null, null, 0);
        }
        SymbolLookup symbols = module.symbols();
        int symbol = symbols.lookup(lookupAddress);
        if (symbol < 0) {
            return new Location(module, null, 0);
        }
        return new Location(module, symbols.name(symbol), pc - symbols.start(symbol));
    }

    ModuleMap modules() {
        return modules;
    }
}
