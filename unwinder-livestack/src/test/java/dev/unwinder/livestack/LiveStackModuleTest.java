package dev.unwinder.livestack;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The module descriptor: LiveStack's package is exported, and its API's types are readable by users. */
final class LiveStackModuleTest {

    @Test
    void exportsTheHarnessPackageAndPassesOnTheApi() throws Exception {
        Path classes = Path.of(LiveStack.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        ModuleDescriptor descriptor = ModuleFinder.of(classes).find("dev.unwinder.livestack").orElseThrow().descriptor();
        assertEquals(Set.of("dev.unwinder.livestack"),
                descriptor.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet()));
        Map<String, Set<ModuleDescriptor.Requires.Modifier>> requires = descriptor.requires().stream()
                .filter(r -> r.name().startsWith("dev.unwinder."))
                .collect(Collectors.toMap(ModuleDescriptor.Requires::name, ModuleDescriptor.Requires::modifiers));
        // LiveStack's API names StackMemory and Unwind: users of the module must read the API; it needs no more.
        assertEquals(Map.of("dev.unwinder.api", Set.of(ModuleDescriptor.Requires.Modifier.TRANSITIVE), "dev.unwinder.elf", Set.of()),
                requires);
    }
}
