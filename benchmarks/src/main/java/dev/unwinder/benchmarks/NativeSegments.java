package dev.unwinder.benchmarks;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * The benchmarks' restricted {@code java.lang.foreign} calls, in one place; run with
 * {@code --enable-native-access=ALL-UNNAMED} (the benchmark forks do, and the jar's manifest says
 * so).
 */
final class NativeSegments {
    private NativeSegments() {}

    /** The address space below 2^63 as one global-scope segment whose offsets are absolute addresses. */
    @SuppressWarnings("restricted")
    static MemorySegment everything() {
        return MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    }

    /** The symbols of a shared library, loaded for the life of the JVM. */
    @SuppressWarnings("restricted")
    static SymbolLookup library(Path file) {
        return SymbolLookup.libraryLookup(file, Arena.global());
    }

    /** A downcall handle. */
    @SuppressWarnings("restricted")
    static MethodHandle downcall(Linker linker, MemorySegment function, FunctionDescriptor descriptor) {
        return linker.downcallHandle(function, descriptor);
    }
}
