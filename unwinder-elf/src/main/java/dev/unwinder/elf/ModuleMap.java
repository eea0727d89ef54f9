package dev.unwinder.elf;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The modules of one process, by address: which file a pc is in, and which function.
 *
 * <p>{@link #find(long)} is a binary search over arrays built once, and allocates nothing. Where
 * modules overlap (a perf map's ranges inside an anonymous mapping, or a lying core), the one with
 * the highest base that spans the address wins. Immutable, and safe to share between threads.
 */
public final class ModuleMap {
    /** A map without modules. */
    public static final ModuleMap EMPTY = new ModuleMap(List.of());

    private final List<Module> modules;
    private final Module[] byBase;
    private final long[] bases;
    /** The nearest module below this one that spans its base, or -1. */
    private final int[] parents;

    private ModuleMap(List<Module> modules) {
        List<Module> sorted = new ArrayList<>(modules);
        sorted.sort(Comparator.comparing(Module::base, Long::compareUnsigned));
        this.modules = List.copyOf(sorted);
        this.byBase = sorted.toArray(Module[]::new);
        this.bases = new long[byBase.length];
        for (int i = 0; i < byBase.length; i++) {
            bases[i] = byBase[i].base();
        }
        this.parents = new int[byBase.length];
        for (int i = 0; i < byBase.length; i++) {
            int parent = i - 1;
            while (parent >= 0 && !byBase[parent].contains(bases[i])) {
                parent = parents[parent];
            }
            parents[i] = parent;
        }
    }

    /**
     * A map of the given modules.
     *
     * @param modules the modules, in any order
     * @return the map
     */
    public static ModuleMap of(List<Module> modules) {
        return new ModuleMap(modules);
    }

    /**
     * The module that spans {@code address}. Allocates nothing.
     *
     * @param address an unsigned address
     * @return the module, or null if none spans it
     */
    public Module find(long address) {
        int low = 0;
        int high = bases.length - 1;
        int found = -1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            if (Long.compareUnsigned(bases[mid], address) <= 0) {
                found = mid;
                low = mid + 1;
            } else {
                high = mid - 1;
            }
        }
        // The nearest base below may belong to a small module inside a larger one: go out to the larger.
        while (found >= 0 && !byBase[found].contains(address)) {
            found = parents[found];
        }
        return found < 0 ? null : byBase[found];
    }

    /**
     * The name of the symbol that covers {@code address}, in the module that spans it.
     *
     * @param address an unsigned address
     * @return the symbol's name, or null if no module spans the address or no symbol of it covers it
     */
    public String symbolName(long address) {
        Module module = find(address);
        if (module == null) {
            return null;
        }
        int symbol = module.symbols().lookup(address);
        return symbol < 0 ? null : module.symbols().name(symbol);
    }

    /**
     * The modules, by base address.
     *
     * @return the modules
     */
    public List<Module> modules() {
        return modules;
    }
}
