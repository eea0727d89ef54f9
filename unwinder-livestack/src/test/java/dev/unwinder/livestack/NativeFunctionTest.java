package dev.unwinder.livestack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

final class NativeFunctionTest {

    @Test
    void containsIsAHalfOpenUnsignedRange() {
        NativeFunction f = new NativeFunction("f", 0x1000, 0x20);
        assertTrue(f.contains(0x1000));
        assertTrue(f.contains(0x101f));
        assertFalse(f.contains(0x1020));
        assertFalse(f.contains(0xfff));
        NativeFunction high = new NativeFunction("high", 0xffff_ffff_ffff_ff00L, 0x100);
        assertTrue(high.contains(0xffff_ffff_ffff_ffffL));
        assertFalse(high.contains(0x7fff_ffff_ffff_ffffL));
        assertEquals("f+0x1f", f.symbolize(0x101f));
        assertEquals("f[0x1000, 0x1020)", f.toString());
    }

    @Test
    void rejectsBadComponents() {
        assertEquals("size: 0 (expected: > 0)",
                assertThrows(IllegalArgumentException.class, () -> new NativeFunction("f", 0x1000, 0)).getMessage());
        assertEquals("address: 0xffffffffffffff00 (expected: 512 bytes to fit below 2^64)",
                assertThrows(IllegalArgumentException.class,
                        () -> new NativeFunction("f", 0xffff_ffff_ffff_ff00L, 512)).getMessage());
        assertEquals("name", assertThrows(NullPointerException.class, () -> new NativeFunction(null, 1, 1)).getMessage());
        NativeFunction f = new NativeFunction("f", 0x1000, 0x20);
        assertEquals("pc: 0x1020 (expected: inside f, [0x1000, 0x1020))",
                assertThrows(IllegalArgumentException.class, () -> f.symbolize(0x1020)).getMessage());
    }
}
