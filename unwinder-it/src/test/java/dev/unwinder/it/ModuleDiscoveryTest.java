package dev.unwinder.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.testkit.ReleasePlugins;
import java.io.File;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.InvocationTargetException;
import java.lang.module.Configuration;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shipped modules as a user meets them: every provider is found on the class path and on the
 * module path, and each descriptor exports, requires and provides what it should. The jars (or
 * class directories) are the ones on this test's class path, loaded again in isolation.
 */
final class ModuleDiscoveryTest {
    private static final List<String> EXPECTED_PLUGINS = ReleasePlugins.NAMES;
    private static final String UNWIND = "dev.unwinder.api.Unwind";

    /** The shipped modules, by name, and where they are. */
    private static final Map<String, Path> SHIPPED = new TreeMap<>();
    private static final Map<String, ModuleDescriptor> DESCRIPTORS = new TreeMap<>();

    @BeforeAll
    static void findShippedModules() {
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path path = Path.of(entry);
            for (ModuleReference reference : ModuleFinder.of(path).findAll()) {
                String name = reference.descriptor().name();
                if (name.equals("dev.unwinder.api") || name.equals("dev.unwinder.core") || name.startsWith("dev.unwinder.arch.")) {
                    SHIPPED.put(name, path);
                    DESCRIPTORS.put(name, reference.descriptor());
                }
            }
        }
        assertEquals(Set.of("dev.unwinder.api", "dev.unwinder.core", "dev.unwinder.arch.x86_64",
                        "dev.unwinder.arch.aarch64", "dev.unwinder.arch.riscv64", "dev.unwinder.arch.s390x"),
                SHIPPED.keySet());
    }

    private static List<String> namesOf(List<?> unwinds) throws ReflectiveOperationException {
        List<String> names = new ArrayList<>();
        for (Object unwind : unwinds) {
            names.add((String) unwind.getClass().getMethod("name").invoke(unwind));
        }
        return names;
    }

    @Test
    void everyProviderIsFoundOnTheModulePath() throws Exception {
        ModuleFinder finder = ModuleFinder.of(SHIPPED.values().toArray(Path[]::new));
        Configuration configuration = ModuleLayer.boot().configuration()
                .resolveAndBind(finder, ModuleFinder.of(), Set.of("dev.unwinder.core"));
        ModuleLayer layer = ModuleLayer.boot().defineModulesWithOneLoader(configuration,
                ClassLoader.getPlatformClassLoader());
        Class<?> unwinders = layer.findLoader("dev.unwinder.core").loadClass("dev.unwinder.core.Unwinders");
        List<?> available = (List<?>) unwinders.getMethod("available").invoke(null);
        assertEquals(EXPECTED_PLUGINS, namesOf(available));
        for (Object unwind : available) {
            Module module = unwind.getClass().getModule();
            assertTrue(module.isNamed() && module.getLayer() == layer, unwind + " comes from " + module);
        }
    }

    @Test
    void everyProviderIsFoundOnTheClassPath() throws Exception {
        URL[] urls = new URL[SHIPPED.size()];
        int i = 0;
        for (Path path : SHIPPED.values()) {
            urls[i++] = path.toUri().toURL();
        }
        try (URLClassLoader loader = new URLClassLoader(urls, ClassLoader.getPlatformClassLoader())) {
            Class<?> unwinders = loader.loadClass("dev.unwinder.core.Unwinders");
            List<?> available = (List<?>) unwinders.getMethod("available").invoke(null);
            assertEquals(EXPECTED_PLUGINS, namesOf(available));
            for (Object unwind : available) {
                assertFalse(unwind.getClass().getModule().isNamed(), unwind + " is on the class path");
                assertEquals(loader, unwind.getClass().getClassLoader());
            }
        }
    }

    @Test
    void descriptorsExportOnlyApiPackages() {
        Map<String, Set<String>> exports = DESCRIPTORS.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey,
                e -> e.getValue().exports().stream().map(x -> x.source() + (x.isQualified() ? " to " + x.targets() : ""))
                        .collect(Collectors.toSet()), (a, b) -> a, TreeMap::new));
        assertEquals(Map.of(
                "dev.unwinder.api", Set.of("dev.unwinder.api"),
                "dev.unwinder.core", Set.of("dev.unwinder.core"),
                "dev.unwinder.arch.x86_64", Set.of("dev.unwinder.arch.x86_64"),
                "dev.unwinder.arch.aarch64", Set.of("dev.unwinder.arch.aarch64"),
                "dev.unwinder.arch.riscv64", Set.of("dev.unwinder.arch.riscv64"),
                "dev.unwinder.arch.s390x", Set.of("dev.unwinder.arch.s390x")), exports);
        for (ModuleDescriptor descriptor : DESCRIPTORS.values()) {
            assertFalse(descriptor.isOpen(), descriptor.name());
            assertEquals(Set.of(), descriptor.opens(), descriptor.name());
        }
    }

    @Test
    void pluginsProvideTheirUnwindAndTheCoreUsesIt() {
        assertEquals(Set.of(UNWIND), DESCRIPTORS.get("dev.unwinder.core").uses());
        Map<String, List<String>> provided = new TreeMap<>();
        DESCRIPTORS.forEach((name, descriptor) -> descriptor.provides().forEach(p -> {
            assertEquals(UNWIND, p.service(), name);
            provided.put(name, p.providers().stream().sorted().toList());
        }));
        assertEquals(Map.of(
                "dev.unwinder.arch.x86_64", List.of("dev.unwinder.arch.x86_64.X86_64Unwind"),
                "dev.unwinder.arch.aarch64", List.of("dev.unwinder.arch.aarch64.AArch64Unwind"),
                "dev.unwinder.arch.riscv64", List.of("dev.unwinder.arch.riscv64.Riscv64CraneliftUnwind",
                        "dev.unwinder.arch.riscv64.Riscv64Unwind"),
                "dev.unwinder.arch.s390x", List.of("dev.unwinder.arch.s390x.S390xUnwind")), provided);
    }

    @Test
    void apiAndCoreHaveNoRuntimeDependenciesAndPluginsNeedOnlyTheApi() {
        Map<String, Set<String>> runtimeRequires = new TreeMap<>();
        DESCRIPTORS.forEach((name, descriptor) -> runtimeRequires.put(name, descriptor.requires().stream()
                .filter(r -> !r.modifiers().contains(ModuleDescriptor.Requires.Modifier.STATIC))
                .map(ModuleDescriptor.Requires::name)
                .collect(Collectors.toSet())));
        Set<String> apiOnly = Set.of("java.base", "dev.unwinder.api");
        assertEquals(Set.of("java.base"), runtimeRequires.get("dev.unwinder.api"));
        runtimeRequires.forEach((name, requires) -> {
            if (!name.equals("dev.unwinder.api")) {
                assertEquals(apiOnly, requires, name);
            }
        });
    }

    /**
     * The API module in a layer of its own, with and without native access: without, it makes no
     * restricted call and reads a global-scope segment through the segment; with, at absolute
     * addresses. Both read the same word, and refuse the same read outside the segment.
     */
    @Test
    @SuppressWarnings("restricted")
    void nativeMemoryNeedsNoNativeAccessInTheApiAndTakesTheFastPathWithIt() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment allocated = arena.allocate(64, 16);
            allocated.set(ValueLayout.JAVA_LONG, 8, 0x1234_5678_9abc_def0L);
            MemorySegment global = globalView(allocated);
            for (boolean access : new boolean[] {false, true}) {
                Configuration configuration = ModuleLayer.boot().configuration()
                        .resolve(ModuleFinder.of(SHIPPED.get("dev.unwinder.api")), ModuleFinder.of(), Set.of("dev.unwinder.api"));
                ModuleLayer.Controller controller = ModuleLayer.defineModulesWithOneLoader(configuration,
                        List.of(ModuleLayer.boot()), ClassLoader.getPlatformClassLoader());
                Module api = controller.layer().findModule("dev.unwinder.api").orElseThrow();
                if (access) {
                    controller.enableNativeAccess(api);
                }
                Class<?> stackMemory = api.getClassLoader().loadClass("dev.unwinder.api.StackMemory");
                Object memory = stackMemory.getMethod("ofNative", MemorySegment.class).invoke(null, global);
                assertEquals(access ? "NativeStackMemory" : "SegmentStackMemory", memory.getClass().getSimpleName());
                assertEquals(0x1234_5678_9abc_def0L,
                        stackMemory.getMethod("readLong", long.class).invoke(memory, global.address() + 8));
                InvocationTargetException outside = assertThrows(InvocationTargetException.class,
                        () -> stackMemory.getMethod("readLong", long.class).invoke(memory, global.address() + 60));
                assertEquals("dev.unwinder.api.UnwindException", outside.getCause().getClass().getName());
            }
        }
    }

    @SuppressWarnings("restricted")
    private static MemorySegment globalView(MemorySegment segment) {
        return MemorySegment.ofAddress(segment.address()).reinterpret(segment.byteSize());
    }
}
