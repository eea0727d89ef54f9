package dev.unwinder.cli;

import dev.unwinder.api.Unwind;
import dev.unwinder.core.Unwinders;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code unwinder arches}: lists the architecture plugins found and their frame layouts. */
@Command(name = "arches", description = "Lists the available architecture plugins and their frame layouts.")
final class ArchesCommand implements Callable<Integer> {

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        for (Unwind unwind : Unwinders.available()) {
            out.print(unwind.name());
            if (!unwind.aliases().isEmpty()) {
                out.print(" (also " + String.join(", ", unwind.aliases()) + ")");
            }
            out.println();
            out.println("    " + unwind.describeLayout());
            out.print("    sp is DWARF register " + unwind.stackPointerRegister());
            out.println(unwind.linkRegister().isPresent()
                    ? ", the link register DWARF register " + unwind.linkRegister().getAsInt()
                    : "; the return address is on the stack, no link register");
        }
        return Cli.OK;
    }
}
