/**
 * The unwinder API: the per-architecture {@link dev.unwinder.api.Unwind} SPI, the
 * {@link dev.unwinder.api.StackMemory} a walk reads, and the {@link dev.unwinder.api.Frame}s,
 * {@link dev.unwinder.api.FrameVisitor}s and {@link dev.unwinder.api.UnwindException} a walk
 * works with. It has no dependencies beyond {@code java.base}.
 *
 * <p>It makes no restricted {@code java.lang.foreign} call and needs no native access:
 * {@link dev.unwinder.api.StackMemory#ofNative} reads native memory only through a segment that
 * the caller made.
 */
module dev.unwinder.api {
    exports dev.unwinder.api;
}
