/**
 * The aarch64 (AAPCS64) frame layout: {@link dev.unwinder.arch.aarch64.AArch64Unwind}, whose
 * virtual-address size can be configured for pointer-authentication stripping.
 *
 * <p>Unless otherwise specified, passing a {@code null} argument to a constructor or method of any
 * class or interface in this package will cause a {@link java.lang.NullPointerException} to be
 * thrown.
 */
package dev.unwinder.arch.aarch64;
