/**
 * The {@code unwinder} command: walks the threads of Linux ELF core files, live processes and raw
 * stack captures with unwinder's architecture plugins, and names their frames. It exports nothing;
 * run it as {@code java --enable-native-access=dev.unwinder.elf,dev.unwinder.process --module-path
 * ... --module dev.unwinder.cli} (native access lets {@code dev.unwinder.elf} demangle C++ and Rust
 * names through the system's demangler, without which names stay mangled, and
 * {@code dev.unwinder.process} trace live processes), or through the repository's
 * {@code ./unwinder} launcher.
 */
module dev.unwinder.cli {
    requires dev.unwinder.core;
    requires dev.unwinder.elf;
    requires dev.unwinder.process;
    requires java.management; // the JVM's start time, for stack --timings
    requires info.picocli;

    // picocli fills the commands' annotated fields reflectively.
    opens dev.unwinder.cli to info.picocli;

    provides java.util.spi.ToolProvider with dev.unwinder.cli.UnwinderToolProvider;
}
