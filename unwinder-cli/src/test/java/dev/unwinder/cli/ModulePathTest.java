package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.File;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The command as the launcher runs it: the module {@code dev.unwinder.cli} on the module path, in
 * a JVM of its own, finding the plugins through the core's {@code uses} and picocli reaching the
 * commands through the module's {@code opens}.
 */
final class ModulePathTest {

    @Test
    void theModuleExportsNothingOpensItsCommandsToPicocliAndProvidesATool() throws Exception {
        Path classes = Path.of(Cli.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        ModuleDescriptor descriptor;
        try (InputStream in = Files.newInputStream(classes.resolve("module-info.class"))) {
            descriptor = ModuleDescriptor.read(in);
        }
        assertEquals("dev.unwinder.cli", descriptor.name());
        assertEquals(Set.of(), descriptor.exports());
        assertEquals(Set.of("dev.unwinder.cli to [info.picocli]"),
                descriptor.opens().stream().map(o -> o.source() + " to " + o.targets()).collect(Collectors.toSet()));
        assertEquals(Set.of("java.util.spi.ToolProvider with [dev.unwinder.cli.UnwinderToolProvider]"),
                descriptor.provides().stream().map(p -> p.service() + " with " + p.providers()).collect(Collectors.toSet()));
        assertEquals(Set.of("dev.unwinder.core", "dev.unwinder.elf", "dev.unwinder.process", "info.picocli",
                        "java.base", "java.management"),
                descriptor.requires().stream().map(ModuleDescriptor.Requires::name).collect(Collectors.toSet()));
    }

    @Test
    void onTheModulePathItWalksACoreAsInProcess() throws Exception {
        Path core = Fixtures.core("aarch64");
        Path program = Fixtures.program("aarch64");
        String separate = launch("core", core.toString(), "--exe", program.toString(), "--format", "json");
        assertEquals(Fixtures.run("core", core, "--exe", program, "--format", "json").out(), separate);
    }

    @Test
    void onTheModulePathItFindsEveryPlugin() throws Exception {
        assertEquals(Fixtures.run("arches").out(), launch("arches"));
    }

    /** Runs the module in a new JVM of this JVM's JDK and returns what it printed; it must exit with 0 and print no error. */
    private static String launch(String... args) throws Exception {
        List<String> modulePath = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            String name = Path.of(entry).getFileName().toString();
            boolean classes = entry.endsWith(File.separator + "classes") && Files.isDirectory(Path.of(entry));
            boolean ours = name.matches("(unwinder-(api|core|elf|process)|arch-.*|picocli|xz)-.*\\.jar");
            if (classes || ours) {
                modulePath.add(entry);
            }
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=dev.unwinder.elf,dev.unwinder.process", "--module-path", String.join(File.pathSeparator, modulePath),
                "--module", "dev.unwinder.cli/dev.unwinder.cli.Main"));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).start();
        process.getOutputStream().close();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("the command did not finish in 60 s");
        }
        assertEquals("", err, "module path " + modulePath);
        assertEquals(0, process.exitValue());
        return out;
    }
}
