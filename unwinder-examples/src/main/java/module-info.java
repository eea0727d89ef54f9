/** Runnable examples of embedding unwinder. */
module dev.unwinder.examples {
    requires dev.unwinder.core;
    requires dev.unwinder.testkit;
}
