/**
 * Synthetic stacks for unwinder's tests and benchmarks, and the conformance checks that every
 * plugin must pass, for plugins of this repository and of others. Not for production class paths.
 */
module dev.unwinder.testkit {
    requires transitive dev.unwinder.api;
    requires dev.unwinder.core;

    exports dev.unwinder.testkit;
}
