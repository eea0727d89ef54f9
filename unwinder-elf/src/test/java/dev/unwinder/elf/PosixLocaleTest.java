package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * File names from a core or a file are bytes; a JVM started in the POSIX locale (no {@code LANG},
 * as under cron or a bare container) cannot turn bytes above 0x7f into paths, and
 * {@code Path.of} throws. Finding modules and loading files must treat such a name as a file that
 * is not found, not fail: checked in a JVM of its own ({@link PosixLocaleProbe}) with an empty
 * environment, on the kernel's core of {@code src/test/c/crash.c} with a byte of one NT_FILE path
 * bent, and on a program whose {@code .gnu_debuglink} names {@code symé.debug}.
 */
final class PosixLocaleTest {
    @Test
    void namesThatThePosixLocaleCannotSpellAreNotFoundNotFatal() throws Exception {
        TestPrograms.CrashCore crash = TestPrograms.kernelCore().crash();
        Path dir = TestPrograms.freshDirectory("posix-locale");
        CoreBytes core = new CoreBytes(TestPrograms.read(crash.core()));
        CoreBytes.Note files = core.note(CoreFile.NT_FILE);
        byte[] library = crash.library().toString().getBytes(StandardCharsets.US_ASCII);
        int bent = 0;
        int end = files.descAt() + files.descSize();
        for (int at = indexOf(core.bytes, library, files.descAt(), end); at >= 0; at = indexOf(core.bytes, library, at + 1, end)) {
            core.bytes[at + library.length - "crashlib.so".length()] = (byte) 0xe9; // ISO-8859-1's é, which is no UTF-8
            bent++;
        }
        assertEquals(5, bent, "the library's five mappings in the NT_FILE note, each named");
        Path bentCore = dir.resolve("bent.core");
        TestPrograms.write(bentCore, core.bytes);

        Path program = TestPrograms.symbolsProgram(dir, "linked");
        Path debug = dir.resolve("sym\u00e9.debug");
        TestPrograms.check(dir, "objcopy", "--only-keep-debug", program.toString(), debug.toString());
        TestPrograms.check(dir, "objcopy", "--add-gnu-debuglink=" + debug, program.toString());

        String java = ProcessHandle.current().info().command().orElseThrow();
        ProcessBuilder builder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                PosixLocaleProbe.class.getName(), bentCore.toString(), program.toString())
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        builder.environment().clear();
        builder.environment().put("PATH", "/usr/bin:/bin");
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        process.waitFor(60, TimeUnit.SECONDS);
        List<String> lines = output.lines().toList();
        if (lines.isEmpty() || !lines.getFirst().equals("ANSI_X3.4-1968")) {
            TestPrograms.unavailable("a JVM started without a locale here encodes file names as "
                    + (lines.isEmpty() ? "nothing" : lines.getFirst()) + ", not ASCII:\n" + output);
        }
        assertEquals(List.of("ANSI_X3.4-1968",
                "find: 5 modules, problems []",
                "bent: MISSING not found",
                "load: MISSING not found",
                "debuglink: LOADED " + program + ": .gnu_debuglink names a file that file names cannot spell here"
                        + " (Malformed input or input contains unmappable characters: sym?.debug)"), lines, output);
        assertEquals(0, process.exitValue(), output);
    }

    /** Where {@code part} is in {@code bytes[from, end)}, or -1. */
    private static int indexOf(byte[] bytes, byte[] part, int from, int end) {
        for (int i = from; i + part.length <= end; i++) {
            if (java.util.Arrays.equals(bytes, i, i + part.length, part, 0, part.length)) {
                return i;
            }
        }
        return -1;
    }
}
