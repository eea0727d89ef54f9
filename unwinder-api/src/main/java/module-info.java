/**
 * The unwinder API: the per-architecture {@link dev.unwinder.api.Unwind} SPI, the
 * {@link dev.unwinder.api.StackMemory} a walk reads, and the {@link dev.unwinder.api.Frame}s,
 * {@link dev.unwinder.api.FrameVisitor}s and {@link dev.unwinder.api.UnwindException} a walk
 * works with. It has no dependencies beyond {@code java.base}.
 *
 * <p>{@link dev.unwinder.api.StackMemory#ofNative} reads native memory only inside a segment that
 * the caller made; the caller's module needs native access to make one over memory it did not
 * allocate. Granting this module native access too ({@code --enable-native-access=dev.unwinder.api})
 * hands nobody new reach: it lets reads of global-scope segments take the absolute-address path;
 * without it this module makes no restricted call.
 */
module dev.unwinder.api {
    exports dev.unwinder.api;
}
