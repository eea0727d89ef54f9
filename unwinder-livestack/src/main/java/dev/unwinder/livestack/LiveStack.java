package dev.unwinder.livestack;

import static java.util.Objects.requireNonNull;

import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.elf.Demangler;
import dev.unwinder.elf.ElfException;
import dev.unwinder.elf.ElfFile;
import dev.unwinder.elf.SymbolTable;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.UndeclaredThrowableException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A live native call stack of a chosen depth in this process, built by the small C library
 * {@code liblivestack.so} and reached through {@code java.lang.foreign}.
 *
 * <p>{@link #descend(int, AtBottom)} calls the library's entry function, {@code live_descend},
 * which records its own fp (the <em>entry fp</em>) and recurses through {@code depth} levels of
 * four distinct C functions, with plain frames, large frames, {@code alloca} and arguments passed
 * on the stack, down to {@code live_bottom}. That function calls back into Java with its own pc
 * and fp (the <em>innermost</em> pc and fp) and the entry fp. While the callback runs, the native
 * frames from {@code live_bottom} up to, not including, {@code live_descend} are live, linked by
 * frame pointers, and can be walked:
 *
 * {@snippet :
 * LiveStack live = LiveStack.load();
 * Unwind host = Unwinders.host();
 * live.descend(10, (pc, fp, entryFp) -> {
 *     StackMemory stack = LiveStack.stackBetween(host, fp, entryFp);
 *     StackWalk.visitFrames(host, stack, pc, fp, entryFp, frame -> {
 *         // Every pc but the first is a return address: its call instruction is at pc - 1.
 *         long inside = frame.index() == 0 ? frame.pc() : frame.pc() - 1;
 *         System.out.println(frame.index() + " " + live.functionContaining(inside).orElseThrow().name());
 *         return ControlFlow.continueWalk();
 *     });
 * });
 * }
 *
 * <p>Levels are numbered from the entry: {@code live_descend} is level 0, the recursion levels are
 * 1 to {@code depth} and {@code live_bottom} is level {@code depth + 1}. {@link
 * #functionAtLevel(int, int)} asks the C code which function runs a level; {@link #functions()}
 * lists the library's functions with their addresses and sizes in this process, read from its
 * ELF symbol table.
 *
 * <p>An instance creates its downcall handles and its one upcall stub once; a descent allocates
 * nothing in Java beyond what the callback does, so it suits benchmarks that call it many times.
 * Instances are thread-safe: each thread's descents have their own callback, and a callback may
 * itself descend again. The library stays loaded until the JVM exits.
 *
 * <p><b>Native access.</b> This class is the one place in this module that makes restricted
 * {@code java.lang.foreign} calls (loading the library, linking its functions, creating the
 * upcall stubs, and making the segment over this process's memory that {@link #stackBetween}
 * cuts the live frames from), for {@link LiveChain} too. Run with {@code --enable-native-access=ALL-UNNAMED} on the class
 * path, or {@code --enable-native-access=dev.unwinder.livestack} on the module path; without it
 * the JDK prints a warning on first use.
 */
public final class LiveStack {

    /**
     * The system property that names the library file {@link #load()} uses instead of the one
     * bundled with this class.
     */
    public static final String LIBRARY_PROPERTY = "unwinder.livestack.library";

    /** The name of the bundled library, a resource next to this class. */
    public static final String LIBRARY_NAME = "liblivestack.so";

    private static final long BAD_ARGUMENT = -1;
    private static final long STACK_EXHAUSTED = -2;
    private static final long STACK_UNKNOWN = -3;

    /** What {@link #load()} returns, once it has loaded it. */
    private static volatile LiveStack defaultInstance;

    private final Path library;
    private final MethodHandle descend;
    private final MethodHandle functionAt;
    private final MemorySegment upcall;
    private final long stackReserve;
    private final NativeFunction[] byAddress;
    private final List<NativeFunction> functions;
    private final ThreadLocal<Descent> descents = ThreadLocal.withInitial(Descent::new);

    /**
     * Receives the live stack at the bottom of a descent.
     *
     * <p>It runs on the thread that called {@link #descend(int, AtBottom)}, below the native
     * frames, which stay live until it returns. It may throw: the descent then returns through the
     * native frames normally and {@code descend} rethrows what it threw.
     */
    @FunctionalInterface
    public interface AtBottom {

        /**
         * Called once per descent, at the bottom.
         *
         * @param innermostPc a pc inside {@code live_bottom}, the innermost native frame
         * @param innermostFp {@code live_bottom}'s fp
         * @param entryFp the fp of {@code live_descend}, the entry function: the entry fp of a
         *     walk of the native frames
         */
        void atBottom(long innermostPc, long innermostFp, long entryFp);
    }

    /** One thread's current descent: its callback and what the callback threw. */
    private static final class Descent {
        AtBottom callback;
        Throwable failure;
    }

    /** The library's function symbols at their link-time addresses, read by unwinder-elf. */
    private static List<NativeFunction> functions(Path library, byte[] elf) {
        SymbolTable table;
        try {
            table = SymbolTable.read(ElfFile.of(library.toString(), MemorySegment.ofArray(elf)), 0, Demangler.none());
        } catch (ElfException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        List<NativeFunction> functions = new ArrayList<>(table.size());
        for (int i = 0; i < table.size(); i++) {
            functions.add(new NativeFunction(table.name(i), table.start(i), table.size(i)));
        }
        return functions;
    }

    private LiveStack(Path library) {
        this.library = library;
        byte[] elf;
        try {
            elf = Files.readAllBytes(library);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + library, e);
        }
        List<NativeFunction> linkTime = functions(library, elf);

        Linker linker = Linker.nativeLinker();
        SymbolLookup symbols = loadLibrary(library);
        MemorySegment descendSymbol = find(symbols, "live_descend");
        long bias = descendSymbol.address() - named(linkTime, "live_descend").address();
        long checkBias = find(symbols, "live_function_at").address() - named(linkTime, "live_function_at").address();
        if (bias != checkBias) {
            throw new IllegalStateException(String.format(
                    "%s: load bias 0x%x from live_descend differs from 0x%x from live_function_at",
                    library, bias, checkBias));
        }
        this.functions = linkTime.stream()
                .map(f -> new NativeFunction(f.name(), f.address() + bias, f.size()))
                .toList();
        this.byAddress = functions.stream()
                .sorted((a, b) -> Long.compareUnsigned(a.address(), b.address()))
                .toArray(NativeFunction[]::new);

        this.descend = downcall(linker, descendSymbol,
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        this.functionAt = downcall(linker, find(symbols, "live_function_at"),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        MethodHandle reserve = downcall(linker, find(symbols, "live_stack_reserve"),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG));
        try {
            this.stackReserve = (long) reserve.invokeExact();
            MethodHandle target = MethodHandles.lookup()
                    .findVirtual(LiveStack.class, "atBottom",
                            MethodType.methodType(void.class, long.class, long.class, long.class))
                    .bindTo(this);
            this.upcall = upcallStub(linker, target,
                    FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * Returns the library that this module was built with, or the file that the system property
     * {@value #LIBRARY_PROPERTY} names. The first call loads it; later calls return the same
     * instance.
     *
     * @return the live stack
     * @throws IllegalStateException if the library was not built (gcc was missing when this
     *     module was built) or cannot be loaded
     */
    public static LiveStack load() {
        LiveStack live = defaultInstance;
        if (live == null) {
            synchronized (LiveStack.class) {
                live = defaultInstance;
                if (live == null) {
                    live = loadDefault();
                    defaultInstance = live;
                }
            }
        }
        return live;
    }

    /**
     * Loads a {@code liblivestack.so} built from this module's {@code livestack.c}. Each call
     * makes a new instance with its own handles; keep and reuse it.
     *
     * @param library the shared library file
     * @return the live stack
     * @throws IllegalArgumentException if the file cannot be loaded, is not a 64-bit ELF file or
     *     lacks the library's functions
     * @throws IllegalStateException if its symbol table disagrees with where the library loaded
     * @throws UncheckedIOException if the file cannot be read
     */
    public static LiveStack load(Path library) {
        requireNonNull(library, "library");
        if (!Files.isRegularFile(library)) {
            throw new IllegalArgumentException("library: " + library + " (expected: a shared library file)");
        }
        return new LiveStack(library.toAbsolutePath());
    }

    /**
     * Tells where the library that {@link #load()} uses is, without loading it.
     *
     * @return the file that {@value #LIBRARY_PROPERTY} names, or the bundled library's file
     *     when it is a plain file; empty if neither exists (the library was not built) or the
     *     bundled library is inside a jar
     */
    public static Optional<Path> defaultLibraryFile() {
        String configured = System.getProperty(LIBRARY_PROPERTY);
        if (configured != null) {
            Path path = Path.of(configured);
            return Files.isRegularFile(path) ? Optional.of(path) : Optional.empty();
        }
        URL resource = LiveStack.class.getResource(LIBRARY_NAME);
        if (resource == null || !"file".equals(resource.getProtocol())) {
            return Optional.empty();
        }
        try {
            return Optional.of(Path.of(resource.toURI()));
        } catch (URISyntaxException e) {
            return Optional.empty();
        }
    }

    /**
     * Tells whether {@link #load()} can find a library: whether this module's build compiled
     * one, or the system property names an existing file.
     *
     * @return {@code true} if a library is there to load
     */
    public static boolean isLibraryAvailable() {
        return System.getProperty(LIBRARY_PROPERTY) != null
                ? defaultLibraryFile().isPresent()
                : LiveStack.class.getResource(LIBRARY_NAME) != null;
    }

    /**
     * Runs a native descent of {@code depth} levels and calls {@code callback} at its bottom, on
     * this thread.
     *
     * <p>The native frames take this thread's stack: a few hundred bytes per level on average.
     * Run deep descents on a thread created with a large stack size ({@link
     * Thread#Thread(ThreadGroup, Runnable, String, long)}). A descent that would leave less than
     * {@link #stackReserve()} bytes of the stack free stops before it gets there, without calling
     * the callback, and this method throws {@link IllegalStateException}.
     *
     * @param depth the number of recursion levels between the entry and the bottom, at least 1
     * @param callback called once, at the bottom
     * @return the number of native frames from {@code live_bottom} up to, not including, the
     *     entry function, as the C code counted them on the way back: {@code depth + 1}
     * @throws IllegalArgumentException if {@code depth} is below 1
     * @throws IllegalStateException if this thread's stack cannot hold the descent, or the
     *     library cannot find the thread's stack bounds
     * @throws RuntimeException or {@link Error}: what {@code callback} threw
     */
    public long descend(int depth, AtBottom callback) {
        if (depth < 1) {
            throw new IllegalArgumentException("depth: " + depth + " (expected: >= 1)");
        }
        requireNonNull(callback, "callback");
        Descent current = descents.get();
        AtBottom outerCallback = current.callback;
        Throwable outerFailure = current.failure;
        current.callback = callback;
        current.failure = null;
        long frames;
        Throwable failure;
        try {
            frames = (long) descend.invokeExact(depth, upcall);
        } catch (Throwable e) {
            throw rethrow(e);
        } finally {
            failure = current.failure;
            current.callback = outerCallback;
            current.failure = outerFailure;
        }
        if (failure != null) {
            throw rethrow(failure);
        }
        if (frames == STACK_EXHAUSTED) {
            throw new IllegalStateException("depth: " + depth + " (expected: a depth this thread's stack holds with "
                    + stackReserve + " bytes to spare; run deep descents on a thread created with a larger stack size)");
        }
        if (frames == STACK_UNKNOWN) {
            throw new IllegalStateException("live_descend cannot find this thread's stack bounds");
        }
        if (frames == BAD_ARGUMENT || frames < 2) {
            throw new IllegalStateException("live_descend(" + depth + ") returned " + frames
                    + " (expected: " + depth + " + 1): " + library + " is not this module's livestack.c");
        }
        return frames;
    }

    /** The upcall target: runs the current thread's callback, and never lets anything escape into C. */
    @SuppressWarnings("unused") // called through the upcall stub
    private void atBottom(long innermostPc, long innermostFp, long entryFp) {
        Descent current = null;
        try {
            current = descents.get();
            current.callback.atBottom(innermostPc, innermostFp, entryFp);
        } catch (Throwable e) {
            if (current != null) {
                current.failure = e;
            }
        }
    }

    /**
     * Returns the function that runs level {@code level} of a descent of {@code depth} levels, as
     * the C code says: {@code live_descend} at level 0, the level functions from 1 to
     * {@code depth}, {@code live_bottom} at {@code depth + 1}.
     *
     * @param level the level, from 0 to {@code depth + 1}
     * @param depth the descent's depth, at least 1
     * @return the function, with its address and size in this process
     * @throws IllegalArgumentException if {@code depth} or {@code level} is out of range
     */
    public NativeFunction functionAtLevel(int level, int depth) {
        if (depth < 1) {
            throw new IllegalArgumentException("depth: " + depth + " (expected: >= 1)");
        }
        if (level < 0 || level > depth + 1L) {
            throw new IllegalArgumentException("level: " + level + " (expected: 0 to depth + 1 = " + (depth + 1L) + ")");
        }
        long address;
        try {
            address = (long) functionAt.invokeExact(level, depth);
        } catch (Throwable e) {
            throw rethrow(e);
        }
        int index = indexOf(address);
        if (index < 0 || byAddress[index].address() != address) {
            throw new IllegalStateException(String.format(
                    "live_function_at(%d, %d) returned 0x%x, which starts no function of %s", level, depth, address, library));
        }
        return byAddress[index];
    }

    /**
     * Returns the library function whose code contains {@code pc}.
     *
     * @param pc an unsigned address
     * @return the function, or empty if the pc is outside the library's functions
     */
    public Optional<NativeFunction> functionContaining(long pc) {
        int index = indexOf(pc);
        return index >= 0 && byAddress[index].contains(pc) ? Optional.of(byAddress[index]) : Optional.empty();
    }

    /** The index of the last function that starts at or below {@code address}, or -1. */
    private int indexOf(long address) {
        int low = 0;
        int high = byAddress.length - 1;
        int found = -1;
        while (low <= high) {
            int middle = (low + high) >>> 1;
            if (Long.compareUnsigned(byAddress[middle].address(), address) <= 0) {
                found = middle;
                low = middle + 1;
            } else {
                high = middle - 1;
            }
        }
        return found;
    }

    /**
     * Returns the functions the library defines, with their addresses and sizes in this process.
     *
     * @return the functions, in symbol-table order
     */
    public List<NativeFunction> functions() {
        return functions;
    }

    /**
     * Returns the library file this instance loaded.
     *
     * @return an absolute path
     */
    public Path library() {
        return library;
    }

    /**
     * Returns how many bytes of a thread's stack a descent leaves free below its deepest native
     * frame, at least: room for the JVM's guard zones and the callback.
     *
     * @return the reserve in bytes
     */
    public long stackReserve() {
        return stackReserve;
    }

    /**
     * Returns the live memory that a walk from {@code innermostFp} to the entry fp
     * {@code entryFp} reads, and no more: {@link StackMemory#ofLiveFrames} over a segment of this
     * process's whole address space, which this class makes (a restricted call). On x86_64 that
     * is {@code [innermostFp, entryFp)}.
     *
     * <p>Use it inside {@link AtBottom#atBottom}, while the frames are live; a walk then reads only
     * this range, whatever it finds in it.
     *
     * @param unwind the host's frame layout
     * @param innermostFp the innermost frame's fp
     * @param entryFp the entry frame's fp
     * @return the stack memory
     * @throws IllegalArgumentException if either fp is zero, or {@code innermostFp} is not below
     *     {@code entryFp}
     */
    public static StackMemory stackBetween(Unwind unwind, long innermostFp, long entryFp) {
        return StackMemory.ofLiveFrames(unwind, ADDRESS_SPACE, innermostFp, entryFp);
    }

    /** This process's address space below 2^63, at its own addresses, in the global arena: never closed. */
    static final MemorySegment ADDRESS_SPACE = addressSpace();

    @SuppressWarnings("restricted")
    private static MemorySegment addressSpace() {
        return MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    }

    @SuppressWarnings("restricted")
    static SymbolLookup loadLibrary(Path library) {
        return SymbolLookup.libraryLookup(library, Arena.global());
    }

    @SuppressWarnings("restricted")
    static MethodHandle downcall(Linker linker, MemorySegment function, FunctionDescriptor descriptor) {
        return linker.downcallHandle(function, descriptor);
    }

    @SuppressWarnings("restricted")
    static MemorySegment upcallStub(Linker linker, MethodHandle target, FunctionDescriptor descriptor) {
        return linker.upcallStub(target, descriptor, Arena.global());
    }

    private MemorySegment find(SymbolLookup symbols, String name) {
        return symbols.find(name).orElseThrow(() -> new IllegalArgumentException(
                "library: " + library + " (expected: a library that exports " + name + ")"));
    }

    private NativeFunction named(List<NativeFunction> linkTime, String name) {
        return linkTime.stream().filter(f -> f.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException(
                        "library: " + library + " (expected: " + name + " in its symbol table)"));
    }

    static RuntimeException rethrow(Throwable e) {
        if (e instanceof RuntimeException runtime) {
            throw runtime;
        }
        if (e instanceof Error error) {
            throw error;
        }
        throw new UndeclaredThrowableException(e);
    }

    private static LiveStack loadDefault() {
        String configured = System.getProperty(LIBRARY_PROPERTY);
        if (configured != null) {
            return load(Path.of(configured));
        }
        Optional<Path> file = defaultLibraryFile();
        if (file.isPresent()) {
            return load(file.get());
        }
        try (InputStream in = LiveStack.class.getResourceAsStream(LIBRARY_NAME)) {
            if (in == null) {
                throw new IllegalStateException(LIBRARY_NAME + " was not built: gcc was missing when the"
                        + " unwinder-livestack module was built; install gcc and rebuild, or set -D"
                        + LIBRARY_PROPERTY + "=<path>");
            }
            Path copy = Files.createTempFile("liblivestack", ".so");
            copy.toFile().deleteOnExit();
            Files.copy(in, copy, StandardCopyOption.REPLACE_EXISTING);
            return load(copy);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract " + LIBRARY_NAME, e);
        }
    }

    @Override
    public String toString() {
        return "LiveStack[" + library + ", " + Arrays.stream(byAddress).map(NativeFunction::name).toList() + "]";
    }
}
