/**
 * Runnable examples of embedding unwinder, and {@link dev.unwinder.examples.LiveStack}, a live
 * native stack of a chosen depth built by a small C library through {@code java.lang.foreign}.
 *
 * <p>{@code LiveStack} makes restricted {@code java.lang.foreign} calls: on the module path, run
 * with {@code --enable-native-access=dev.unwinder.examples,dev.unwinder.api}.
 */
module dev.unwinder.examples {
    requires transitive dev.unwinder.core;
    requires dev.unwinder.testkit;

    exports dev.unwinder.examples;
}
