/** Synthetic stacks for unwinder's tests and benchmarks. Not for production class paths. */
module dev.unwinder.testkit {
    requires transitive dev.unwinder.api;

    exports dev.unwinder.testkit;
}
