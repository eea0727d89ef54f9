package dev.unwinder.cli;

import dev.unwinder.fixtures.CoreFixture;
import dev.unwinder.fixtures.StackFixture.TruthFrame;
import dev.unwinder.fixtures.StackFixture;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The repository's committed fixtures, and a way to run the command in this JVM. */
final class Fixtures {
    /** The architectures with a committed core: the directories of fixtures/cores, sorted. */
    static final List<String> CORE_ARCHES = coreArches();

    private Fixtures() {}

    private static List<String> coreArches() {
        try (Stream<Path> dirs = Files.list(StackFixture.root().resolve("cores"))) {
            return dirs.filter(Files::isDirectory).map(dir -> dir.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The repository's root: the surefire property, else the first parent of the working directory with fixtures/. */
    static Path repository() {
        String configured = System.getProperty("unwinder.repository");
        if (configured != null && Files.isDirectory(Path.of(configured, "fixtures"))) {
            return Path.of(configured);
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("fixtures/cores"))) {
                return dir;
            }
        }
        throw new IllegalStateException("no fixtures/cores above " + Path.of("").toAbsolutePath());
    }

    static Path core(String arch) {
        return CoreFixture.directory(arch).resolve("core");
    }

    static Path program(String arch) {
        return CoreFixture.directory(arch).resolve("prog");
    }

    /** The program's own record of its frames (truth.txt), frame 0's pc being the core's. */
    static List<TruthFrame> truth(String arch) {
        return CoreFixture.load(CoreFixture.directory(arch)).truth();
    }

    static List<String> lines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What one run of the command printed, and its exit status. */
    record Run(int status, String out, String err) {
        List<String> outLines() {
            return out.lines().toList();
        }
    }

    static Run run(Object... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] strings = new String[args.length];
        for (int i = 0; i < args.length; i++) {
            strings[i] = String.valueOf(args[i]);
        }
        int status = Cli.run(new PrintWriter(out), new PrintWriter(err), strings);
        return new Run(status, out.toString(), err.toString());
    }

    static String hex(long value) {
        return "0x" + Long.toHexString(value);
    }
}
