package dev.unwinder.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The options that {@code core} and {@code walk} share: symbols, output format and the frame cap. */
final class WalkOptions {
    @Option(names = "--exe", paramLabel = "ELF",
            description = "An executable whose symbol table names the pcs; repeat for more. For a core, a"
                    + " position-independent executable is placed where the core's auxiliary vector says it was"
                    + " loaded; for a capture, symbols keep their link-time addresses.")
    List<Path> executables = new ArrayList<>();

    @Option(names = "--format", paramLabel = "text|json", defaultValue = "text",
            description = "Output format: text, like a debugger's backtrace, or json (default: ${DEFAULT-VALUE}).")
    OutputFormat format;

    @Option(names = "--max-frames", paramLabel = "N", defaultValue = "4096",
            description = "The most frames a lenient walk prints (default: ${DEFAULT-VALUE}).")
    int maxFrames;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    /** Creates the options; picocli fills them in. */
    WalkOptions() {}

    /** Rejects values that no walk can use. */
    void check() throws BadInputException {
        if (maxFrames < 0) {
            throw new BadInputException("--max-frames: " + maxFrames + " (expected: >= 0)");
        }
    }
}
