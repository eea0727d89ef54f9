package dev.unwinder.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The module descriptor: LiveStack's package is exported, and its API's types are readable by users. */
final class ExamplesModuleTest {

    @Test
    void exportsTheExamplesPackageAndPassesOnTheCore() throws Exception {
        Path classes = Path.of(LiveStack.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        ModuleDescriptor descriptor = ModuleFinder.of(classes).find("dev.unwinder.examples").orElseThrow().descriptor();
        assertEquals(Set.of("dev.unwinder.examples"),
                descriptor.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet()));
        Map<String, Set<ModuleDescriptor.Requires.Modifier>> requires = descriptor.requires().stream()
                .filter(r -> r.name().startsWith("dev.unwinder."))
                .collect(Collectors.toMap(ModuleDescriptor.Requires::name, ModuleDescriptor.Requires::modifiers));
        // LiveStack's API names StackMemory and Unwind: users of the module must read the core and the API.
        assertEquals(Map.of("dev.unwinder.core", Set.of(ModuleDescriptor.Requires.Modifier.TRANSITIVE),
                "dev.unwinder.testkit", Set.of()), requires);
    }
}
