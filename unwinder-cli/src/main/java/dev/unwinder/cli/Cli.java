package dev.unwinder.cli;

import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/**
 * The {@code unwinder} command line: parses the arguments, runs a subcommand, and turns every
 * failure into one line of error output.
 *
 * <p>Exit status: 0 when every walk ran, 1 when a strict walk ({@code walk --entry-fp}) met a broken
 * invariant, 2 for bad input (usage errors, files that are not what they should be), 70 for a bug.
 */
@Command(
        name = "unwinder",
        description = "Walks native call stacks with their call-frame information, or their frame-pointer chains:"
                + " the threads of Linux ELF core files and raw stack captures, for x86_64, aarch64, riscv64 and"
                + " s390x, on any host.",
        mixinStandardHelpOptions = false,
        subcommands = {CoreCommand.class, StackCommand.class, WalkCommand.class, ArchesCommand.class, CommandLine.HelpCommand.class})
final class Cli implements Runnable {
    static final int OK = 0;
    static final int WALK_FAILED = 1;
    static final int BAD_INPUT = 2;
    static final int INTERNAL_ERROR = 70;

    @CommandLine.Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is missing: core, stack, walk or arches");
    }

    /**
     * Runs the command.
     *
     * @param out where results go
     * @param err where the one line of an error goes
     * @param args the arguments
     * @return the exit status
     */
    static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine commandLine = new CommandLine(new Cli());
        commandLine.setOut(out);
        commandLine.setErr(err);
        commandLine.setCaseInsensitiveEnumValuesAllowed(true);
        commandLine.setParameterExceptionHandler((e, arguments) -> {
            String command = e.getCommandLine().getCommandSpec().qualifiedName();
            err.println("unwinder: " + oneLine(e.getMessage()) + " (see '" + command + " --help')");
            return BAD_INPUT;
        });
        commandLine.setExecutionExceptionHandler((e, command, parseResult) -> {
            if (e instanceof BadInputException || e instanceof dev.unwinder.elf.ElfException) {
                err.println("unwinder: " + oneLine(e.getMessage()));
                return BAD_INPUT;
            }
            err.println("unwinder: internal error, please report it: " + oneLine(String.valueOf(e)));
            return INTERNAL_ERROR;
        });
        try {
            return commandLine.execute(args);
        } finally {
            out.flush();
            err.flush();
        }
    }

    private static String oneLine(String message) {
        return message == null ? "" : message.strip().replaceAll("\\s*[\\r\\n]+\\s*", "; ");
    }
}
