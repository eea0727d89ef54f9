package dev.unwinder.elf;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

final class PerfMapTest {

    private static PerfMap parse(String content) throws ElfException {
        return PerfMap.parse("test.map", content.getBytes(UTF_8));
    }

    private static String error(String content) {
        return assertThrows(ElfException.class, () -> parse(content)).getMessage();
    }

    @Test
    void hotSpotLinesHave0xPrefixesAndNamesWithSpaces() throws ElfException {
        PerfMap map = parse("""
                0x00007fc39becea80 0x0000000000000128 int java.lang.String.hashCode()
                0x00007fc39bed5e00 0x0000000000000220 boolean java.lang.String.equals(java.lang.Object)
                """);
        assertEquals(2, map.size());
        assertEquals(0x7fc39becea80L, map.start(0));
        assertEquals(0x128, map.size(0));
        assertEquals("int java.lang.String.hashCode()", map.name(0));
        assertEquals("boolean java.lang.String.equals(java.lang.Object)", map.name(1));
        assertEquals(-1, map.lookup(0x7fc39becea80L - 1));
        assertEquals(0, map.lookup(0x7fc39becea80L));
        assertEquals(0, map.lookup(0x7fc39becea80L + 0x127));
        assertEquals(-1, map.lookup(0x7fc39becea80L + 0x128));
        assertEquals(1, map.lookup(0x7fc39bed5e00L + 0x100));
        assertEquals(0x7fc39becea80L, map.lowest());
        assertEquals(0x7fc39bed5e00L + 0x220, map.highest());
        assertFalse(map.truncatedLastLine());
        assertEquals("test.map", map.path());
    }

    @Test
    void v8AndWasmtimeLinesHaveNoPrefix() throws ElfException {
        PerfMap map = parse("""
                3ef414cab400 2a LazyCompile:~foo /srv/app.js:3:10
                3ef414cab440 1C0 wasm[0]::function[12]::add
                """);
        assertEquals(0x3ef414cab400L, map.start(0));
        assertEquals(0x2a, map.size(0));
        assertEquals("LazyCompile:~foo /srv/app.js:3:10", map.name(0));
        assertEquals(0x1c0, map.size(1));
        assertEquals(1, map.lookup(0x3ef414cab441L));
    }

    @Test
    void fieldsMaySitBetweenSeveralSpacesOrTabsAndPrefixesMayBeUpperCase() throws ElfException {
        PerfMap map = parse("0X1000\t \t0XfF  name  with  spaces  \n");
        assertEquals(0x1000, map.start(0));
        assertEquals(0xff, map.size(0));
        assertEquals("name  with  spaces  ", map.name(0));
    }

    @Test
    void numbersMayHaveLeadingZerosBeyondSixteenDigits() throws ElfException {
        PerfMap map = parse("000000000000000000001000 0000000000000000000010 a\n");
        assertEquals(0x1000, map.start(0));
        assertEquals(0x10, map.size(0));
    }

    @Test
    void aCarriageReturnBeforeTheNewlineIsDropped() throws ElfException {
        assertEquals("a b", parse("1000 10 a b\r\n").name(0));
    }

    @Test
    void namesAreUtf8AndBytesThatAreNotReadAsReplacementCharacters() throws ElfException {
        byte[] content = "1000 10 λ→x\n2000 10 a\u0000b\n3000 10 ?\n".getBytes(UTF_8);
        content[content.length - 2] = (byte) 0xff;
        PerfMap map = PerfMap.parse("test.map", content);
        assertEquals("λ→x", map.name(0));
        assertEquals("a\u0000b", map.name(1));
        assertEquals("\ufffd", map.name(2));
    }

    @Test
    void aLaterEntryWinsTheAddressesItCovers() throws ElfException {
        PerfMap map = parse("""
                1000 100 old
                1040 40 newer inside
                0ff0 20 newer across old's start
                2000 10 covered later
                1ff0 200 covers all of the one before
                3000 10 first
                3000 10 same range, later
                """);
        assertEquals(7, map.size());
        assertEquals(2, map.lookup(0xff0));
        assertEquals(2, map.lookup(0x100f));
        assertEquals(0, map.lookup(0x1010));
        assertEquals(0, map.lookup(0x103f));
        assertEquals(1, map.lookup(0x1040));
        assertEquals(1, map.lookup(0x107f));
        assertEquals(0, map.lookup(0x1080));
        assertEquals(0, map.lookup(0x10ff));
        assertEquals(-1, map.lookup(0x1100));
        assertEquals(4, map.lookup(0x2000));
        assertEquals(4, map.lookup(0x21ef));
        assertEquals(-1, map.lookup(0x21f0));
        assertEquals(6, map.lookup(0x3000));
        // An entry keeps its own start and size, whatever part of it later entries cover.
        assertEquals(0x1000, map.start(0));
        assertEquals(0x100, map.size(0));
        assertEquals(0xff0, map.lowest());
        assertEquals(0x3010, map.highest());
    }

    @Test
    void anEarlierEntryIsNotFoundWhereALaterOneCoversIt() throws ElfException {
        PerfMap map = parse("1000 10 small\n0 ffff big\n");
        assertEquals(1, map.lookup(0x1000));
        assertEquals(1, map.lookup(0));
        assertEquals(0, map.lowest());
        assertEquals(0xffff, map.highest());
    }

    @Test
    void aSizeOfZeroCoversNothing() throws ElfException {
        PerfMap map = parse("1000 0 nothing\n");
        assertEquals(1, map.size());
        assertEquals("nothing", map.name(0));
        assertEquals(-1, map.lookup(0x1000));
        assertEquals(0, map.lowest());
        assertEquals(0, map.highest());
    }

    @Test
    void aSymbolMayEndAtTheLastAddressButNotPastIt() throws ElfException {
        PerfMap map = parse("ffffffffffffff00 ff top\n");
        assertEquals(0, map.lookup(-2));
        assertEquals(-1, map.lookup(-1));
        assertEquals(-1L, map.highest());
        assertEquals("test.map: line 1: START 0xffffffffffffff00 + SIZE 0x100 runs past the end of the address space"
                + " (got \"ffffffffffffff00 100 top\")", error("ffffffffffffff00 100 top\n"));
    }

    @Test
    void anEmptyFileHasNoEntries() throws ElfException {
        PerfMap map = parse("");
        assertEquals(0, map.size());
        assertEquals(-1, map.lookup(0));
        assertEquals(-1, map.lookup(-1));
        assertEquals(0, map.lowest());
        assertEquals(0, map.highest());
        assertFalse(map.truncatedLastLine());
    }

    @Test
    void aLastLineWithoutNewlineIsSkippedWhateverItHolds() throws ElfException {
        PerfMap complete = parse("1000 10 a\n2000 10 b");
        assertEquals(1, complete.size());
        assertTrue(complete.truncatedLastLine());
        assertEquals(-1, complete.lookup(0x2000));
        PerfMap garbled = parse("1000 10 a\n20zz");
        assertEquals(1, garbled.size());
        assertTrue(garbled.truncatedLastLine());
    }

    @Test
    void aMalformedLineIsAnErrorThatNamesTheLine() {
        String expected = "test.map: line 2: expected START SIZE NAME with hex numbers (got \"%s\")";
        assertEquals(expected.formatted("xyz 10 b"), error("1000 10 a\nxyz 10 b\n"));
        assertEquals(expected.formatted("1000 10"), error("1000 10 a\n1000 10\n"));
        assertEquals(expected.formatted("1000 10 "), error("1000 10 a\n1000 10 \n"));
        assertEquals(expected.formatted(""), error("1000 10 a\n\n"));
        assertEquals(expected.formatted("0x 10 b"), error("1000 10 a\n0x 10 b\n"));
        assertEquals(expected.formatted("1000 0x b"), error("1000 10 a\n1000 0x b\n"));
        assertEquals(expected.formatted("1000g 10 b"), error("1000 10 a\n1000g 10 b\n"));
        assertEquals(expected.formatted("-1000 10 b"), error("1000 10 a\n-1000 10 b\n"));
        assertEquals(expected.formatted(" 1000 10 b"), error("1000 10 a\n 1000 10 b\n"));
    }

    @Test
    void aNumberPast64BitsIsAnError() {
        assertEquals("test.map: line 1: START does not fit in 64 bits (got \"10000000000000000 1 a\")",
                error("10000000000000000 1 a\n"));
        assertEquals("test.map: line 1: SIZE does not fit in 64 bits (got \"0 0x10000000000000000 a\")",
                error("0 0x10000000000000000 a\n"));
    }

    @Test
    void theLineInAnErrorIsOneLineAndCutShort() {
        assertEquals("test.map: line 1: expected START SIZE NAME with hex numbers (got \"\\x01\\x22\\x5c\\xce\\xbb\")",
                error("\u0001\"\\λ\n"));
        String message = error("zz " + "n".repeat(100) + "\n");
        assertEquals("test.map: line 1: expected START SIZE NAME with hex numbers (got \"zz " + "n".repeat(57) + "\"...)",
                message);
    }

    @Test
    void aLineOfAtMost64KiBIsRead() throws ElfException {
        String name = "n".repeat(PerfMap.MAX_LINE_LENGTH - "1000 10 ".length());
        assertEquals(name, parse("1000 10 " + name + "\n").name(0));
        // The '\r' counts, as it is part of the line as read.
        assertEquals("test.map: line 1 is longer than 65536 bytes (expected: at most 65536 bytes a line)",
                error("1000 10 " + name + "\r\n"));
    }

    @Test
    void aLongerLineIsAnErrorEvenWithoutItsNewline() {
        assertEquals("test.map: line 2 is longer than 65536 bytes (expected: at most 65536 bytes a line)",
                error("1000 10 a\n" + "n".repeat(PerfMap.MAX_LINE_LENGTH + 1)));
    }

    @Test
    void aStreamReadAByteAtATimeGivesTheSameMap() throws IOException {
        String content = "0x1000 0x100 old\n1040 40 newer inside\n" + "2000 10 " + "n".repeat(300) + "\r\n3000 10 trunc";
        InputStream trickle = new InputStream() {
            private final byte[] bytes = content.getBytes(UTF_8);
            private int at;

            @Override
            public int read() {
                return at < bytes.length ? bytes[at++] & 0xff : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (at == bytes.length) {
                    return -1;
                }
                b[off] = bytes[at++];
                return 1;
            }
        };
        PerfMap map = PerfMap.read("trickle.map", trickle, 100, 1000, 10_000);
        assertEquals(3, map.size());
        assertEquals("newer inside", map.name(1));
        assertEquals("n".repeat(300), map.name(2));
        assertEquals(1, map.lookup(0x1040));
        assertEquals(0, map.lookup(0x1080));
        assertTrue(map.truncatedLastLine());
    }

    /** An endless stream of one line repeated, or of one byte without newline. */
    private static InputStream endless(String pattern) {
        byte[] bytes = pattern.getBytes(UTF_8);
        return new InputStream() {
            private long at;

            @Override
            public int read() {
                return bytes[(int) (at++ % bytes.length)] & 0xff;
            }
        };
    }

    @Test
    void anEndlessStreamStopsAtTheEntryBound() {
        ElfException e = assertThrows(ElfException.class,
                () -> PerfMap.read("endless.map", endless("1000 10 a\n"), 1000, 100, 1 << 20));
        assertEquals("endless.map: line 1001: more than 1000 entries (expected: at most 1000)", e.getMessage());
    }

    @Test
    void anEndlessLineStopsAtTheLineBound() {
        ElfException e = assertThrows(ElfException.class,
                () -> PerfMap.read("endless.map", endless("n"), 1000, 100, 1 << 20));
        assertEquals("endless.map: line 1 is longer than 100 bytes (expected: at most 100 bytes a line)", e.getMessage());
    }

    @Test
    void namesStopAtTheNameBound() {
        ElfException e = assertThrows(ElfException.class,
                () -> PerfMap.read("endless.map", endless("1000 10 abcdefghij\n"), 1000, 100, 95));
        assertEquals("endless.map: line 10: the names hold more than 95 bytes in all (expected: at most 95)", e.getMessage());
    }

    @Test
    void namesFillManyChunks() throws IOException {
        // 3000 names of 1000 bytes: 3 MB, past the 1 MiB of one chunk.
        StringBuilder content = new StringBuilder();
        for (int i = 0; i < 3000; i++) {
            content.append(Integer.toHexString(i * 16)).append(" 10 ").append(String.valueOf((char) ('a' + i % 26)).repeat(999))
                    .append(i % 10).append('\n');
        }
        PerfMap map = parse(content.toString());
        assertEquals(3000, map.size());
        for (int i = 0; i < 3000; i++) {
            int found = map.lookup(i * 16L + 5);
            assertEquals(i, found);
            assertEquals(String.valueOf((char) ('a' + i % 26)).repeat(999) + (i % 10), map.name(found));
        }
    }

    @Test
    void readReadsAFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("perf-42.map");
        Files.writeString(file, "0x1000 0x10 a\n2000 20 b\n");
        PerfMap map = PerfMap.read(file);
        assertEquals(file.toString(), map.path());
        assertEquals(1, map.lookup(0x2001));
        assertEquals("b", map.name(1));
    }

    @Test
    void readNamesTheFileInItsErrors(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("perf-42.map");
        Files.writeString(file, "0x1000 0x10 a\nnot a line\n");
        assertEquals(file + ": line 2: expected START SIZE NAME with hex numbers (got \"not a line\")",
                assertThrows(ElfException.class, () -> PerfMap.read(file)).getMessage());
        Path missing = dir.resolve("perf-43.map");
        assertEquals(missing + ": no such file", assertThrows(ElfException.class, () -> PerfMap.read(missing)).getMessage());
        assertEquals(dir + ": is a directory (expected: a perf map file)",
                assertThrows(ElfException.class, () -> PerfMap.read(dir)).getMessage());
        assertEquals("/dev/null: is not a regular file, but a device, pipe or socket (expected: a perf map file)",
                assertThrows(ElfException.class, () -> PerfMap.read(Path.of("/dev/null"))).getMessage());
    }

    @Test
    void parseRejectsNulls() {
        assertEquals("name", assertThrows(NullPointerException.class, () -> PerfMap.parse(null, new byte[0])).getMessage());
        assertEquals("content", assertThrows(NullPointerException.class, () -> PerfMap.parse("x", null)).getMessage());
        assertEquals("file", assertThrows(NullPointerException.class, () -> PerfMap.read(null)).getMessage());
    }

    @Test
    void toStringGivesThePathTheCountAndTheSpan() throws ElfException {
        assertEquals("test.map: 2 entries spanning [0x1000, 0x2010)", parse("1000 10 a\n2000 10 b\n").toString());
    }

    @Test
    void bytesThatAreNotUtf8InALineAreShownAsHex() {
        byte[] content = {'z', (byte) 0xff, '\n'};
        assertEquals("x.map: line 1: expected START SIZE NAME with hex numbers (got \"z\\xff\")",
                assertThrows(ElfException.class, () -> PerfMap.parse("x.map", content)).getMessage());
    }
}
