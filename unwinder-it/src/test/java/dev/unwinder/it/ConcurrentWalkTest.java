package dev.unwinder.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.Frame;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.core.LenientWalk;
import dev.unwinder.core.StackWalk;
import dev.unwinder.core.Unwinders;
import dev.unwinder.testkit.SyntheticStack;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.CyclicBarrier;
import org.junit.jupiter.api.Test;

/** Many threads walking through the same Unwind and StackMemory objects get what one thread gets. */
final class ConcurrentWalkTest {
    private static final int THREADS = 8;
    private static final int ROUNDS = 40;

    /** Every way of walking the stack, as one comparable value. */
    private static List<Object> everyWalk(Unwind unwind, StackMemory memory, SyntheticStack stack) {
        List<Long> strict = new ArrayList<>();
        StackWalk.visitFrames(unwind, memory, stack.pc(0), stack.fp(0), stack.entryFp(), frame -> {
            strict.add(frame.pc());
            strict.add(frame.fp());
            strict.add(frame.readSlotFromFp(unwind.nextOlderPcFromFpOffset()));
            return ControlFlow.continueWalk();
        });
        List<Long> iterated = new ArrayList<>();
        StackWalk.frameIterator(unwind, memory, stack.pc(0), stack.fp(0), stack.entryFp())
                .forEachRemaining((Frame frame) -> iterated.add(frame.fp()));
        List<Long> lenient = new ArrayList<>();
        LenientWalk<Void> walk = StackWalk.visitFramesLenient(unwind, memory, stack.pc(0), stack.fp(0), StackWalk.NO_ENTRY_FP, 100_000, f -> {
            lenient.add(f.pc());
            return ControlFlow.continueWalk();
        });
        return List.of(strict, iterated, lenient, walk.end(), walk.frameCount());
    }

    @Test
    void sharedPluginsAndMemoryGiveEveryThreadTheSameWalks() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try (Arena arena = Arena.ofShared()) {
            for (Unwind unwind : Unwinders.available()) {
                SyntheticStack.Native inNative = SyntheticStack.inNativeMemory(unwind, 2_000, SyntheticStack.SIZE_SEED, arena);
                SyntheticStack stack = inNative.stack();
                for (StackMemory memory : List.of(inNative.memory(), StackMemory.ofBytes(stack.bytes(),
                        stack.baseAddress(), unwind.byteOrder()))) {
                    List<Object> expected = everyWalk(unwind, memory, stack);
                    assertEquals(2_001, expected.get(4), "the single-threaded walk is complete");
                    CyclicBarrier start = new CyclicBarrier(THREADS);
                    List<Future<List<List<Object>>>> results = new ArrayList<>();
                    for (int t = 0; t < THREADS; t++) {
                        results.add(pool.submit(() -> {
                            start.await();
                            List<List<Object>> seen = new ArrayList<>();
                            for (int round = 0; round < ROUNDS; round++) {
                                seen.add(everyWalk(unwind, memory, stack));
                            }
                            return seen;
                        }));
                    }
                    for (Future<List<List<Object>>> result : results) {
                        for (List<Object> walks : result.get()) {
                            assertEquals(expected, walks, unwind.name() + " " + memory);
                        }
                    }
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
