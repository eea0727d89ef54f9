/**
 * ELF files, Linux cores, and the modules and symbols of a process.
 *
 * <p>{@link dev.unwinder.elf.ElfFile} and {@link dev.unwinder.elf.CoreFile} read files that may
 * lie, within their real size, and fail with a one-line {@link dev.unwinder.elf.ElfException}.
 * {@link dev.unwinder.elf.CoreModules} and {@link dev.unwinder.elf.ProcessModules} find a process's
 * modules, {@link dev.unwinder.elf.SymbolFiles} their files and symbols, and a
 * {@link dev.unwinder.elf.ModuleMap} then names any address without allocating.
 *
 * <p>Unless otherwise specified, passing a {@code null} argument to a constructor or method of any
 * class or interface in this package will cause a {@link java.lang.NullPointerException} to be
 * thrown.
 */
package dev.unwinder.elf;
