package dev.unwinder.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.livestack.LiveFixtures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Runs the README's live example and reads what it printed. */
final class LiveWalkExampleTest {

    @Test
    void printsEveryFrameOfTheDescentSymbolizedAndTheCounts() throws Exception {
        LiveFixtures.liveStack();
        List<String> lines = run("7");
        assertEquals("walked 8 native frames up to the entry fp", lines.get(lines.size() - 2));
        assertEquals("the C code counted 8 frames below its entry function", lines.getLast());
        List<String> frames = lines.stream().filter(line -> line.startsWith("  #")).toList();
        assertEquals(8, frames.size(), lines::toString);
        // Frame i runs level 8 - i: live_bottom (level 8), then levels 7 to 1 through the rotation of four functions.
        List<String> expected = List.of("live_bottom", "level_alloca", "level_big_frame", "level_plain",
                "level_stack_args", "level_alloca", "level_big_frame", "level_plain");
        // Each named from this process's modules: the function, and the harness's C library it is in.
        Pattern frame = Pattern.compile("  #(\\d+) +pc=0x[0-9a-f]+ fp=0x[0-9a-f]+  ([a-z_]+)\\+0x[0-9a-f]+"
                + " \\(liblivestack[^)]*\\.so\\)");
        for (int i = 0; i < frames.size(); i++) {
            var matcher = frame.matcher(frames.get(i));
            assertTrue(matcher.matches(), frames.get(i));
            assertEquals(i, Integer.parseInt(matcher.group(1)));
            assertEquals(expected.get(i), matcher.group(2), frames.get(i));
        }
    }

    private static List<String> run(String... args) throws Exception {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            LiveWalkExample.main(args);
        } finally {
            System.setOut(original);
        }
        return captured.toString(StandardCharsets.UTF_8).lines().toList();
    }
}
