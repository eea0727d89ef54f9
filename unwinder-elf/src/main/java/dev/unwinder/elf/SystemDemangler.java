package dev.unwinder.elf;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * The system's demangler, called through {@code java.lang.foreign}: GNU libiberty's
 * {@code cplus_demangle} as the shared libbfd exports it (the very function {@code c++filt}
 * calls, with the same flags), or else libstdc++'s {@code __cxa_demangle} for the C++ names on
 * which it prints what {@code c++filt} does. The one class of this module that makes restricted
 * {@code java.lang.foreign} calls, and only when the module has native access.
 *
 * <p>Before a name reaches native code, {@link ItaniumBudget} or {@link RustBudget} bounds what
 * demangling it costs; a name whose cost is not bounded is left as it is. The bound also gives the
 * native stack that libiberty needs: 32 KiB, 144 bytes per byte of the name (its arrays of
 * components live on the stack) and 1 KiB per level of its recursion (one per level of the printed
 * tree and per element of a list), which is twice what libbfd 2.40 needs on x86_64 for names of 17
 * worst-case shapes (DemanglerStackTest). A name that needs at most {@value #INLINE_STACK} bytes is
 * demangled on the calling thread, where HotSpot keeps 80 KiB of stack free for native code (its
 * shadow zone, {@code -XX:StackShadowPages=20}); a larger one on a thread of its own with a stack of
 * {@value #WORKER_STACK} bytes, which the caller waits for. Each call copies the name into memory of
 * its own and frees the result itself: instances are immutable and safe to share.
 */
final class SystemDemangler implements Demangler {
    /** The longest name, in UTF-8 bytes, handed to native code; longer names stay as they are. */
    static final int MAX_NAME_BYTES = 16 * 1024;

    /** {@code c++filt}'s flags: DMGL_PARAMS | DMGL_ANSI | DMGL_VERBOSE, and its default style, DMGL_AUTO. */
    static final int CXXFILT_FLAGS = 1 | 2 | 8 | (1 << 8);

    /** The most native stack a name may need to be demangled on the calling thread. */
    static final int INLINE_STACK = 64 * 1024;
    /** The stack of a thread that demangles a larger name. */
    static final long WORKER_STACK = 16L * 1024 * 1024;
    /** How deeply the Java parsers may recurse on the calling thread, about 1 KiB each. */
    private static final int INLINE_LEVELS = 48;

    /** What libstdc++'s demangler abbreviates and c++filt ({@code DMGL_VERBOSE}) does not. */
    private static final String[] ABBREVIATIONS = {"std::string", "std::istream", "std::ostream", "std::iostream"};

    private final MethodHandle demangle;
    private final MethodHandle free;
    private final boolean libiberty;
    private final String library;

    private SystemDemangler(MethodHandle demangle, MethodHandle free, boolean libiberty, String library) {
        this.demangle = demangle;
        this.free = free;
        this.libiberty = libiberty;
        this.library = library;
    }

    /**
     * The library whose demangler this calls.
     *
     * @return a libbfd file's path, or {@code libstdc++.so.6}
     */
    String library() {
        return library;
    }

    /**
     * The system's demangler, as {@link Demangler#system()} describes it.
     *
     * @return the demangler, or {@link Demangler#none()}
     */
    static Demangler load() {
        if (!SystemDemangler.class.getModule().isNativeAccessEnabled()
                || !System.getProperty("os.name", "").equals("Linux")) {
            return Demangler.none();
        }
        try {
            Demangler found = libbfd(libbfdCandidates());
            if (found == null) {
                found = libstdcxx();
            }
            return found == null ? Demangler.none() : found;
        } catch (IllegalCallerException e) {
            return Demangler.none();
        }
    }

    /**
     * The demangler of the first of these libraries that loads and exports {@code cplus_demangle}.
     *
     * @param libraries shared libbfd files, in order of preference
     * @return the demangler, or null if none of them serves
     */
    static SystemDemangler libbfd(List<Path> libraries) {
        for (Path library : libraries) {
            Optional<MemorySegment> function = find(library.toString(), "cplus_demangle");
            if (function.isPresent()) {
                return new SystemDemangler(downcall(function.get(), FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT)),
                        free(), true, library.toString());
            }
        }
        return null;
    }

    /**
     * The demangler of libstdc++ ({@code libstdc++.so.6}), for C++ names only.
     *
     * @return the demangler, or null if libstdc++ does not load
     */
    static SystemDemangler libstdcxx() {
        return find("libstdc++.so.6", "__cxa_demangle")
                .map(f -> new SystemDemangler(downcall(f, FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                        ADDRESS)), free(), false, "libstdc++.so.6"))
                .orElse(null);
    }

    /**
     * The shared libbfd files in the system's library directories: {@code /usr/lib/<multiarch>},
     * {@code /usr/lib64} and {@code /usr/lib}, Debian's {@code libbfd-*-system.so} (the one
     * {@code c++filt} links) first.
     *
     * @return the files, in order of preference
     */
    static List<Path> libbfdCandidates() {
        List<Path> dirs = new ArrayList<>();
        try (DirectoryStream<Path> lib = Files.newDirectoryStream(Path.of("/usr/lib"), "*-linux-*")) {
            lib.forEach(dirs::add);
        } catch (IOException | RuntimeException e) {
            // no /usr/lib: nothing to find there
        }
        dirs.sort(Comparator.naturalOrder());
        dirs.add(Path.of("/usr/lib64"));
        dirs.add(Path.of("/usr/lib"));
        List<Path> found = new ArrayList<>();
        for (Path dir : dirs) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "libbfd*.so*")) {
                List<Path> here = new ArrayList<>();
                files.forEach(here::add);
                here.sort(Comparator.naturalOrder());
                found.addAll(here);
            } catch (IOException | RuntimeException e) {
                // an unreadable or missing directory holds nothing we can load
            }
        }
        // A stable sort: the -system ones first, each group in the order of the directories.
        found.sort(Comparator.comparing((Path p) -> !p.getFileName().toString().contains("-system")));
        return found;
    }

    @SuppressWarnings("restricted")
    private static Optional<MemorySegment> find(String library, String symbol) {
        try {
            return SymbolLookup.libraryLookup(library, Arena.global()).find(symbol);
        } catch (IllegalArgumentException e) {
            return Optional.empty(); // not a library this process can load
        }
    }

    @SuppressWarnings("restricted")
    private static MethodHandle downcall(MemorySegment function, FunctionDescriptor descriptor) {
        return Linker.nativeLinker().downcallHandle(function, descriptor);
    }

    private static MethodHandle free() {
        Linker linker = Linker.nativeLinker();
        return downcall(linker.defaultLookup().findOrThrow("free"), FunctionDescriptor.ofVoid(ADDRESS));
    }

    @Override
    public String demangle(String name) {
        requireNonNull(name, "name");
        // c++filt skips one leading '.' or '$', and puts a '.' back in front of what it demangles.
        int skip = name.startsWith(".") || name.startsWith("$") ? 1 : 0;
        if (!name.startsWith("_", skip) || name.length() > MAX_NAME_BYTES || name.indexOf('\0') >= 0) {
            return name;
        }
        byte[] bytes;
        try {
            ByteBuffer encoded = StandardCharsets.UTF_8.newEncoder().encode(CharBuffer.wrap(name));
            bytes = new byte[encoded.remaining()];
            encoded.get(bytes);
        } catch (CharacterCodingException e) {
            return name; // a lone surrogate: no byte string that a symbol table holds
        }
        if (bytes.length > MAX_NAME_BYTES || !candidate(bytes, skip)) {
            return name;
        }
        long stack = stackNeeded(bytes, skip, INLINE_LEVELS);
        String out;
        if (stack == TOO_DEEP_TO_MEASURE) {
            out = onWorker(() -> {
                long need = stackNeeded(bytes, skip, 2 * ItaniumBudget.MAX_DEPTH);
                return need >= 0 && need <= WORKER_STACK / 2 ? call(bytes, skip) : null;
            });
        } else if (stack < 0) {
            out = null;
        } else if (stack <= INLINE_STACK) {
            out = call(bytes, skip);
        } else if (stack <= WORKER_STACK / 2) {
            out = onWorker(() -> call(bytes, skip));
        } else {
            out = null;
        }
        if (out == null || (!libiberty && abbreviated(out))) {
            return name;
        }
        return name.startsWith(".") ? "." + out : out;
    }

    /** {@link #stackNeeded} of a name that nests deeper than the calling thread's parse may follow. */
    private static final long TOO_DEEP_TO_MEASURE = -2;

    /** Whether the name is one that this demangler hands to native code if its cost is bounded. */
    private boolean candidate(byte[] b, int from) {
        if (startsWith(b, from, "_R")) {
            return libiberty;
        }
        if (startsWith(b, from, "_ZN") && !libiberty && RustBudget.legacyShape(b, from, b.length) >= 0) {
            // c++filt demangles it as Rust where __cxa_demangle does as C++
            return !RustBudget.legacyHash(b, from, b.length);
        }
        return startsWith(b, from, "_Z") || startsWith(b, from, "_GLOBAL_");
    }

    /**
     * The native stack that demangling a name needs, from its cost's bound.
     *
     * @param b the name's bytes, {@code _Z...}, {@code _GLOBAL_...} or {@code _R...} from {@code from}
     * @param from where the name starts
     * @param maxLevel how deeply the Java parsers may recurse
     * @return the bytes of stack; -1 if the cost is not bounded; {@link #TOO_DEEP_TO_MEASURE} if
     *     the name nests deeper than {@code maxLevel}
     */
    static long stackNeeded(byte[] b, int from, int maxLevel) {
        int length = b.length - from;
        if (startsWith(b, from, "_R")) {
            return stack(RustBudget.measure(b, from, b.length, maxLevel), 0);
        }
        int identifiers = RustBudget.legacyShape(b, from, b.length);
        if (identifiers >= 0) {
            // cplus_demangle tries Rust's legacy scheme first, which prints at most twice the name;
            // the C++ demangler fails at once or prints a nested name of plain identifiers.
            return stack(new ItaniumBudget.Cost(2L * length, identifiers + 4L), length);
        }
        return stack(ItaniumBudget.measure(b, from, b.length, maxLevel), length);
    }

    private static long stack(ItaniumBudget.Cost cost, int length) {
        if (cost == ItaniumBudget.Cost.TOO_DEEP) {
            return TOO_DEEP_TO_MEASURE;
        }
        if (cost == null || !cost.fits()) {
            return -1;
        }
        return 32 * 1024 + 144L * Math.min(length, ItaniumBudget.MAX_LENGTH) + 1024L * cost.depth();
    }

    /** Runs a demangling on a thread with a stack of {@link #WORKER_STACK} bytes, and waits for it. */
    private static String onWorker(Callable<String> demangling) {
        FutureTask<String> task = new FutureTask<>(demangling);
        try {
            Thread.ofPlatform().daemon().name("unwinder-demangler").stackSize(WORKER_STACK).start(task);
        } catch (OutOfMemoryError e) {
            return null; // no thread to be had: the name stays as it is
        }
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return task.get(); // native code cannot be interrupted: wait for it to end
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof RuntimeException r) {
                        throw r;
                    }
                    if (e.getCause() instanceof Error r) {
                        throw r;
                    }
                    throw new IllegalStateException(e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static boolean startsWith(byte[] b, int from, String prefix) {
        if (b.length - from < prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            if (b[from + i] != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static boolean abbreviated(String out) {
        for (String abbreviation : ABBREVIATIONS) {
            if (out.contains(abbreviation)) {
                return true;
            }
        }
        return false;
    }

    /** The demangled text, or null if the native demangler gave none or gave malformed UTF-8. */
    private String call(byte[] bytes, int from) {
        int length = bytes.length - from;
        MemorySegment result;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate(length + 1L);
            MemorySegment.copy(bytes, from, in, JAVA_BYTE, 0, length);
            in.set(JAVA_BYTE, length, (byte) 0);
            result = libiberty
                    ? invoke(demangle, in, CXXFILT_FLAGS)
                    : invoke(demangle, in, MemorySegment.NULL, MemorySegment.NULL, MemorySegment.NULL);
        }
        if (result.address() == 0) {
            return null;
        }
        try {
            return text(result);
        } finally {
            release(result);
        }
    }

    @SuppressWarnings("restricted")
    private static String text(MemorySegment result) {
        // The budget bounds the output; a longer one (never seen) is treated as no demangling.
        MemorySegment text = result.reinterpret(ItaniumBudget.MAX_OUTPUT + 1);
        long n = 0;
        while (n <= ItaniumBudget.MAX_OUTPUT && text.get(JAVA_BYTE, n) != 0) {
            n++;
        }
        if (n > ItaniumBudget.MAX_OUTPUT) {
            return null;
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .decode(text.asSlice(0, n).asByteBuffer())
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    private static MemorySegment invoke(MethodHandle handle, MemorySegment in, int flags) {
        try {
            return (MemorySegment) handle.invokeExact(in, flags);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("cplus_demangle: " + e, e); // a downcall throws nothing checked
        }
    }

    private static MemorySegment invoke(MethodHandle handle, MemorySegment in, MemorySegment buffer,
                                        MemorySegment length, MemorySegment status) {
        try {
            return (MemorySegment) handle.invokeExact(in, buffer, length, status);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("__cxa_demangle: " + e, e); // a downcall throws nothing checked
        }
    }

    private void release(MemorySegment result) {
        try {
            free.invokeExact(result);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("free: " + e, e); // a downcall throws nothing checked
        }
    }

    @Override
    public String toString() {
        return "Demangler[" + (libiberty ? "cplus_demangle" : "__cxa_demangle") + " in " + library + "]";
    }
}
