package dev.unwinder.elf;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads a perf map that HotSpot wrote: a child JVM (the JDK 25 that runs the tests, the one
 * maven-toolchains-plugin and scripts/find-jdk25 select) compiles a few methods, then
 * {@code jcmd PID Compiler.perfmap FILE} writes the map of its code cache.
 */
final class PerfMapHotSpotTest {

    /** The child JVM: compiles {@link #spin(int)} and {@code String.hashCode()}, then waits for its stdin to close. */
    public static final class Child {
        private Child() {}

        /**
         * Runs the child.
         *
         * @param args none
         * @throws IOException never
         */
        public static void main(String[] args) throws IOException {
            long sum = 0;
            for (int i = 0; i < 20_000; i++) {
                sum += spin(i) + Integer.toString(i).hashCode();
            }
            System.out.println("ready " + sum);
            System.out.flush();
            while (System.in.read() != -1) {
                // Wait until the test closes stdin, or kills the JVM.
            }
        }

        static int spin(int i) {
            return i * 31 + 7;
        }
    }

    private static Path jdkTool(String name) {
        Path tool = Path.of(System.getProperty("java.home"), "bin", name);
        assertTrue(Files.isExecutable(tool), tool + " is not an executable: the tests must run on a JDK 25, not a JRE");
        return tool;
    }

    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void readsTheMapOfARealHotSpotCodeCache(@TempDir Path dir) throws Exception {
        assertTrue(Runtime.version().feature() >= 25, "tests run on JDK " + Runtime.version());
        Path classes = Path.of(Child.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        // -Xbatch: a method is compiled before the call that asked for it returns, so "ready" means compiled.
        Process child = new ProcessBuilder(jdkTool("java").toString(), "-Xbatch", "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC", "-Xmx64m", "-cp", classes.toString(), Child.class.getName())
                .redirectError(dir.resolve("child.err").toFile())
                .start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), UTF_8));
            String ready = out.readLine();
            assertTrue(ready != null && ready.startsWith("ready "),
                    "the child JVM said " + ready + ", stderr: " + Files.readString(dir.resolve("child.err")));

            Path file = dir.resolve("perf-" + child.pid() + ".map");
            Process jcmd = new ProcessBuilder(jdkTool("jcmd").toString(), Long.toString(child.pid()), "Compiler.perfmap",
                    file.toString()).redirectErrorStream(true).start();
            String said = new String(jcmd.getInputStream().readAllBytes(), UTF_8);
            assertTrue(jcmd.waitFor(30, TimeUnit.SECONDS), "jcmd did not finish");
            assertEquals(0, jcmd.exitValue(), "jcmd said: " + said);

            List<String> lines = Files.readAllLines(file);
            PerfMap map = PerfMap.read(file);
            assertEquals(lines.size(), map.size());
            assertFalse(map.truncatedLastLine());
            assertTrue(map.size() > 100, "only " + map.size() + " entries");
            // HotSpot's lines: "0x%016lx 0x%016lx NAME", no header.
            assertTrue(lines.getFirst().matches("0x[0-9a-f]{16} 0x[0-9a-f]{16} .+"), lines.getFirst());

            int hashCode = find(map, "int java.lang.String.hashCode()");
            assertEquals(hashCode, map.lookup(map.start(hashCode) + 1));
            assertEquals(hashCode, map.lookup(map.start(hashCode) + map.size(hashCode) - 1));
            assertNotEquals(hashCode, map.lookup(map.start(hashCode) + map.size(hashCode)));
            int spin = find(map, "int " + Child.class.getName() + ".spin(int)");
            assertEquals(spin, map.lookup(map.start(spin) + 1));

            // A code cache's blobs do not overlap: every entry is found at its own start, inside the span.
            for (int i = 0; i < map.size(); i++) {
                assertEquals(i, map.lookup(map.start(i)), lines.get(i));
                assertTrue(Long.compareUnsigned(map.lowest(), map.start(i)) <= 0
                        && Long.compareUnsigned(map.start(i) + map.size(i), map.highest()) <= 0, lines.get(i));
                String[] fields = lines.get(i).split(" ", 3);
                assertEquals(Long.parseUnsignedLong(fields[0].substring(2), 16), map.start(i));
                assertEquals(fields[2], map.name(i));
            }
        } finally {
            child.destroyForcibly();
            child.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static int find(PerfMap map, String name) {
        for (int i = 0; i < map.size(); i++) {
            if (map.name(i).equals(name)) {
                return i;
            }
        }
        throw new AssertionError("no entry named " + name + " among " + map.size());
    }
}
