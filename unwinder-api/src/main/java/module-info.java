/**
 * The unwinder API: the per-architecture {@link dev.unwinder.api.Unwind} SPI, the
 * {@link dev.unwinder.api.StackMemory} a walk reads, and the {@link dev.unwinder.api.Frame}s,
 * {@link dev.unwinder.api.FrameVisitor}s and {@link dev.unwinder.api.UnwindException} a walk
 * works with. It has no dependencies beyond {@code java.base}.
 *
 * <p>{@link dev.unwinder.api.StackMemory#ofNative(long, long)} reads this process's memory
 * through {@code java.lang.foreign}; run with {@code --enable-native-access=dev.unwinder.api}
 * (or {@code ALL-UNNAMED} on the class path) to use it without the JDK's warning.
 */
module dev.unwinder.api {
    exports dev.unwinder.api;
}
