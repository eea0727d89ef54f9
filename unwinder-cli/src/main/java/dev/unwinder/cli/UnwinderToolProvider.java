package dev.unwinder.cli;

import java.io.PrintWriter;
import java.util.spi.ToolProvider;

/**
 * Offers the {@code unwinder} command as a {@link ToolProvider} named {@code "unwinder"}, so a
 * program or test can run it in its own JVM: {@code ToolProvider.findFirst("unwinder")}.
 */
public final class UnwinderToolProvider implements ToolProvider {

    /** Creates the provider; {@link java.util.ServiceLoader} calls this. */
    public UnwinderToolProvider() {}

    @Override
    public String name() {
        return "unwinder";
    }

    @Override
    public int run(PrintWriter out, PrintWriter err, String... args) {
        return Cli.run(out, err, args);
    }
}
