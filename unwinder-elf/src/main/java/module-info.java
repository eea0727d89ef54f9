/**
 * ELF files, Linux core files, and the modules and symbols of a process: what a crash tool or a
 * profiler needs to say which file a pc is in and which function.
 *
 * <ul>
 * <li>{@link dev.unwinder.elf.ElfFile}: a strict reader of 64-bit ELF files of either byte order.
 * <li>{@link dev.unwinder.elf.CoreFile}: the threads, auxiliary vector, file mappings and memory of
 *     a core.
 * <li>{@link dev.unwinder.elf.CoreModules} and {@link dev.unwinder.elf.ProcessModules}: the
 *     modules of a core or of a live process (this one included), as a
 *     {@link dev.unwinder.elf.ModuleMap}, each with its build-id and symbols, found and read by
 *     {@link dev.unwinder.elf.SymbolFiles} (sysroot, separate debug files, MiniDebugInfo).
 * <li>{@link dev.unwinder.elf.Demangler} and {@link dev.unwinder.elf.PerfMap}: C++ and Rust names,
 *     and the symbols of JIT code.
 * </ul>
 *
 * <p>The demangler calls the system's demangler through {@code java.lang.foreign}: on the module
 * path, run with {@code --enable-native-access=dev.unwinder.elf}; without it, names stay mangled.
 */
module dev.unwinder.elf {
    requires transitive dev.unwinder.api;
    requires org.tukaani.xz;

    exports dev.unwinder.elf;
}
