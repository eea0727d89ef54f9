/**
 * Runnable examples of embedding unwinder: a walk of a synthetic stack in the host's layout, and a
 * walk of this process's own native frames, built by the live-stack harness and named from this
 * process's modules. Not shipped.
 *
 * <p>The live example's harness makes restricted {@code java.lang.foreign} calls: on the module
 * path, run with {@code --enable-native-access=dev.unwinder.livestack}.
 */
module dev.unwinder.examples {
    requires dev.unwinder.core;
    requires dev.unwinder.testkit;
    requires dev.unwinder.livestack;
    requires dev.unwinder.elf;

    exports dev.unwinder.examples;
}
