package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.fixtures.StackFixture;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code unwinder walk} on every raw capture under fixtures/stacks (fixtures/README.md): the
 * strict walk from the captured registers to {@code main}'s fp gives exactly the frames the program
 * recorded below {@code main}, and the lenient walk gives them with {@code main} and goes on.
 */
final class StackCaptureWalkTest {

    static List<StackFixture> captures() {
        List<StackFixture> found = StackFixture.discover();
        assertTrue(found.size() >= 4, "captures: " + found);
        return found;
    }

    /** Each recorded frame as the JSON frame the walk must print. */
    private static List<String> jsonFrames(StackFixture capture) {
        List<String> frames = new ArrayList<>();
        for (var frame : capture.frames()) {
            frames.add("{\"pc\":\"" + Fixtures.hex(frame.pc()) + "\",\"fp\":\"" + Fixtures.hex(frame.fp()) + "\",\"how\":\""
                    + (frames.isEmpty() ? "context" : "fp") + "\"}");
        }
        return frames;
    }

    private static Fixtures.Run walk(StackFixture capture, String... more) {
        List<Object> args = new ArrayList<>(List.of("walk", "--arch", capture.arch(), "--memory",
                capture.dir().resolve("stack.bin"), "--base", Fixtures.hex(capture.base()), "--pc",
                Fixtures.hex(capture.pc()), "--fp", Fixtures.hex(capture.fp()), "--format", "json"));
        args.addAll(List.of(more));
        return Fixtures.run(args.toArray());
    }

    @ParameterizedTest
    @MethodSource("captures")
    void strictWalkToMainsFpGivesTheRecordedFrames(StackFixture capture) {
        Fixtures.Run run = walk(capture, "--entry-fp", Fixtures.hex(capture.mainFp()));
        assertEquals(0, run.status(), run.err());
        List<String> frames = jsonFrames(capture);
        List<String> belowMain = frames.subList(0, frames.size() - 1);
        assertEquals("{\"threads\":[{\"arch\":\"" + capture.arch() + "\",\"end\":\"entry-fp-reached\",\"frames\":["
                + String.join(",", belowMain) + "]}],\"modules\":[],\"problems\":[]}", run.out().strip());
    }

    @ParameterizedTest
    @MethodSource("captures")
    void lenientWalkGivesTheRecordedFramesAndMain(StackFixture capture) {
        Fixtures.Run run = walk(capture);
        assertEquals(0, run.status(), run.err());
        String prefix = "{\"threads\":[{\"arch\":\"" + capture.arch() + "\",\"end\":\"";
        String out = run.out().strip();
        assertTrue(out.startsWith(prefix), out);
        assertTrue(out.contains("\",\"frames\":[" + String.join(",", jsonFrames(capture))), out);
    }
}
