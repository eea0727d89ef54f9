package dev.unwinder.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The repository's committed fixtures, and a way to run the command in this JVM. */
final class Fixtures {
    /** The architectures with a committed core under fixtures/cores. */
    static final List<String> CORE_ARCHES = List.of("x86_64", "aarch64", "s390x");

    private Fixtures() {}

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
        return repository().resolve("fixtures/cores").resolve(arch).resolve("core");
    }

    static Path program(String arch) {
        return repository().resolve("fixtures/cores").resolve(arch).resolve("prog");
    }

    /** One line of truth.txt: the program's own record of a frame; pc is -1 where it wrote "-". */
    record TruthFrame(int index, String function, long pc, long fp) {}

    static List<TruthFrame> truth(String arch) {
        List<TruthFrame> frames = new ArrayList<>();
        for (String line : lines(repository().resolve("fixtures/cores").resolve(arch).resolve("truth.txt"))) {
            String[] words = line.split(" ");
            if (words[0].equals("frame")) {
                String pc = words[3].substring("pc=".length());
                frames.add(new TruthFrame(Integer.parseInt(words[1]), words[2],
                        pc.equals("-") ? -1 : Long.parseUnsignedLong(pc.substring(2), 16),
                        Long.parseUnsignedLong(words[4].substring("fp=0x".length()), 16)));
            }
        }
        return frames;
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
