package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code unwinder walk} on every raw capture under fixtures/stacks (fixtures/README.md): the
 * strict walk from the captured registers to {@code main}'s fp gives exactly the frames the program
 * recorded below {@code main}, and the lenient walk gives them with {@code main} and goes on.
 */
final class StackCaptureWalkTest {

    static Stream<Path> captures() throws IOException {
        Path stacks = Fixtures.repository().resolve("fixtures/stacks");
        try (Stream<Path> dirs = Files.list(stacks)) {
            List<Path> found = dirs.filter(dir -> Files.isRegularFile(dir.resolve("capture.txt"))).sorted().toList();
            assertTrue(found.size() >= 4, "captures in " + stacks + ": " + found);
            return found.stream();
        }
    }

    private record Capture(Map<String, String> keys, List<String> frames) {
        String get(String key) {
            return keys.get(key);
        }
    }

    private static Capture read(Path dir) {
        Map<String, String> keys = new HashMap<>();
        List<String> frames = new ArrayList<>();
        for (String line : Fixtures.lines(dir.resolve("capture.txt"))) {
            if (line.startsWith("#") || line.isBlank()) {
                continue;
            }
            String[] words = line.split(" ");
            if (words[0].equals("frame")) {
                // "frame N FUNCTION pc=0x... fp=0x... sp=0x..." as the JSON frame the walk must print.
                frames.add("{\"pc\":\"" + words[3].substring(3) + "\",\"fp\":\"" + words[4].substring(3) + "\"}");
            } else {
                keys.putIfAbsent(words[0], words[1]);
            }
        }
        return new Capture(keys, frames);
    }

    private static Fixtures.Run walk(Path dir, Capture capture, String... more) {
        List<Object> args = new ArrayList<>(List.of("walk", "--arch", capture.get("arch"), "--memory",
                dir.resolve("stack.bin"), "--base", capture.get("base"), "--pc", capture.get("pc"), "--fp",
                capture.get("fp"), "--format", "json"));
        args.addAll(List.of(more));
        return Fixtures.run(args.toArray());
    }

    @ParameterizedTest
    @MethodSource("captures")
    void strictWalkToMainsFpGivesTheRecordedFrames(Path dir) {
        Capture capture = read(dir);
        Fixtures.Run run = walk(dir, capture, "--until", capture.get("main-fp"));
        assertEquals(0, run.status(), run.err());
        List<String> belowMain = capture.frames().subList(0, capture.frames().size() - 1);
        assertEquals("{\"threads\":[{\"arch\":\"" + capture.get("arch") + "\",\"end\":\"sentinel-reached\",\"frames\":["
                + String.join(",", belowMain) + "]}]}", run.out().strip());
    }

    @ParameterizedTest
    @MethodSource("captures")
    void lenientWalkGivesTheRecordedFramesAndMain(Path dir) {
        Capture capture = read(dir);
        Fixtures.Run run = walk(dir, capture);
        assertEquals(0, run.status(), run.err());
        String prefix = "{\"threads\":[{\"arch\":\"" + capture.get("arch") + "\",\"end\":\"";
        String out = run.out().strip();
        assertTrue(out.startsWith(prefix), out);
        assertTrue(out.contains("\",\"frames\":[" + String.join(",", capture.frames())), out);
    }
}
