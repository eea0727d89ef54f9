package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.DemanglerTest.Tools;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every symbol of a Rust program that rustc compiles here ({@code src/test/rust/demangle_names.rs}),
 * once with the legacy mangling and once with v0, demangled by {@link Demangler#system()} and by
 * c++filt: the same text for every one. The program's own symbols are in the scheme asked for; the
 * standard library's are in the one it was built with.
 *
 * <p>rustc is looked for on the PATH, then in {@code $CARGO_HOME/bin} and {@code ~/.cargo/bin}, where
 * rustup installs it. On CI ({@code CI=true}) a missing rustc fails the test; elsewhere it skips.
 * Stable rustc takes {@code -C symbol-mangling-version=legacy} only with {@code -Z unstable-options};
 * legacy is its default, so without the option the default is used and checked.
 */
final class DemanglerRustTest {
    @Test
    void legacySymbolsDemangleAsCxxFilt() {
        Path rustc = rustc();
        Path program = Tools.work("rust").resolve("demangle_names_legacy");
        Tools.Run run = compile(rustc, program, "-C", "symbol-mangling-version=legacy");
        if (run.status() != 0 && run.err().contains("-Z unstable-options")) {
            run = compile(rustc, program); // stable rustc: legacy is the default
        }
        run.ok("rustc");
        List<String> names = Tools.nm(program, false);
        long own = names.stream().filter(n -> n.startsWith("_ZN14demangle_names")).count();
        assertTrue(own >= 10, own + " legacy symbols of the program's own");
        compare("legacy", names);
    }

    @Test
    void v0SymbolsDemangleAsCxxFilt() {
        Path rustc = rustc();
        Path program = Tools.work("rust").resolve("demangle_names_v0");
        compile(rustc, program, "-C", "symbol-mangling-version=v0").ok("rustc");
        List<String> names = Tools.nm(program, false);
        long own = names.stream().filter(n -> n.startsWith("_R") && n.contains("14demangle_names")).count();
        assertTrue(own >= 10, own + " v0 symbols of the program's own");
        List<String> expected = compare("v0", names);
        String all = String.join("\n", expected);
        for (String kind : new String[] {"::Grüße<", ">::grüßen", "::flag::<true: bool, 'x': char, -3: i32>",
            "::shapes::Shape<Unit = u64>", "{closure#0}", "::pairs::<u16, char>"}) {
            assertTrue(all.contains(kind), "no symbol demangles to " + kind);
        }
    }

    private static List<String> compare(String scheme, List<String> names) {
        List<String> expected = Tools.cxxfilt(names);
        int[] counts = Tools.compare(Tools.libbfd(), names, expected);
        long v0 = names.stream().filter(n -> n.startsWith("_R")).count();
        long legacy = names.stream().filter(n -> n.startsWith("_ZN") && n.matches(".*17h[0-9a-f]{16}E(\\..*)?")).count();
        System.out.printf("Rust program, %s: %d names (%d _R..., %d legacy _ZN...17h<hash>E), %d demangled by c++filt,"
                + " 0 differ, %d left mangled%n", scheme, counts[0], v0, legacy, counts[1], counts[2]);
        assertEquals(0, counts[2], "names that c++filt demangles and the system demangler left mangled");
        return expected;
    }

    private static Tools.Run compile(Path rustc, Path program, String... options) {
        List<String> command = new ArrayList<>(List.of(rustc.toString(), "--edition=2021"));
        command.addAll(List.of(options));
        command.addAll(List.of("-o", program.toString(),
                Path.of("src/test/rust/demangle_names.rs").toAbsolutePath().toString()));
        return Tools.run("", command);
    }

    private static Path rustc() {
        List<Path> elsewhere = new ArrayList<>();
        String cargoHome = System.getenv("CARGO_HOME");
        if (cargoHome != null && !cargoHome.isEmpty()) {
            elsewhere.add(Path.of(cargoHome, "bin"));
        }
        elsewhere.add(Path.of(System.getProperty("user.home"), ".cargo", "bin"));
        return Tools.tool("rustc", "install Rust (apt-get install rustc, or rustup)", elsewhere.toArray(Path[]::new));
    }
}
