package dev.unwinder.examples;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.core.StackWalk;
import dev.unwinder.core.Unwinders;
import dev.unwinder.elf.Demangler;
import dev.unwinder.elf.ElfException;
import dev.unwinder.elf.Module;
import dev.unwinder.elf.ModuleMap;
import dev.unwinder.elf.ProcessModules;
import dev.unwinder.elf.SymbolFiles;
import dev.unwinder.livestack.LiveStack;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.util.List;

/**
 * Walks this process's own native frames while they are live, as a runtime that calls into
 * native code would: Java calls a C entry function, the C code recurses to a chosen depth and
 * calls back into Java, and the callback walks the native frames between its caller and the
 * entry function by their frame-pointer chain, strictly, up to the entry function's fp. It names
 * each frame as an in-process profiler would: from this process's modules, read once from
 * {@code /proc/self/maps} before the walk ({@link ProcessModules}), whose lookups allocate nothing.
 *
 * <p>Run it with {@code --enable-native-access=ALL-UNNAMED} on the class path (see
 * {@link LiveStack}).
 */
public final class LiveWalkExample {
    private static final int DEFAULT_DEPTH = 10;
    /** Stack for the JVM's own frames and the reserve the descent keeps free. */
    private static final long STACK_BASE = 4L << 20;
    /** More than a level's native frame takes on average (about 360 bytes on x86_64 with GCC 12). */
    private static final long STACK_PER_LEVEL = 2048;

    private LiveWalkExample() {}

    /**
     * Runs the example.
     *
     * @param args the depth of the descent, optionally (10 if absent)
     * @throws InterruptedException if interrupted while the walking thread runs
     */
    public static void main(String[] args) throws InterruptedException {
        int depth = args.length > 0 ? Integer.parseInt(args[0]) : DEFAULT_DEPTH;
        // The native frames take the calling thread's stack: give the walk a thread with room for them.
        long stackSize = STACK_BASE + depth * STACK_PER_LEVEL;
        Throwable[] failure = {null};
        Thread walker = new Thread(null, () -> walk(depth), "live-walk", stackSize);
        walker.setUncaughtExceptionHandler((thread, e) -> failure[0] = e);
        walker.start();
        walker.join();
        if (failure[0] instanceof RuntimeException e) {
            throw e;
        } else if (failure[0] instanceof Error e) {
            throw e;
        }
    }

    private static void walk(int depth) {
        Unwind unwind = Unwinders.host();
        LiveStack live = LiveStack.load();
        try (Arena symbols = Arena.ofConfined()) {
            ModuleMap modules = ProcessModules.self(SymbolFiles.of(symbols, null,
                    List.of(SymbolFiles.DEFAULT_DEBUG_DIRECTORY), List.of(), Demangler.none())).modules();
            walk(depth, unwind, live, modules);
        } catch (ElfException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void walk(int depth, Unwind unwind, LiveStack live, ModuleMap modules) {
        System.out.println("java " + Runtime.version() + ", library " + live.library());
        System.out.println("walking with " + unwind.name() + ": " + unwind.describeLayout());

        long counted = live.descend(depth, (pc, fp, entryFp) -> {
            StackMemory stack = LiveStack.stackBetween(unwind, fp, entryFp);
            System.out.printf("at the bottom of a descent of %d levels: pc=0x%x fp=0x%x entry fp=0x%x%n",
                    depth, pc, fp, entryFp);
            System.out.println("stack: " + stack);
            int[] frames = {0};
            StackWalk.visitFrames(unwind, stack, pc, fp, entryFp, frame -> {
                // Every pc but the first is a return address, just after a call: find its function by pc - 1.
                long lookup = frame.index() == 0 ? frame.pc() : frame.pc() - 1;
                Module module = modules.find(lookup);
                int symbol = module == null ? -1 : module.symbols().lookup(lookup);
                String where = symbol < 0 ? "?" : module.symbols().name(symbol) + "+0x"
                        + Long.toHexString(frame.pc() - module.symbols().start(symbol)) + " (" + module.name() + ")";
                if (frame.index() < 8 || frame.index() > depth - 4) {
                    System.out.printf("  #%-6d pc=0x%x fp=0x%x  %s%n", frame.index(), frame.pc(), frame.fp(), where);
                } else if (frame.index() == 8) {
                    System.out.println("  ...");
                }
                frames[0]++;
                return ControlFlow.continueWalk();
            });
            System.out.println("walked " + frames[0] + " native frames up to the entry fp");
        });
        System.out.println("the C code counted " + counted + " frames below its entry function");
    }
}
