package dev.unwinder.elf;

/**
 * Turns a symbol's mangled name into the name a person reads, as {@code c++filt} prints it.
 *
 * <p>A name that the demangler does not recognize, or cannot demangle, comes back unchanged:
 * a demangler never returns a wrong name. Implementations are safe to share between threads.
 */
@FunctionalInterface
public interface Demangler {
    /**
     * Demangles one name.
     *
     * @param name a symbol's name as the symbol table holds it
     * @return its demangled form, or {@code name} itself
     */
    String demangle(String name);

    /**
     * A demangler that leaves every name as it is.
     *
     * @return the demangler
     */
    static Demangler none() {
        return name -> name;
    }
}
