package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.unwinder.elf.DemanglerTest.Tools;
import java.io.File;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link Demangler#system()} in a JVM of its own: without native access for its module it is
 * {@link Demangler#none()} and makes no restricted call (so the JVM prints no warning about one);
 * with native access it demangles.
 */
final class DemanglerNativeAccessTest {
    @Test
    void withoutNativeAccessNamesStayMangledWithoutAWarning() throws Exception {
        Tools.libbfd();
        Tools.Run run = child();
        assertEquals("none _Z1fv\n", run.ok("the child JVM"));
        assertFalse(run.err().contains("restricted method"), run.err());
    }

    @Test
    void withNativeAccessNamesAreDemangled() throws Exception {
        Tools.libbfd();
        Tools.Run run = child("--enable-native-access=ALL-UNNAMED");
        assertEquals("cplus_demangle f()\n", run.ok("the child JVM"));
        assertEquals("", run.err());
    }

    private static Tools.Run child(String... options) throws URISyntaxException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        String classes = Path.of(Demangler.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        String tests = Path.of(Child.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(List.of(options));
        command.addAll(List.of("-cp", classes + File.pathSeparator + tests, Child.class.getName()));
        return Tools.run("", command);
    }

    /** The child JVM: prints which demangler {@link Demangler#system()} is, and a demangled name. */
    static final class Child {
        private Child() {}

        /**
         * Prints "none" or the function the system demangler calls, and its demangling of {@code _Z1fv}.
         *
         * @param args none
         */
        public static void main(String[] args) {
            Demangler demangler = Demangler.system();
            String kind = demangler instanceof SystemDemangler s ? s.toString().replaceAll("Demangler\\[(\\S+) .*", "$1")
                    : "none";
            System.out.println(kind + " " + demangler.demangle("_Z1fv"));
        }
    }
}
