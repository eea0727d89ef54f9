package dev.unwinder.core;

import static java.util.Objects.requireNonNull;

import dev.unwinder.api.Unwind;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/**
 * Finds the architecture plugins ({@link Unwind} providers) and picks one by name, by alias or for
 * the host.
 *
 * <p>Plugins are discovered once, through {@link ServiceLoader}, on the class path and on the
 * module path alike: each {@code dev.unwinder:arch-*} artifact registers its provider both in
 * {@code META-INF/services} and in its module descriptor. Names and aliases match without regard
 * to case.
 *
 * {@snippet :
 * Unwind host = Unwinders.host();              // x86_64 on an x86_64 JVM
 * Unwind s390x = Unwinders.forArch("s390x");   // walk a big-endian capture on any host
 * }
 */
public final class Unwinders {

    /** Which artifact provides each architecture name or alias this project knows. */
    private static final Map<String, String> ARTIFACTS = Map.of(
            "x86_64", "arch-x86_64",
            "amd64", "arch-x86_64",
            "x86-64", "arch-x86_64",
            "aarch64", "arch-aarch64",
            "arm64", "arch-aarch64",
            "riscv64", "arch-riscv64",
            "riscv64-cranelift", "arch-riscv64",
            "s390x", "arch-s390x");

    private static volatile Registry registry;

    private Unwinders() {}

    /**
     * Returns the plugin whose name or alias is {@code nameOrAlias}.
     *
     * @param nameOrAlias a name such as {@code "aarch64"} or an alias such as {@code "arm64"}
     * @return the plugin
     * @throws IllegalArgumentException if no available plugin answers to it; the message names
     *     what was asked, what is available and which artifact provides it
     */
    public static Unwind forArch(String nameOrAlias) {
        requireNonNull(nameOrAlias, "nameOrAlias");
        Registry plugins = registry();
        Unwind unwind = plugins.byName.get(nameOrAlias.toLowerCase(Locale.ROOT));
        if (unwind == null) {
            throw new IllegalArgumentException(missing("architecture \"" + nameOrAlias + "\"", nameOrAlias, plugins));
        }
        return unwind;
    }

    /**
     * Returns the plugin for the architecture this JVM runs on, from the {@code os.arch} system
     * property: {@code riscv64} picks the platform (psABI) layout.
     *
     * @return the host's plugin
     * @throws IllegalStateException if no available plugin serves the host's architecture: the
     *     method takes no argument, so what is wrong is the JVM's host or the class path
     */
    public static Unwind host() {
        String osArch = System.getProperty("os.arch", "");
        String arch = normalizeArch(osArch);
        Registry plugins = registry();
        Unwind unwind = plugins.byName.get(arch);
        if (unwind == null) {
            throw new IllegalStateException(
                    missing("this host's architecture \"" + arch + "\" (os.arch \"" + osArch + "\")", arch, plugins));
        }
        return unwind;
    }

    /**
     * Returns every available plugin, sorted by name.
     *
     * @return an unmodifiable list, empty if no plugin is on the class path or module path
     */
    public static List<Unwind> available() {
        return registry().sorted;
    }

    /**
     * Turns an {@code os.arch} spelling into this project's architecture name: the one place where
     * host spellings are normalized.
     */
    static String normalizeArch(String osArch) {
        String arch = osArch.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
        return switch (arch) {
            case "x8664", "amd64", "x64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            case "riscv64", "riscv" -> "riscv64";
            case "s390x" -> "s390x";
            default -> osArch.toLowerCase(Locale.ROOT);
        };
    }

    private static String missing(String what, String key, Registry plugins) {
        String artifact = ARTIFACTS.get(key.toLowerCase(Locale.ROOT));
        String provider = artifact != null
                ? "it is provided by the artifact dev.unwinder:" + artifact + ", which is not on the class path or module path"
                : "plugins are the artifacts " + ARTIFACTS.values().stream().distinct().sorted()
                        .map(a -> "dev.unwinder:" + a).collect(Collectors.joining(", "));
        return "no unwinder plugin for " + what + " (available: " + plugins.describe() + "); " + provider;
    }

    private static Registry registry() {
        Registry plugins = registry;
        if (plugins == null) {
            synchronized (Unwinders.class) {
                plugins = registry;
                if (plugins == null) {
                    plugins = Registry.load();
                    registry = plugins;
                }
            }
        }
        return plugins;
    }

    /** The discovered plugins, sorted and indexed by every name and alias. */
    private record Registry(List<Unwind> sorted, Map<String, Unwind> byName) {

        static Registry load() {
            List<Unwind> found = new ArrayList<>();
            ServiceLoader.load(Unwind.class, Unwinders.class.getClassLoader()).forEach(found::add);
            found.sort(Comparator.comparing(Unwind::name));
            Map<String, Unwind> byName = new LinkedHashMap<>();
            for (Unwind unwind : found) {
                List<String> keys = new ArrayList<>();
                keys.add(unwind.name());
                keys.addAll(unwind.aliases());
                for (String key : keys) {
                    Unwind clash = byName.putIfAbsent(key.toLowerCase(Locale.ROOT), unwind);
                    if (clash != null) {
                        throw new IllegalStateException("two unwinder plugins answer to \"" + key + "\": "
                                + clash.getClass().getName() + " and " + unwind.getClass().getName());
                    }
                }
            }
            return new Registry(List.copyOf(found), Map.copyOf(byName));
        }

        String describe() {
            if (sorted.isEmpty()) {
                return "none";
            }
            return sorted.stream()
                    .map(u -> u.aliases().isEmpty() ? u.name() : u.name() + " " + u.aliases())
                    .collect(Collectors.joining(", "));
        }
    }
}
