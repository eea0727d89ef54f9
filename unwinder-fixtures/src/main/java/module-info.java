/**
 * The one reader of the repository's real-stack fixtures, {@code fixtures/stacks} and
 * {@code fixtures/cores} (formats in {@code fixtures/README.md}), for the tests that walk them.
 * Not shipped.
 */
module dev.unwinder.fixtures {
    requires transitive dev.unwinder.api;

    exports dev.unwinder.fixtures;
}
