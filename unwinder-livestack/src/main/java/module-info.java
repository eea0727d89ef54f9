/**
 * A live native stack of a chosen depth for tests, examples and benchmarks:
 * {@link dev.unwinder.livestack.LiveStack} descends through a small C library, built by gcc with
 * frame pointers when this module is built, and calls back into Java at the bottom, where the
 * frames are live. Not shipped.
 *
 * <p>{@code LiveStack} makes restricted {@code java.lang.foreign} calls: on the module path, run
 * with {@code --enable-native-access=dev.unwinder.livestack}.
 */
module dev.unwinder.livestack {
    requires transitive dev.unwinder.api;
    requires dev.unwinder.elf;
    requires static org.junit.jupiter.api;

    exports dev.unwinder.livestack;
}
