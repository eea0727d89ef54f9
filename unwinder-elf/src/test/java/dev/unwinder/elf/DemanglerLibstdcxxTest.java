package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.DemanglerTest.Tools;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every symbol that libstdc++'s {@code .dynsym} defines, demangled by {@link Demangler#system()}
 * and by c++filt: the same text for every one. Also libstdc++'s own {@code __cxa_demangle}, which
 * serves when libbfd is missing: it must print c++filt's text or leave the name alone.
 */
final class DemanglerLibstdcxxTest {
    private static List<String> names;
    private static List<String> expected;

    @BeforeAll
    static void symbols() throws Exception {
        Path gxx = Tools.tool("g++", "apt-get install g++");
        String printed = Tools.run("", List.of(gxx.toString(), "-print-file-name=libstdc++.so.6"))
                .ok("g++ -print-file-name").strip();
        Path library = Path.of(printed).toRealPath();
        names = Tools.nm(library, true);
        assertTrue(names.size() > 3000, library + " defines " + names.size() + " dynamic symbols");
        expected = Tools.cxxfilt(names);
        Files.write(Tools.work("libstdcxx").resolve("names.txt"), names, StandardCharsets.UTF_8);
    }

    @Test
    void everySymbolDemanglesAsCxxFilt() {
        SystemDemangler system = Tools.libbfd();
        int[] counts = Tools.compare(system, names, expected);
        System.out.printf("libstdc++ .dynsym: %d names, %d demangled by c++filt, 0 differ, %d left mangled by %s%n",
                counts[0], counts[1], counts[2], system);
        assertEquals(0, counts[2], "names that c++filt demangles and the system demangler left mangled");
        assertTrue(counts[1] > 0.9 * counts[0], counts[1] + " of " + counts[0] + " names demangled by c++filt");
    }

    @Test
    void libstdcxxDemanglesAsCxxFiltOrNotAtAll() {
        SystemDemangler libstdcxx = SystemDemangler.libstdcxx();
        if (libstdcxx == null) {
            Tools.missing("libstdc++.so.6", "apt-get install libstdc++6");
        }
        int[] counts = Tools.compare(libstdcxx, names, expected);
        System.out.printf("libstdc++ .dynsym: %d names, %d demangled by c++filt, 0 differ, %d left mangled by %s%n",
                counts[0], counts[1], counts[2], libstdcxx);
        // It leaves the names whose demangling abbreviates std::string, istream, ostream, iostream.
        assertTrue(counts[2] < counts[1] / 4, counts[2] + " of " + counts[1] + " names left mangled");
    }

    @Test
    void oneDemanglerServesManyThreadsAtOnce() throws Exception {
        SystemDemangler system = Tools.libbfd();
        ExecutorService threads = Executors.newFixedThreadPool(8);
        try {
            List<Future<List<String>>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int offset = t * 97;
                results.add(threads.submit(() -> {
                    List<String> differ = new ArrayList<>();
                    for (int i = 0; i < names.size(); i++) {
                        int k = (i + offset) % names.size();
                        if (!system.demangle(names.get(k)).equals(expected.get(k))) {
                            differ.add(names.get(k));
                        }
                    }
                    return differ;
                }));
            }
            for (Future<List<String>> result : results) {
                assertEquals(List.of(), result.get(), "names demangled differently on one of 8 threads");
            }
        } finally {
            threads.shutdownNow();
        }
    }
}
