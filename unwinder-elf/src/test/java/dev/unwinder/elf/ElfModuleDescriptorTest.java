package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The module's descriptor: one exported package, the API passed on to its users, xz its one other dependency. */
final class ElfModuleDescriptorTest {

    @Test
    void exportsItsPackageAndRequiresOnlyTheApiAndXz() throws Exception {
        Path classes = Path.of(ElfFile.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        ModuleDescriptor descriptor;
        try (InputStream in = Files.newInputStream(classes.resolve("module-info.class"))) {
            descriptor = ModuleDescriptor.read(in);
        }
        assertEquals("dev.unwinder.elf", descriptor.name());
        assertEquals(Set.of("dev.unwinder.elf"),
                descriptor.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet()));
        assertEquals(Set.of("dev.unwinder.api [TRANSITIVE]", "org.tukaani.xz []", "java.base [MANDATED]"),
                descriptor.requires().stream().map(r -> r.name() + " " + r.modifiers()).collect(Collectors.toSet()));
        assertEquals(Set.of(), descriptor.opens());
    }
}
