package dev.unwinder.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.api.Registers;
import dev.unwinder.api.StackMemory;
import dev.unwinder.api.Unwind;
import dev.unwinder.core.Unwinders;
import dev.unwinder.testkit.PluginConformance;
import dev.unwinder.testkit.ReleasePlugins;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The published conformance checks ({@link PluginConformance}) on every plugin found at run time,
 * one dynamic test per check, plugin and memory; and a plugin with a wrong layout, which they must
 * catch.
 */
final class PluginConformanceTest {

    @TestFactory
    Stream<DynamicTest> everyPluginFoundPassesEveryCheck() {
        assertEquals(ReleasePlugins.NAMES, Unwinders.available().stream().map(Unwind::name).toList());
        return Unwinders.available().stream()
                .flatMap(unwind -> PluginConformance.checks(unwind).entrySet().stream())
                .map(check -> DynamicTest.dynamicTest(check.getKey(), check.getValue()::run));
    }

    /** x86_64's layout with a return-address decoder that adds 1: it walks, but names the wrong pcs. */
    private static final class WrongDecoder implements Unwind {
        private final Unwind real = Unwinders.forArch("x86_64");

        @Override public String name() { return "wrong-decoder"; }
        @Override public int wordSize() { return 8; }
        @Override public ByteOrder byteOrder() { return ByteOrder.LITTLE_ENDIAN; }
        @Override public long nextOlderFpFromFpOffset() { return 0; }
        @Override public long nextOlderSpFromFpOffset() { return 16; }
        @Override public long nextOlderPcFromFpOffset() { return 8; }
        @Override public int fpAlignment() { return 8; }
        @Override public int stackPointerRegister() { return real.stackPointerRegister(); }
        @Override public OptionalInt linkRegister() { return real.linkRegister(); }
        @Override public long startFp(Registers registers, StackMemory memory) { return real.startFp(registers, memory); }
        // A decoder that changes the return address: the frames' pcs no longer match the stack's.
        @Override public long decodeReturnAddress(long savedWord) { return savedWord + 1; }
    }

    @Test
    void theChecksCatchAPluginThatDecodesReturnAddressesWrongly() {
        Map<String, Runnable> checks = PluginConformance.checks(new WrongDecoder());
        Runnable complete = checks.get("wrong-decoder: walks every frame exactly to the entry fp [heap below 2^63]");
        AssertionError e = assertThrows(AssertionError.class, complete::run);
        assertTrue(e.getMessage().startsWith(
                "wrong-decoder: walks every frame exactly to the entry fp [heap below 2^63]: pc of frame 1: expected 0x"),
                e.getMessage());
        assertThrows(AssertionError.class, () -> PluginConformance.check(new WrongDecoder()));
    }
}
