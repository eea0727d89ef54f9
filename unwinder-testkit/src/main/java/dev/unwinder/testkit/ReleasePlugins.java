package dev.unwinder.testkit;

import java.util.List;

/**
 * The plugins of this release: the one list that the tests of discovery and of the command compare
 * with what {@link java.util.ServiceLoader} finds. Adding an architecture adds its plugins' names
 * here; every other test takes the plugins found at run time.
 */
public final class ReleasePlugins {
    /** The canonical names of this release's plugins, sorted. */
    public static final List<String> NAMES = List.of("aarch64", "riscv64", "riscv64-cranelift", "s390x", "x86_64");

    private ReleasePlugins() {}
}
