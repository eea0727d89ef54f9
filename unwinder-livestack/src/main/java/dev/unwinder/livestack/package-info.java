/**
 * {@link dev.unwinder.livestack.LiveStack}: a live native stack of a chosen depth, built by a
 * small C library and reached through {@code java.lang.foreign}, with the ELF symbols that name
 * its functions ({@link dev.unwinder.livestack.NativeFunction}, read by {@code unwinder-elf})
 * and the tests' rule for a library that was not built ({@link dev.unwinder.livestack.LiveFixtures}).
 *
 * <p>Unless otherwise specified, passing a {@code null} argument to a constructor or method of any
 * class or interface in this package will cause a {@link java.lang.NullPointerException} to be
 * thrown.
 */
package dev.unwinder.livestack;
