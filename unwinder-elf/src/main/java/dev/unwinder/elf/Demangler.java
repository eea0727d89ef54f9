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

    /**
     * The system's demangler: C++ (Itanium ABI) names, and Rust's legacy and v0 names, exactly as
     * {@code c++filt} prints them, because it calls what {@code c++filt} calls. It is GNU
     * libiberty's {@code cplus_demangle} with {@code c++filt}'s flags, from the first shared libbfd
     * in {@code /usr/lib/<multiarch>}, {@code /usr/lib64} or {@code /usr/lib} (Debian's
     * {@code libbfd-*-system.so}, of package {@code libbinutils}, first); like {@code c++filt}, it
     * skips one leading {@code '.'} or {@code '$'} and puts a {@code '.'} back in front of what it
     * demangles.
     *
     * <p>Without libbfd it is libstdc++'s {@code __cxa_demangle}, for C++ names only, and only where
     * that prints what {@code c++filt} does: a name whose demangling would abbreviate a standard
     * type ({@code std::string} where {@code c++filt} prints
     * {@code std::basic_string<char, std::char_traits<char>, std::allocator<char> >}), and a Rust
     * name, stay mangled. Without either library, on a system other than Linux, or without native
     * access for this module ({@code --enable-native-access=dev.unwinder.elf} on the module path,
     * {@code ALL-UNNAMED} on the class path), it is {@link #none()}: this method makes no restricted
     * call then, and never throws.
     *
     * <p>Before a name reaches native code its cost is bounded in Java: the demangler leaves
     * unchanged a name longer than 16 KiB, one with a NUL or a lone surrogate, one that would
     * demangle to more than 4 MiB (an 18-byte name can ask for gigabytes) or nest more than 1024
     * levels deep. Real names are far from these limits. A name that needs more than 64 KiB of
     * native stack (long, or deeply nested) is demangled on a short-lived thread of its own, with a
     * 16 MiB stack, while the caller waits; shorter ones on the calling thread. The returned
     * demangler holds no state but its handles on the native functions: it is safe to share between
     * threads, and each call allocates and frees its own memory.
     *
     * {@snippet :
     * Demangler demangler = Demangler.system();
     * demangler.demangle("_ZNSt6vectorIiSaIiEE9push_backERKi");
     * // "std::vector<int, std::allocator<int> >::push_back(int const&)"
     * }
     *
     * @return the system's demangler, or {@link #none()}
     */
    static Demangler system() {
        return SystemDemangler.load();
    }
}
