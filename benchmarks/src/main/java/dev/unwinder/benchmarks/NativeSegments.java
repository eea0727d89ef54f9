package dev.unwinder.benchmarks;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

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

    /** A global-scope segment over the same memory as {@code segment}, as embedders make one over a thread's stack. */
    @SuppressWarnings("restricted")
    static MemorySegment globalView(MemorySegment segment) {
        return MemorySegment.ofAddress(segment.address()).reinterpret(segment.byteSize());
    }

    /** The symbols of a shared library, loaded for the life of the JVM. */
    @SuppressWarnings("restricted")
    static SymbolLookup library(Path file) {
        return SymbolLookup.libraryLookup(file, Arena.global());
    }

    /** A downcall handle. */
    @SuppressWarnings("restricted")
    static MethodHandle downcall(Linker linker, MemorySegment function, FunctionDescriptor descriptor,
            Linker.Option... options) {
        return linker.downcallHandle(function, descriptor, options);
    }

    private static final String BENCH_LIBRARY = "libbench-native.so";

    /**
     * Copies the benchmarks' C library ({@code src/main/c}, built with the module) out of the jar
     * to a temporary file, deleted when the JVM exits, and returns its path.
     */
    static Path benchLibrary() {
        try (InputStream in = NativeSegments.class.getResourceAsStream(BENCH_LIBRARY)) {
            if (in == null) {
                throw new IllegalStateException(BENCH_LIBRARY + " was not built: gcc was missing when the benchmarks"
                        + " module was built");
            }
            Path copy = Files.createTempFile("libbench-native", ".so");
            copy.toFile().deleteOnExit();
            Files.copy(in, copy, StandardCopyOption.REPLACE_EXISTING);
            return copy;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
