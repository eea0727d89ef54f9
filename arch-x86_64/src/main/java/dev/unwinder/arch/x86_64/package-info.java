/**
 * The x86_64 (System V) frame layout: {@link dev.unwinder.arch.x86_64.X86_64Unwind}.
 *
 * <p>Unless otherwise specified, passing a {@code null} argument to a constructor or method of any
 * class or interface in this package will cause a {@link java.lang.NullPointerException} to be
 * thrown.
 */
package dev.unwinder.arch.x86_64;
