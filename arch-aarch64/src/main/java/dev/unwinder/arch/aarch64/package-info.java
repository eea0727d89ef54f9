/**
 * The aarch64 (AAPCS64) frame layout: {@link dev.unwinder.arch.aarch64.AArch64Unwind}, whose
 * virtual-address size can be configured for pointer-authentication stripping.
 */
package dev.unwinder.arch.aarch64;
