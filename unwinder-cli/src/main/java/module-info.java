/**
 * The {@code unwinder} command: walks the threads of Linux ELF core files and raw stack captures
 * with unwinder's architecture plugins. It exports nothing; run it as
 * {@code java --module-path ... --module dev.unwinder.cli}, or through the repository's
 * {@code ./unwinder} launcher.
 */
module dev.unwinder.cli {
    requires dev.unwinder.core;
    requires dev.unwinder.elf;
    requires info.picocli;

    // picocli fills the commands' annotated fields reflectively.
    opens dev.unwinder.cli to info.picocli;

    provides java.util.spi.ToolProvider with dev.unwinder.cli.UnwinderToolProvider;
}
