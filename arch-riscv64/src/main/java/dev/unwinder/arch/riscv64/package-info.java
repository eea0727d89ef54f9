/**
 * The riscv64 frame layouts: {@link dev.unwinder.arch.riscv64.Riscv64Unwind}, the psABI layout
 * that GCC, LLVM and HotSpot emit, and {@link dev.unwinder.arch.riscv64.Riscv64CraneliftUnwind},
 * the layout of Cranelift-compiled code in Wasmtime.
 *
 * <p>Unless otherwise specified, passing a {@code null} argument to a constructor or method of any
 * class or interface in this package will cause a {@link java.lang.NullPointerException} to be
 * thrown.
 */
package dev.unwinder.arch.riscv64;
