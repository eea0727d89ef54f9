/**
 * The riscv64 frame layouts: {@link dev.unwinder.arch.riscv64.Riscv64Unwind}, the psABI layout
 * that GCC, LLVM and HotSpot emit, and {@link dev.unwinder.arch.riscv64.Riscv64CraneliftUnwind},
 * the layout of Cranelift-compiled code in Wasmtime.
 */
package dev.unwinder.arch.riscv64;
