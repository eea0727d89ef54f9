package dev.unwinder.livestack;

import static java.util.Objects.requireNonNull;

import dev.unwinder.api.StackMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * A live native call stack that passes through the C library's {@code qsort}, whose code has no
 * frame pointers, for walks with call-frame information ({@code dev.unwinder.elf.CfiWalk}) of this
 * process's own frames. Built by the same C library as {@link LiveStack} ({@code cfichain.c},
 * compiled without frame pointers); x86_64 only.
 *
 * <p>{@link #run(int, boolean, AtPoint)} calls the library's {@code live_chain}, which calls
 * {@code chain_level}, which sorts two elements with {@code qsort}, whose comparator
 * {@code chain_compare} calls {@code chain_level} again, {@code levels} times. The last comparator
 * calls {@code chain_point}, the innermost frame, which captures its own registers (pc, sp and the
 * callee-saved registers, after its call to a small assembly helper), optionally lists the frames
 * above it with glibc's {@code backtrace()} (the oracle), and calls back: into Java, or into a C
 * function given as a {@link MemorySegment}. While the callback runs, every frame from
 * {@code chain_point} up to {@code live_chain} is live:
 *
 * {@snippet :
 * LiveChain chain = LiveChain.load();
 * long[] registers = new long[LiveChain.REGISTERS];
 * chain.run(5, true, context -> {
 *     context.registers(registers);
 *     // walk from context.pc() with registers over context.stack(); compare with context.oraclePc(i)
 * });
 * }
 *
 * <p>Each thread has its own context, allocated once; a run allocates nothing in Java beyond what
 * the callback does. The oracle's first pc is in {@code chain_point} (the return address of its
 * call to {@code backtrace()}), its next ones are the return addresses of the frames above, the
 * same as a walk from the captured registers gives from its second frame on.
 */
public final class LiveChain {
    /** The number of registers captured, by DWARF number: x86_64's 0 to 16 (16 is the pc). */
    public static final int REGISTERS = 17;

    private static final int STACK_LOW = 17;
    private static final int STACK_HIGH = 18;
    private static final int ORACLE_COUNT = 19;
    private static final int ORACLE = 20;
    private static final long BAD_ARGUMENT = -1;
    private static final long UNSUPPORTED = -2;
    private static final long STACK_UNKNOWN = -3;
    /** The most levels a chain has. */
    public static final int MAX_LEVELS = 256;

    private static volatile LiveChain defaultInstance;

    private final MethodHandle chain;
    private final MemorySegment upcall;
    private final long contextWords;
    private final ThreadLocal<Context> contexts;

    /** Receives the live chain at its innermost frame. */
    @FunctionalInterface
    public interface AtPoint {
        /**
         * Called once per run, at {@code chain_point}, on the thread that ran the chain. It may
         * throw: the run then returns through the native frames and rethrows it.
         *
         * @param context the registers, stack and oracle of this thread's run, valid during the call
         */
        void atPoint(Context context);
    }

    /** What {@code chain_point} captured, for the thread that runs a chain: valid during its callback. */
    public static final class Context {
        private final MemorySegment words;
        private AtPoint callback;
        private Throwable failure;
        private StackMemory stack;
        private long stackLow;
        private long stackHigh;

        private Context(MemorySegment words) {
            this.words = words;
        }

        private long word(int index) {
            return words.getAtIndex(ValueLayout.JAVA_LONG, index);
        }

        /**
         * The captured registers by DWARF number into {@code into}: rbx, rbp, rsp, r12 to r15 and
         * the pc (16) as {@code chain_point} had them after its call to the capture helper; the
         * others, which no function keeps across a call, are 0.
         *
         * @param into an array of at least {@link #REGISTERS} elements
         */
        public void registers(long[] into) {
            MemorySegment.copy(words, ValueLayout.JAVA_LONG, 0, into, 0, REGISTERS);
        }

        /**
         * The captured pc: a return address inside {@code chain_point}.
         *
         * @return the pc
         */
        public long pc() {
            return word(16);
        }

        /**
         * The captured stack pointer.
         *
         * @return {@code chain_point}'s sp
         */
        public long sp() {
            return word(7);
        }

        /**
         * This thread's stack, from its lowest address to its highest, as
         * {@link StackMemory#ofNative}; the same object while the bounds stay the same.
         *
         * @return the memory of this thread's stack
         */
        public StackMemory stack() {
            long low = word(STACK_LOW);
            long high = word(STACK_HIGH);
            if (stack == null || low != stackLow || high != stackHigh) {
                stack = StackMemory.ofNative(LiveStack.ADDRESS_SPACE.asSlice(low, high - low));
                stackLow = low;
                stackHigh = high;
            }
            return stack;
        }

        /**
         * The number of pcs glibc's {@code backtrace()} listed from {@code chain_point}; 0 if the
         * run did not ask for the oracle.
         *
         * @return the count
         */
        public int oracleCount() {
            return (int) word(ORACLE_COUNT);
        }

        /**
         * A pc of the oracle, innermost first.
         *
         * @param index from 0 to {@link #oracleCount()} - 1
         * @return the pc
         * @throws IndexOutOfBoundsException if {@code index} is out of range
         */
        public long oraclePc(int index) {
            if (index < 0 || index >= oracleCount()) {
                throw new IndexOutOfBoundsException("index: " + index + " (expected: 0 to " + (oracleCount() - 1) + ")");
            }
            return word(ORACLE + index);
        }
    }

    private LiveChain(LiveStack live) {
        Linker linker = Linker.nativeLinker();
        SymbolLookup symbols = LiveStack.loadLibrary(live.library());
        chain = LiveStack.downcall(linker, symbols.findOrThrow("live_chain"), FunctionDescriptor.of(ValueLayout.JAVA_LONG,
                ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        MethodHandle words = LiveStack.downcall(linker, symbols.findOrThrow("live_chain_context_words"),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG));
        try {
            contextWords = (long) words.invokeExact();
            MethodHandle target = MethodHandles.lookup()
                    .findVirtual(LiveChain.class, "atPoint", MethodType.methodType(void.class))
                    .bindTo(this);
            upcall = LiveStack.upcallStub(linker, target, FunctionDescriptor.ofVoid());
        } catch (Throwable e) {
            throw LiveStack.rethrow(e);
        }
        contexts = ThreadLocal.withInitial(
                () -> new Context(Arena.ofAuto().allocate(ValueLayout.JAVA_LONG, contextWords)));
    }

    /**
     * Returns the chain of the library that {@link LiveStack#load()} loads; the first call links it.
     *
     * @return the chain
     * @throws IllegalStateException if the library was not built
     */
    public static LiveChain load() {
        LiveChain chain = defaultInstance;
        if (chain == null) {
            synchronized (LiveChain.class) {
                chain = defaultInstance;
                if (chain == null) {
                    chain = new LiveChain(LiveStack.load());
                    defaultInstance = chain;
                }
            }
        }
        return chain;
    }

    /**
     * Tells whether chains run on this machine: the host must be x86_64.
     *
     * @return whether {@link #run} can work here
     */
    public static boolean isSupported() {
        String arch = System.getProperty("os.arch");
        return arch.equals("amd64") || arch.equals("x86_64");
    }

    /**
     * Runs a chain of {@code levels} levels and calls {@code callback} at its innermost frame.
     *
     * @param levels how many times the chain goes through {@code qsort}, 1 to {@value #MAX_LEVELS}
     * @param oracle whether {@code chain_point} lists the frames with glibc's {@code backtrace()}
     * @param callback called once, at {@code chain_point}
     * @return {@code levels}
     * @throws IllegalArgumentException if {@code levels} is out of range
     * @throws IllegalStateException if the host is not x86_64 or the thread's stack bounds are unknown
     * @throws RuntimeException or {@link Error}: what {@code callback} threw
     */
    public long run(int levels, boolean oracle, AtPoint callback) {
        requireNonNull(callback, "callback");
        Context context = contexts.get();
        AtPoint outerCallback = context.callback;
        context.callback = callback;
        context.failure = null;
        long result;
        Throwable failure;
        try {
            result = call(levels, oracle, context, upcall);
        } finally {
            failure = context.failure;
            context.failure = null;
            context.callback = outerCallback;
        }
        if (failure != null) {
            throw LiveStack.rethrow(failure);
        }
        return result;
    }

    /**
     * Runs a chain of {@code levels} levels and calls the C function {@code action}, which takes no
     * argument and returns nothing, at its innermost frame. {@link #context()} then has what
     * {@code chain_point} captured.
     *
     * @param levels how many times the chain goes through {@code qsort}, 1 to {@value #MAX_LEVELS}
     * @param oracle whether {@code chain_point} lists the frames with glibc's {@code backtrace()}
     * @param action the address of a C function {@code void action(void)}
     * @return {@code levels}
     * @throws IllegalArgumentException if {@code levels} is out of range
     * @throws IllegalStateException if the host is not x86_64 or the thread's stack bounds are unknown
     */
    public long run(int levels, boolean oracle, MemorySegment action) {
        requireNonNull(action, "action");
        return call(levels, oracle, contexts.get(), action);
    }

    /**
     * The calling thread's context: what its last run captured.
     *
     * @return the context
     */
    public Context context() {
        return contexts.get();
    }

    private long call(int levels, boolean oracle, Context context, MemorySegment action) {
        if (levels < 1 || levels > MAX_LEVELS) {
            throw new IllegalArgumentException("levels: " + levels + " (expected: 1 to " + MAX_LEVELS + ")");
        }
        long result;
        try {
            result = (long) chain.invokeExact(levels, context.words, action, oracle ? 1 : 0);
        } catch (Throwable e) {
            throw LiveStack.rethrow(e);
        }
        if (result == UNSUPPORTED) {
            throw new IllegalStateException("live_chain runs on x86_64 only; this host is " + System.getProperty("os.arch"));
        }
        if (result == STACK_UNKNOWN) {
            throw new IllegalStateException("live_chain cannot find this thread's stack bounds");
        }
        if (result == BAD_ARGUMENT || result != levels) {
            throw new IllegalStateException("live_chain(" + levels + ") returned " + result);
        }
        return result;
    }

    /** The upcall target: runs the current thread's callback, and never lets anything escape into C. */
    @SuppressWarnings("unused") // called through the upcall stub
    private void atPoint() {
        Context context = null;
        try {
            context = contexts.get();
            context.callback.atPoint(context);
        } catch (Throwable e) {
            if (context != null) {
                context.failure = e;
            }
        }
    }
}
