package dev.unwinder.livestack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.api.ControlFlow;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.core.StackWalk;
import dev.unwinder.core.Unwinders;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The binding's contract: arguments, failures in callbacks, nesting, stack limits and symbols. */
final class LiveStackTest {
    private static final long STACK = 16L << 20;

    private LiveStack live;

    @BeforeEach
    void setUp() {
        live = LiveFixtures.liveStack();
    }

    @Test
    void loadReturnsOneSharedInstance() {
        assertSame(live, LiveStack.load());
        assertEquals(live.library(), LiveStack.defaultLibraryFile().orElseThrow().toAbsolutePath());
    }

    @Test
    void rejectsBadArguments() {
        LiveStack.AtBottom nothing = (pc, fp, entryFp) -> { };
        IllegalArgumentException zero = assertThrows(IllegalArgumentException.class, () -> live.descend(0, nothing));
        assertEquals("depth: 0 (expected: >= 1)", zero.getMessage());
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class, () -> live.descend(-5, nothing));
        assertEquals("depth: -5 (expected: >= 1)", negative.getMessage());
        NullPointerException noCallback = assertThrows(NullPointerException.class, () -> live.descend(1, null));
        assertEquals("callback", noCallback.getMessage());

        assertEquals("level: 12 (expected: 0 to depth + 1 = 11)",
                assertThrows(IllegalArgumentException.class, () -> live.functionAtLevel(12, 10)).getMessage());
        assertEquals("level: -1 (expected: 0 to depth + 1 = 11)",
                assertThrows(IllegalArgumentException.class, () -> live.functionAtLevel(-1, 10)).getMessage());
        assertEquals("depth: 0 (expected: >= 1)",
                assertThrows(IllegalArgumentException.class, () -> live.functionAtLevel(0, 0)).getMessage());
    }

    @Test
    void aCallbackThatThrowsUnwindsTheNativeFramesAndTheExceptionReachesTheCaller() {
        IllegalStateException thrown = new IllegalStateException("thrown at the bottom");
        IllegalStateException caught = assertThrows(IllegalStateException.class,
                () -> live.descend(50, (pc, fp, entryFp) -> {
                    throw thrown;
                }));
        assertSame(thrown, caught);
        AssertionError error = new AssertionError("an Error too");
        assertSame(error, assertThrows(AssertionError.class, () -> live.descend(3, (pc, fp, entryFp) -> {
            throw error;
        })));
        // The native frames returned normally: the same thread descends again.
        AtomicInteger calls = new AtomicInteger();
        assertEquals(8, live.descend(7, (pc, fp, entryFp) -> calls.incrementAndGet()));
        assertEquals(1, calls.get());
    }

    @Test
    void aCallbackMayDescendAgainAndEachDescentWalksItsOwnFrames() throws Exception {
        Unwind unwind = Unwinders.host();
        List<String> walks = new ArrayList<>();
        long outer = LiveFixtures.onThreadWithStack(STACK, () -> live.descend(5, (pc, fp, entryFp) -> {
            long inner = live.descend(3, (innerPc, innerFp, innerEntryFp) -> {
                assertTrue(Long.compareUnsigned(innerEntryFp, fp) < 0, "the inner descent runs below the outer one");
                walks.add("inner " + count(unwind, innerPc, innerFp, innerEntryFp));
            });
            walks.add("inner counted " + inner);
            walks.add("outer " + count(unwind, pc, fp, entryFp));
        }));
        assertEquals(List.of("inner 4", "inner counted 4", "outer 6"), walks);
        assertEquals(6, outer);
    }

    private static int count(Unwind unwind, long pc, long fp, long entryFp) {
        StackMemory stack = LiveStack.stackBetween(unwind, fp, entryFp);
        int[] frames = {0};
        StackWalk.visitFrames(unwind, stack, pc, fp, entryFp, frame -> {
            frames[0]++;
            return ControlFlow.continueWalk();
        });
        return frames[0];
    }

    @Test
    void aDescentDeeperThanTheThreadsStackStopsInTimeAndThrows() throws Exception {
        // 2 MiB of stack cannot hold a million levels of a few hundred bytes each.
        AtomicInteger calls = new AtomicInteger();
        IllegalStateException e = LiveFixtures.onThreadWithStack(2L << 20, () -> {
            IllegalStateException thrown = assertThrows(IllegalStateException.class,
                    () -> live.descend(1_000_000, (pc, fp, entryFp) -> calls.incrementAndGet()));
            // The thread is fine afterwards.
            assertEquals(11, live.descend(10, (pc, fp, entryFp) -> { }));
            return thrown;
        });
        assertEquals("depth: 1000000 (expected: a depth this thread's stack holds with 262144 bytes to spare;"
                + " run deep descents on a thread created with a larger stack size)", e.getMessage());
        assertEquals(0, calls.get(), "the callback of a descent that stopped early");
        assertEquals(256 * 1024, live.stackReserve());
    }

    @Test
    void functionsComeFromTheElfSymbolTableAtTheirAddressesInThisProcess() {
        List<String> names = live.functions().stream().map(NativeFunction::name).toList();
        assertTrue(names.containsAll(List.of("live_descend", "live_function_at", "live_stack_reserve", "live_bottom",
                "level_plain", "level_big_frame", "level_alloca", "level_stack_args")), names::toString);
        NativeFunction bottom = live.functionAtLevel(2, 1);
        assertEquals("live_bottom", bottom.name());
        assertEquals(Optional.of(bottom), live.functionContaining(bottom.address()));
        assertEquals(Optional.of(bottom), live.functionContaining(bottom.address() + bottom.size() - 1));
        assertFalse(live.functionContaining(0).isPresent());
        assertFalse(live.functionContaining(-1).isPresent());
        // The rotation of levels, as the C code reports it.
        assertEquals(List.of("live_descend", "level_plain", "level_big_frame", "level_alloca", "level_stack_args",
                        "level_plain", "live_bottom"),
                java.util.stream.IntStream.rangeClosed(0, 6).mapToObj(level -> live.functionAtLevel(level, 5).name()).toList());
    }

    @Test
    void stackBetweenCoversExactlyWhatTheWalkReads() {
        Unwind x86 = Unwinders.forArch("x86_64");
        StackMemory stack = LiveStack.stackBetween(x86, 0x7ffd_0000_1000L, 0x7ffd_0000_2000L);
        assertEquals(0x7ffd_0000_1000L, stack.baseAddress());
        assertEquals(0x1000, stack.size());
        // riscv64 keeps its link words below fp: the window moves down by 16 bytes.
        StackMemory riscv = LiveStack.stackBetween(Unwinders.forArch("riscv64"), 0x7ffd_0000_1000L, 0x7ffd_0000_2000L);
        assertEquals(0x7ffd_0000_1000L - 16, riscv.baseAddress());
        assertEquals(0x1000, riscv.size());

        assertEquals("innermostFp: 0x2000 (expected: below entryFp 0x1000)",
                assertThrows(IllegalArgumentException.class, () -> LiveStack.stackBetween(x86, 0x2000, 0x1000)).getMessage());
        assertEquals("innermostFp: 0x1000 (expected: below entryFp 0x1000)",
                assertThrows(IllegalArgumentException.class, () -> LiveStack.stackBetween(x86, 0x1000, 0x1000)).getMessage());
        assertEquals("innermostFp: 0x0 (expected: not 0)",
                assertThrows(IllegalArgumentException.class, () -> LiveStack.stackBetween(x86, 0, 0x1000)).getMessage());
    }

    @Test
    void loadRejectsFilesThatAreNotTheLibrary(@TempDir Path directory) throws Exception {
        Path missing = directory.resolve("missing.so");
        assertEquals("library: " + missing + " (expected: a shared library file)",
                assertThrows(IllegalArgumentException.class, () -> LiveStack.load(missing)).getMessage());
        Path text = Files.writeString(directory.resolve("text.so"), "not an ELF file");
        assertEquals(text + ": not an ELF file (it does not start with the ELF magic 7f 45 4c 46)",
                assertThrows(IllegalArgumentException.class, () -> LiveStack.load(text)).getMessage());
    }
}
