package dev.unwinder.cli;

import java.io.PrintWriter;
import java.nio.charset.Charset;

/** The entry point of the {@code unwinder} command. */
public final class Main {
    private Main() {}

    /**
     * Runs the command and exits with its status: 0 when every walk ran, 1 when a strict walk met
     * a broken invariant, 2 for bad input.
     *
     * @param args the command line, such as {@code core CORE --exe PROGRAM}
     */
    public static void main(String[] args) {
        Charset charset = System.console() != null ? System.console().charset() : Charset.defaultCharset();
        PrintWriter out = new PrintWriter(System.out, false, charset);
        PrintWriter err = new PrintWriter(System.err, true, charset);
        System.exit(Cli.run(out, err, args));
    }
}
