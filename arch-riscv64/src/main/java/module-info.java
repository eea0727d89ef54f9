/**
 * The riscv64 frame layouts for unwinder, the platform psABI layout and Cranelift's, registered
 * as {@link dev.unwinder.api.Unwind} services.
 */
// The module name is binding and, like the architecture, ends in digits.
@SuppressWarnings("module")
module dev.unwinder.arch.riscv64 {
    requires transitive dev.unwinder.api;
    requires static com.google.auto.service;

    exports dev.unwinder.arch.riscv64;

    provides dev.unwinder.api.Unwind with
            dev.unwinder.arch.riscv64.Riscv64Unwind,
            dev.unwinder.arch.riscv64.Riscv64CraneliftUnwind;
}
