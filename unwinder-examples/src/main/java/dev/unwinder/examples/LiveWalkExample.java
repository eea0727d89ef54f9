package dev.unwinder.examples;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.core.StackWalk;
import dev.unwinder.core.Unwinders;

/**
 * Walks this process's own native frames while they are live, as a runtime that calls into
 * native code would: Java calls a C entry function, the C code recurses to a chosen depth and
 * calls back into Java, and the callback walks the native frames between its caller and the
 * entry function by their frame-pointer chain, strictly, with the entry fp as the sentinel.
 *
 * <p>Run it with {@code --enable-native-access=ALL-UNNAMED} on the class path (see
 * {@link LiveStack}).
 */
public final class LiveWalkExample {
    private static final int DEFAULT_DEPTH = 10;

    private LiveWalkExample() {}

    /**
     * Runs the example.
     *
     * @param args the depth of the descent, optionally (10 if absent)
     */
    public static void main(String[] args) {
        int depth = args.length > 0 ? Integer.parseInt(args[0]) : DEFAULT_DEPTH;
        Unwind unwind = Unwinders.host();
        LiveStack live = LiveStack.load();
        System.out.println("library: " + live.library());
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
                String where = live.functionContaining(lookup)
                        .map(function -> function.name() + "+0x" + Long.toHexString(frame.pc() - function.address()))
                        .orElse("?");
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
