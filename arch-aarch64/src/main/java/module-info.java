/** The aarch64 frame layout for unwinder, registered as an {@link dev.unwinder.api.Unwind} service. */
// The module name is binding and, like the architecture, ends in digits.
@SuppressWarnings("module")
module dev.unwinder.arch.aarch64 {
    requires transitive dev.unwinder.api;
    requires static com.google.auto.service;

    exports dev.unwinder.arch.aarch64;

    provides dev.unwinder.api.Unwind with dev.unwinder.arch.aarch64.AArch64Unwind;
}
