package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.ProcessMaps.Mapping;
import java.util.List;
import org.junit.jupiter.api.Test;

final class ProcessMapsTest {
    private static final String LINE_FORM = " (expected: START-END PERMS OFFSET DEV INODE [PATH])";

    private static Mapping one(String line) throws ElfException {
        List<Mapping> mappings = ProcessMaps.parse("test", line + "\n");
        assertEquals(1, mappings.size());
        return mappings.getFirst();
    }

    private static String error(String content) {
        return assertThrows(ElfException.class, () -> ProcessMaps.parse("test", content)).getMessage();
    }

    @Test
    void aLineOfAFile() throws ElfException {
        Mapping libc = one("7f17eb454000-7f17eb5aa000 r-xp 00026000 fe:00 339380                     "
                + "/usr/lib/x86_64-linux-gnu/libc.so.6");
        assertEquals(new Mapping(0x7f17eb454000L, 0x7f17eb5aa000L, "r-xp", 0x26000, "fe:00", 339380,
                "/usr/lib/x86_64-linux-gnu/libc.so.6", false), libc);
        assertTrue(libc.executable());
        assertFalse(libc.anonymous());
        assertTrue(libc.contains(0x7f17eb454000L));
        assertTrue(libc.contains(0x7f17eb5a9fffL));
        assertFalse(libc.contains(0x7f17eb5aa000L));
        assertFalse(libc.contains(0x7f17eb453fffL));
    }

    @Test
    void anonymousMemoryHasNoPathWithOrWithoutATrailingSpace() throws ElfException {
        Mapping expected = new Mapping(0x7f17eb3a9000L, 0x7f17eb3cb000L, "rw-p", 0, "00:00", 0, "", false);
        assertEquals(expected, one("7f17eb3a9000-7f17eb3cb000 rw-p 00000000 00:00 0 "));
        assertEquals(expected, one("7f17eb3a9000-7f17eb3cb000 rw-p 00000000 00:00 0"));
        assertEquals(expected, one("7f17eb3a9000-7f17eb3cb000 rw-p 00000000 00:00 0                          "));
        assertTrue(expected.anonymous());
        assertFalse(expected.executable());
    }

    @Test
    void pseudoPaths() throws ElfException {
        for (String path : List.of("[heap]", "[stack]", "[vdso]", "[vvar]", "[vvar_vclock]", "[anon:v8 heap]",
                "[anon_shmem:wasm memory]", "anon_inode:[perf_event]")) {
            Mapping mapping = one("7ffc3b355000-7ffc3b376000 rw-p 00000000 00:00 0                          " + path);
            assertEquals(path, mapping.path());
            assertFalse(mapping.deleted());
            assertFalse(mapping.anonymous());
        }
    }

    @Test
    void theVsyscallPageSitsAtTheTopOfTheAddressSpace() throws ElfException {
        Mapping vsyscall = one("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]");
        assertEquals(0xffffffffff600000L, vsyscall.start());
        assertEquals(0xffffffffff601000L, vsyscall.end());
        assertTrue(vsyscall.contains(0xffffffffff600400L));
        assertFalse(vsyscall.contains(0x1000));
        assertTrue(vsyscall.executable());
    }

    @Test
    void pathsMayHoldSpacesAndEndInDeleted() throws ElfException {
        Mapping spaces = one("7f0000000000-7f0000001000 r--s 00001000 103:02 12                 /tmp/a dir/my lib.so");
        assertEquals("/tmp/a dir/my lib.so", spaces.path());
        assertEquals("103:02", spaces.device());
        assertEquals("r--s", spaces.permissions());
        assertEquals(0x1000, spaces.offset());
        assertFalse(spaces.deleted());
        Mapping memfd = one("7f0000000000-7f0000001000 r-xs 00000000 00:01 2050                /memfd:jit code (deleted)");
        assertEquals("/memfd:jit code", memfd.path());
        assertTrue(memfd.deleted());
        Mapping twice = one("7f0000000000-7f0000001000 r--p 00000000 fe:00 7 /tmp/x (deleted) (deleted)");
        assertEquals("/tmp/x (deleted)", twice.path());
        assertTrue(twice.deleted());
        // " (deleted)" needs its space: after the padding, there is none.
        Mapping bare = one("7f0000000000-7f0000001000 r--p 00000000 fe:00 7  (deleted)");
        assertEquals("(deleted)", bare.path());
        assertFalse(bare.deleted());
        // A newline in a path is written \012 by the kernel, and kept so.
        assertEquals("/tmp/new\\012line", one("7f0000000000-7f0000001000 r--p 00000000 fe:00 7 /tmp/new\\012line").path());
    }

    @Test
    void numbersAtTheirWidest() throws ElfException {
        Mapping mapping = one("08048000-08049000 r--p ffffffffffffffff FFF:fffff 18446744073709551615 /a");
        assertEquals(0x08048000L, mapping.start());
        assertEquals(-1L, mapping.offset());
        assertEquals("FFF:fffff", mapping.device());
        assertEquals(-1L, mapping.inode());
    }

    @Test
    void linesAndTheirEnds() throws ElfException {
        assertEquals(List.of(), ProcessMaps.parse("test", ""));
        List<Mapping> two = ProcessMaps.parse("test",
                "1000-2000 r--p 00000000 00:00 0\n3000-4000 r--p 00000000 00:00 0 [heap]");
        assertEquals(2, two.size());
        assertEquals("[heap]", two.get(1).path());
        assertThrows(UnsupportedOperationException.class, () -> two.add(two.getFirst()));
    }

    @Test
    void aMissingOrTruncatedFieldNamesTheLine() {
        assertEquals("test: line 2: \"\" ends before START" + LINE_FORM, error("1000-2000 r--p 00000000 00:00 0\n\n"));
        assertEquals("test: line 1: \"1000-2000 r-xp\" ends after PERMS" + LINE_FORM, error("1000-2000 r-xp\n"));
        assertEquals("test: line 1: \"1000-2000 r-xp \" ends before OFFSET" + LINE_FORM, error("1000-2000 r-xp \n"));
        assertEquals("test: line 1: \"1000-2000 r-xp 0 00:00\" ends after DEV" + LINE_FORM, error("1000-2000 r-xp 0 00:00"));
        assertEquals("test: line 1: \"1000-2000\" ends after END" + LINE_FORM, error("1000-2000"));
        assertEquals("test: line 1: START: \"1000\" has no '-' after it" + LINE_FORM, error("1000 r-xp 0 00:00 0\n"));
        assertEquals("test: line 1: START: \"1000\" has no '-' after it" + LINE_FORM, error("1000"));
    }

    @Test
    void aMalformedFieldIsNamedWithWhatWasExpected() {
        String prefix = "test: line 1: ";
        assertEquals(prefix + "START: \"10g0\" (expected: a hex address of at most 16 digits)", error("10g0-2000 r-xp 0 00:00 0"));
        assertEquals(prefix + "START: \"\" (expected: a hex address of at most 16 digits)", error("-2000 r-xp 0 00:00 0"));
        assertEquals(prefix + "END: \"0x2000\" (expected: a hex address of at most 16 digits)", error("1000-0x2000 r-xp 0 00:00 0"));
        assertEquals(prefix + "END: \"10000000000000000\" (expected: a hex address of at most 16 digits)",
                error("1000-10000000000000000 r-xp 0 00:00 0"));
        assertEquals(prefix + "START-END: 2000-1000 is empty or reversed (expected: START below END)",
                error("2000-1000 r-xp 0 00:00 0"));
        assertEquals(prefix + "START-END: 1000-1000 is empty or reversed (expected: START below END)",
                error("1000-1000 r-xp 0 00:00 0"));
        assertEquals(prefix + "PERMS: \"rwzp\" (expected: r or -, w or -, x or -, then p or s, such as r-xp)",
                error("1000-2000 rwzp 0 00:00 0"));
        assertEquals(prefix + "PERMS: \"r-x\" (expected: r or -, w or -, x or -, then p or s, such as r-xp)",
                error("1000-2000 r-x 0 00:00 0"));
        assertEquals(prefix + "PERMS: \"\" (expected: r or -, w or -, x or -, then p or s, such as r-xp)",
                error("1000-2000  r-xp 0 00:00 0"));
        assertEquals(prefix + "OFFSET: \"0000000g\" (expected: a hex number of at most 16 digits)",
                error("1000-2000 r-xp 0000000g 00:00 0"));
        for (String device : List.of("fe00", "fe:", ":00", "fe:00:01", "fg:00", "123456789:0")) {
            assertEquals(prefix + "DEV: \"" + device + "\" (expected: MAJOR:MINOR in hex, such as fd:01)",
                    error("1000-2000 r-xp 0 " + device + " 0"), device);
        }
        for (String inode : List.of("12a", "-1", "+1", "18446744073709551616", "")) {
            assertEquals(prefix + "INODE: \"" + inode + "\" (expected: a decimal number of at most 64 bits)",
                    error("1000-2000 r-xp 0 00:00 " + inode + " /a"), inode);
        }
    }

    @Test
    void theTextInAnErrorIsOneLineAndCutShort() {
        assertEquals("test: line 1: PERMS: \"r\\u0009x\\u0022\" (expected: r or -, w or -, x or -, then p or s, such as r-xp)",
                error("1000-2000 r\tx\" 0 00:00 0"));
        assertEquals("test: line 1: \"1000-2000 r-xp\\u000d\" ends after PERMS" + LINE_FORM, error("1000-2000 r-xp\r\n"));
        assertEquals("test: line 1: START: \"" + "1".repeat(60) + "...\" (expected: a hex address of at most 16 digits)",
                error("1".repeat(100) + "-2 r-xp 0 00:00 0"));
    }

    @Test
    void aMappingIsNeverEmpty() {
        assertEquals("end: 0x1000 (expected: above start 0x1000)", assertThrows(IllegalArgumentException.class,
                () -> new Mapping(0x1000, 0x1000, "r--p", 0, "00:00", 0, "", false)).getMessage());
        assertEquals("end: 0x0 (expected: above start 0xffffffffffffffff)", assertThrows(IllegalArgumentException.class,
                () -> new Mapping(-1, 0, "r--p", 0, "00:00", 0, "", false)).getMessage());
        assertEquals("path", assertThrows(NullPointerException.class,
                () -> new Mapping(0, 1, "r--p", 0, "00:00", 0, null, false)).getMessage());
    }

    @Test
    void toStringIsTheKernelsLineWithoutPadding() throws ElfException {
        String line = "7f0000000000-7f0000001000 r-xs 00000000 00:01 2050 /memfd:jit code (deleted)";
        assertEquals(line, one(line).toString());
        assertEquals("1000-2000 rw-p 00000000 00:00 0", one("1000-2000 rw-p 00000000 00:00 0 ").toString());
        assertEquals("1000-2000 rw-p ffffffffffffffff 00:00 18446744073709551615 [heap]",
                new Mapping(0x1000, 0x2000, "rw-p", -1, "00:00", -1, "[heap]", false).toString());
    }

    @Test
    void readRejectsPidsBelowOne() {
        assertEquals("pid: 0 (expected: 1 or more; self() reads this process)",
                assertThrows(IllegalArgumentException.class, () -> ProcessMaps.read(0)).getMessage());
        assertEquals("pid: -1 (expected: 1 or more; self() reads this process)",
                assertThrows(IllegalArgumentException.class, () -> ProcessMaps.read(-1)).getMessage());
    }

    @Test
    void parseRejectsNulls() {
        assertEquals("name", assertThrows(NullPointerException.class, () -> ProcessMaps.parse(null, "")).getMessage());
        assertEquals("content", assertThrows(NullPointerException.class, () -> ProcessMaps.parse("x", null)).getMessage());
    }
}
