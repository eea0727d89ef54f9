package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.DemanglerTest.Tools;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every symbol of a C++ program that g++ compiles here with {@code -O2}
 * ({@code src/test/c/demangle_names.cpp}: templates, lambdas, namespaces, operators, standard
 * containers and strings, function pointers, ABI tags, and the {@code .cold}, {@code .isra},
 * {@code .constprop} and {@code .part} clones of the optimizer), demangled by
 * {@link Demangler#system()} and by c++filt: the same text for every one.
 */
final class DemanglerCxxProgramTest {
    @Test
    void everySymbolDemanglesAsCxxFilt() {
        SystemDemangler system = Tools.libbfd();
        Path gxx = Tools.tool("g++", "apt-get install g++");
        Path program = Tools.work("cxx").resolve("demangle_names");
        Tools.run("", List.of(gxx.toString(), "-std=c++20", "-O2", "-o", program.toString(),
                Path.of("src/test/c/demangle_names.cpp").toAbsolutePath().toString())).ok("g++");
        List<String> names = new ArrayList<>(Tools.nm(program, false));
        for (String name : Tools.nm(program, true)) {
            if (!names.contains(name)) {
                names.add(name);
            }
        }
        List<String> expected = Tools.cxxfilt(names);

        int[] counts = Tools.compare(system, names, expected);
        System.out.printf("C++ program: %d names, %d demangled by c++filt, 0 differ, %d left mangled%n",
                counts[0], counts[1], counts[2]);
        assertEquals(0, counts[2], "names that c++filt demangles and the system demangler left mangled");

        // The program still holds what it is there to test.
        String all = String.join("\n", expected);
        for (String kind : new String[] {"[clone .cold]", "[clone .isra.0]", "[clone .constprop.0]",
            "[clone .part.0]", "[abi:cxx11]", "[abi:v1]", "{lambda(", "(anonymous namespace)::", "::operator+(",
            "::operator bool()", "::operator[](", "std::map<", "std::vector<", "std::function<", "int (*)(int, int)",
            "double& (geometry::Point::*)(int)", "typeinfo for ", "vtable for ", "geometry::detail::inner::v2::"}) {
            assertTrue(all.contains(kind), "no symbol demangles to " + kind);
        }
    }
}
