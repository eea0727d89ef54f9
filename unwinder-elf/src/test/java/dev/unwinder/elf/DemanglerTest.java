package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@link Demangler#none()}, and what {@link Demangler#system()} does with names that are not
 * plainly mangled ones; also the tools that the other Demangler tests share: c++filt, nm,
 * compilers, and the rule that on CI ({@code CI=true}) a missing tool fails a test where
 * elsewhere it skips it.
 */
final class DemanglerTest {
    @Test
    void noneReturnsItsInput() {
        Demangler none = Demangler.none();
        for (String name : new String[] {"_ZNSt6vectorIiSaIiEE9push_backERKi", "_RNvC1a1f", "main", "", "\0"}) {
            assertSame(name, none.demangle(name));
        }
    }

    @Test
    void systemDemanglesAsCxxFilt() {
        Demangler system = Tools.libbfd();
        assertEquals("std::vector<int, std::allocator<int> >::push_back(int const&)",
                system.demangle("_ZNSt6vectorIiSaIiEE9push_backERKi"));
        assertEquals("f(std::basic_string<char, std::char_traits<char>, std::allocator<char> >)",
                system.demangle("_Z1fSs"));
        assertEquals("f() [clone .cold]", system.demangle("_Z1fv.cold"));
        assertEquals("global constructors keyed to f()", system.demangle("_GLOBAL__I__Z1fv"));
        assertEquals("m::hello::h80d440ae2c672742", system.demangle("_ZN1m5hello17h80d440ae2c672742E"));
        assertEquals("m::hello::h80d440ae2c672742", system.demangle("_ZN1m5hello17h80d440ae2c672742E.llvm.123"));
        assertEquals("a[0]::<for<'a> fn()>", system.demangle("_RIC1aFG_EuE"));
    }

    @Test
    void systemSkipsALeadingDotOrDollarAsCxxFilt() {
        Demangler system = Tools.libbfd();
        assertEquals(".f()", system.demangle("._Z1fv"));
        assertEquals("f()", system.demangle("$_Z1fv"));
        for (String name : new String[] {".L_Z1fv", "_$Z1fv", "..Z1fv", "$$_Z1fv"}) {
            assertSame(name, system.demangle(name), name);
        }
    }

    @Test
    void systemLeavesWhatItCannotDemangleAsItIs() {
        Demangler system = Tools.libbfd();
        String tooLong = "_Z" + (SystemDemangler.MAX_NAME_BYTES - 3) + "a".repeat(SystemDemangler.MAX_NAME_BYTES - 3) + "v";
        String[] names = {"main", "", "_", "_Z", "_Z1fv@@GLIBCXX_3.4", " _Z1fv", "_Z1fv ", "_Z1f\0v", "_Z1\uD800fv",
            "_GLOBAL__sub_I_main", "_Zé", "_R", "_RNvC1a1f\u00e9", tooLong, "_Z1fSs\n", "i", "Pi"};
        for (String name : names) {
            assertSame(name, system.demangle(name), name);
        }
        NullPointerException e = assertThrows(NullPointerException.class, () -> system.demangle(null));
        assertEquals("name", e.getMessage());
    }

    @Test
    void systemNamesTheLibraryItCalls() {
        SystemDemangler system = Tools.libbfd();
        assertTrue(system.library().matches("/usr/lib(64)?/(.*/)?libbfd[^/]*\\.so[^/]*"), system.library());
        assertEquals("Demangler[cplus_demangle in " + system.library() + "]", system.toString());
    }

    @Test
    void libstdcxxServesOnlyWhereItPrintsWhatCxxFiltDoes() {
        SystemDemangler libstdcxx = SystemDemangler.libstdcxx();
        if (libstdcxx == null) {
            Tools.missing("libstdc++.so.6", "apt-get install libstdc++6");
        }
        assertEquals("Demangler[__cxa_demangle in libstdc++.so.6]", libstdcxx.toString());
        assertEquals("std::vector<int, std::allocator<int> >::push_back(int const&)",
                libstdcxx.demangle("_ZNSt6vectorIiSaIiEE9push_backERKi"));
        assertEquals(".f()", libstdcxx.demangle("._Z1fv"));
        // __cxa_demangle prints std::string here, and would print Rust names as C++ ones or not at all.
        for (String name : new String[] {"_Z1fSs", "_Z1fSi", "_ZN1m5hello17h80d440ae2c672742E", "_RNvC1a1f", "i"}) {
            assertSame(name, libstdcxx.demangle(name), name);
        }
        // A legacy-shaped name without a Rust hash is a plain C++ name to c++filt, too.
        assertEquals("m::hello", libstdcxx.demangle("_ZN1m5helloE"));
    }

    /** The tools that the Demangler tests share. */
    static final class Tools {
        /** The symbol characters of c++filt's standard input: it splits its input at any other. */
        private static final String SYMBOL_CHARACTERS = "_$.";

        private Tools() {}

        /**
         * The system demangler, which must be libbfd's: a failure on CI if it is not, a skip elsewhere.
         *
         * @return the demangler
         */
        static SystemDemangler libbfd() {
            if (Demangler.system() instanceof SystemDemangler system && !system.library().equals("libstdc++.so.6")) {
                return system;
            }
            missing("a shared libbfd in /usr/lib/<multiarch>, /usr/lib64 or /usr/lib (with native access)",
                    "apt-get install binutils, which brings libbinutils");
            throw new AssertionError("unreachable");
        }

        /**
         * Fails the test on CI, skips it elsewhere, for a missing tool.
         *
         * @param what the tool
         * @param install how to install it
         */
        static void missing(String what, String install) {
            if ("true".equals(System.getenv("CI"))) {
                fail(what + " is missing, and CI=true: " + install);
            }
            Assumptions.abort(what + " is missing; " + install + " to run this test");
        }

        /**
         * An executable on the PATH, or in one of the other directories given.
         *
         * @param name its name
         * @param install how to install it, for the message when it is missing
         * @param elsewhere more directories to look in, after the PATH
         * @return its path
         */
        static Path tool(String name, String install, Path... elsewhere) {
            List<Path> dirs = new ArrayList<>();
            for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
                dirs.add(Path.of(dir.isEmpty() ? "." : dir));
            }
            dirs.addAll(List.of(elsewhere));
            for (Path dir : dirs) {
                Path candidate = dir.resolve(name);
                if (Files.isExecutable(candidate)) {
                    return candidate;
                }
            }
            missing(name + " (looked in the PATH and " + List.of(elsewhere) + ")", install);
            throw new AssertionError("unreachable");
        }

        /**
         * A directory of the module's build for a test's files.
         *
         * @param name the directory's name
         * @return the directory, created
         */
        static Path work(String name) {
            Path dir = Path.of("target", "demangler-tests", name).toAbsolutePath();
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return dir;
        }

        /**
         * What a finished command wrote, and its exit status.
         *
         * @param status the exit status
         * @param out its standard output
         * @param err its standard error
         */
        record Run(int status, String out, String err) {
            /**
             * The standard output, checked: the command must have succeeded.
             *
             * @param what what the command did, for the message
             * @return the output
             */
            String ok(String what) {
                assertEquals(0, status, what + " failed: " + err);
                return out;
            }
        }

        /**
         * Runs a command to its end, within two minutes.
         *
         * @param input what to write to its standard input
         * @param command the command
         * @return what it wrote
         */
        static Run run(String input, List<String> command) {
            Run run = run(input, command, Duration.ofMinutes(2));
            if (run == null) {
                fail(command + " did not end within two minutes");
            }
            return run;
        }

        /**
         * Runs a command to its end, or kills it.
         *
         * @param input what to write to its standard input
         * @param command the command
         * @param timeout how long it may take
         * @return what it wrote, or null if it was killed
         */
        static Run run(String input, List<String> command, Duration timeout) {
            try {
                Process process = new ProcessBuilder(command).start();
                CompletableFuture<byte[]> out = drain(process.getInputStream());
                CompletableFuture<byte[]> err = drain(process.getErrorStream());
                try (OutputStream in = process.getOutputStream()) {
                    in.write(input.getBytes(StandardCharsets.UTF_8));
                }
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly().waitFor();
                    return null;
                }
                return new Run(process.exitValue(), new String(out.join(), StandardCharsets.UTF_8),
                        new String(err.join(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }

        private static CompletableFuture<byte[]> drain(InputStream stream) {
            return CompletableFuture.supplyAsync(() -> {
                try (stream) {
                    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                    stream.transferTo(bytes);
                    return bytes.toByteArray();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }

        /**
         * c++filt's output for each name, as if each were its only argument: names of symbol
         * characters go through one c++filt process, one per line of its standard input, others
         * one process each.
         *
         * @param names the names, none with a NUL
         * @return the demangled names, in the same order
         */
        static List<String> cxxfilt(List<String> names) {
            Path cxxfilt = tool("c++filt", "apt-get install binutils");
            List<String> batch = new ArrayList<>();
            for (String name : names) {
                if (symbolCharacters(name)) {
                    batch.add(name);
                }
            }
            List<String> lines = run(String.join("\n", batch) + "\n", List.of(cxxfilt.toString())).ok("c++filt")
                    .lines().toList();
            assertEquals(batch.size(), lines.size(), "c++filt's lines for its input's");
            List<String> demangled = new ArrayList<>();
            int next = 0;
            for (String name : names) {
                if (symbolCharacters(name)) {
                    demangled.add(lines.get(next++));
                } else {
                    String out = run("", List.of(cxxfilt.toString(), "--", name)).ok("c++filt " + name);
                    demangled.add(out.endsWith("\n") ? out.substring(0, out.length() - 1) : out);
                }
            }
            return demangled;
        }

        /**
         * Whether c++filt reads the name from its standard input as one name.
         *
         * @param name the name
         * @return true if it is all ASCII letters, digits, {@code _}, {@code $} and {@code .}
         */
        static boolean symbolCharacters(String name) {
            if (name.isEmpty()) {
                return false;
            }
            for (int i = 0; i < name.length(); i++) {
                char c = name.charAt(i);
                boolean alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                if (!alnum && SYMBOL_CHARACTERS.indexOf(c) < 0) {
                    return false;
                }
            }
            return true;
        }

        /**
         * The names of the symbols that a file defines, as nm lists them, without the
         * {@code @VERSION} or {@code @@VERSION} that it appends to versioned dynamic symbols.
         *
         * @param file the ELF file
         * @param dynamic whether to list {@code .dynsym} rather than {@code .symtab}
         * @return the distinct names, in nm's order
         */
        static List<String> nm(Path file, boolean dynamic) {
            Path nm = tool("nm", "apt-get install binutils");
            List<String> command = new ArrayList<>(List.of(nm.toString(), "--defined-only"));
            if (dynamic) {
                command.add("-D");
            }
            command.add(file.toString());
            Set<String> names = new LinkedHashSet<>();
            for (String line : run("", command).ok("nm " + file).lines().toList()) {
                // "0000000000001139 T name" or, for an absolute symbol without address, "         w name"
                String[] fields = line.trim().split("\\s+", 3);
                if (fields.length == 3) {
                    String name = fields[2];
                    int at = name.indexOf('@');
                    names.add(at > 0 ? name.substring(0, at) : name);
                }
            }
            return List.copyOf(names);
        }

        /**
         * Compares a demangler with c++filt on every name.
         *
         * @param demangler the demangler
         * @param names the names
         * @param expected c++filt's output for each
         * @return {names, demangled by c++filt, left mangled by the demangler where c++filt demangles}
         */
        static int[] compare(Demangler demangler, List<String> names, List<String> expected) {
            List<String> differ = new ArrayList<>();
            int demangled = 0;
            int leftMangled = 0;
            for (int i = 0; i < names.size(); i++) {
                String name = names.get(i);
                String ours = demangler.demangle(name);
                if (!expected.get(i).equals(name)) {
                    demangled++;
                }
                if (ours.equals(name) && !expected.get(i).equals(name)) {
                    leftMangled++;
                } else if (!ours.equals(expected.get(i))) {
                    differ.add(name + "\n    ours:     " + ours + "\n    c++filt:  " + expected.get(i));
                }
            }
            assertEquals(List.of(), first(differ), demangler + ": " + differ.size()
                    + " names whose demangling differs from c++filt's, the first");
            boundsHold(names, expected);
            return new int[] {names.size(), demangled, leftMangled};
        }

        /**
         * Checks that the budget of every name that c++filt demangles is at least what c++filt prints.
         *
         * @param names the names
         * @param expected c++filt's output for each
         */
        static void boundsHold(List<String> names, List<String> expected) {
            List<String> under = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                String name = names.get(i);
                byte[] b = name.getBytes(StandardCharsets.UTF_8);
                int from = name.startsWith(".") || name.startsWith("$") ? 1 : 0;
                if (expected.get(i).equals(name) || RustBudget.legacyShape(b, from, b.length) >= 0) {
                    continue; // legacy Rust prints at most twice the name: no budget is measured
                }
                ItaniumBudget.Cost cost = name.startsWith("_R", from)
                        ? RustBudget.measure(b, from, b.length, 2 * ItaniumBudget.MAX_DEPTH)
                        : ItaniumBudget.measure(b, from, b.length, 2 * ItaniumBudget.MAX_DEPTH);
                long printed = expected.get(i).getBytes(StandardCharsets.UTF_8).length;
                if (cost == null || cost.output() < printed) {
                    under.add(name + ": " + cost + " for " + printed + " bytes");
                }
            }
            assertEquals(List.of(), first(under), under.size() + " names whose budget is less than c++filt prints, the first");
        }

        private static List<String> first(List<String> failures) {
            return failures.subList(0, Math.min(20, failures.size()));
        }
    }
}
