package dev.unwinder.examples;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.core.LenientWalk;
import dev.unwinder.core.StackWalk;
import dev.unwinder.core.Unwinders;
import dev.unwinder.testkit.SyntheticStack;

/**
 * Selects the plugin for this host at run time, builds a small stack in its layout, and walks it
 * in both modes: strictly to the entry frame's fp, then leniently to the end of the chain.
 */
public final class HostWalkExample {
    private HostWalkExample() {}

    /**
     * Runs the example.
     *
     * @param args an architecture name or alias to use instead of the host's, optionally
     */
    public static void main(String[] args) {
        Unwind unwind = args.length > 0 ? Unwinders.forArch(args[0]) : Unwinders.host();
        System.out.println("plugins: " + Unwinders.available().stream().map(Unwind::name).toList());
        System.out.println("walking with " + unwind.name() + ": " + unwind.describeLayout());

        SyntheticStack stack = SyntheticStack.generate(unwind, 5);
        StackMemory memory = stack.heapMemory();
        System.out.println("stack: " + memory);

        System.out.println("strict walk to the entry fp 0x" + Long.toHexString(stack.entryFp()) + ":");
        StackWalk.visitFrames(unwind, memory, stack.pc(0), stack.fp(0), stack.entryFp(), frame -> {
            System.out.printf("  #%d pc=0x%x fp=0x%x%n", frame.index(), frame.pc(), frame.fp());
            return ControlFlow.continueWalk();
        });

        LenientWalk<Void> lenient = StackWalk.visitFramesLenient(
                unwind, memory, stack.pc(0), stack.fp(0), 0, 64, frame -> ControlFlow.continueWalk());
        System.out.println("lenient walk: " + lenient.frameCount() + " frames, ended by " + lenient.end());
    }
}
