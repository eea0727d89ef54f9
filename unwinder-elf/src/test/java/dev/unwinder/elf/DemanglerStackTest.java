package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.DemanglerTest.Tools;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

/**
 * The native stack that {@link SystemDemangler} reckons a name needs is enough for libbfd's
 * {@code cplus_demangle}: for names of many shapes, each as deep as the budget lets it be on the
 * calling thread (where 64 KiB are taken to be free: HotSpot keeps 80 KiB) and on a thread of its
 * own, a C program ({@code src/test/c/demangle_stack.c}) demangles the name on a thread with
 * exactly that much stack. The deepest of them with a 16 KiB stack crashes it: the check can fail.
 */
final class DemanglerStackTest {
    /** Names of one shape, deeper with n. */
    private static Map<String, IntFunction<String>> shapes() {
        Map<String, IntFunction<String>> shapes = new LinkedHashMap<>();
        shapes.put("pointers", n -> "_Z1f" + "P".repeat(n) + "iv");
        shapes.put("const pointers", n -> "_Z1f" + "PK".repeat(n) + "iv");
        shapes.put("function pointers", n -> "_Z1f" + "PFi".repeat(n) + "v" + "E".repeat(n));
        shapes.put("templates", n -> "_Z1f" + "1aI".repeat(n) + "i" + "E".repeat(n));
        shapes.put("nested templates", n -> "_Z1f" + "N1aI".repeat(n) + "i" + "EE".repeat(n));
        shapes.put("arrays", n -> "_Z1f" + "A1_".repeat(n) + "iv");
        shapes.put("member pointers", n -> "_Z1f" + "M1a".repeat(n) + "iv");
        shapes.put("expressions", n -> "_Z1fIXplLi1E" + "plLi1E".repeat(n) + "Li2EEEvv");
        shapes.put("negations", n -> "_Z1fIiEDt" + "ng".repeat(n) + "Li1EEv");
        shapes.put("references", n -> "_Z1f" + "RP".repeat(n) + "iv");
        shapes.put("local names", n -> "_Z" + "Z1fvE".repeat(n) + "1gv");
        shapes.put("parameters", n -> "_Z1f" + "i".repeat(n));
        shapes.put("substitutions", n -> {
            StringBuilder name = new StringBuilder("_Z1fP1a");
            for (int i = 0; i < n; i++) {
                name.append('P').append(i == 0 ? "S0_" : "S" + Integer.toString(i - 1, 36).toUpperCase() + "_");
            }
            return name.append('v').toString();
        });
        shapes.put("Rust references", n -> "_RIC1a" + "R".repeat(n) + "hE");
        shapes.put("Rust slices", n -> "_RIC1a" + "S".repeat(n) + "hE");
        shapes.put("Rust paths", n -> "_R" + "Nv".repeat(n) + "C1a" + "1b".repeat(n));
        shapes.put("Rust generics", n -> "_R" + "INvC1a1f".repeat(n) + "h" + "E".repeat(n));
        return shapes;
    }

    @Test
    void theReckonedStackIsEnough() {
        SystemDemangler system = Tools.libbfd();
        Path gcc = Tools.tool("gcc", "apt-get install gcc");
        Path program = Tools.work("stack").resolve("demangle_stack");
        Tools.run("", List.of(gcc.toString(), "-O2", "-o", program.toString(),
                Path.of("src/test/c/demangle_stack.c").toAbsolutePath().toString(), "-ldl", "-lpthread")).ok("gcc");
        List<String> report = new ArrayList<>();
        for (Map.Entry<String, IntFunction<String>> shape : shapes().entrySet()) {
            String inline = null;
            String worker = null;
            for (int n = 1; n <= 1100; n++) {
                String name = shape.getValue().apply(n);
                long stack = stack(name);
                if (stack > 0 && stack <= SystemDemangler.INLINE_STACK) {
                    inline = name;
                }
                if (stack > 0) {
                    worker = name;
                }
            }
            assertTrue(inline != null && worker != null, shape.getKey() + ": no name within the budget");
            for (String name : List.of(inline, worker)) {
                long stack = stack(name);
                String out = Tools.run(name, List.of(program.toString(), system.library(), Long.toString(stack)))
                        .ok(shape.getKey() + " (" + name.length() + " bytes) with a stack of " + stack + " bytes");
                assertTrue(out.startsWith("demangled ") || out.startsWith("not demangled"), out);
                report.add(String.format("%s: %d bytes need %d KiB, %s", shape.getKey(), name.length(), stack / 1024,
                        out.strip()));
            }
        }
        String deep = shapes().get("pointers").apply(1018);
        Tools.Run crash = Tools.run(deep, List.of(program.toString(), system.library(), "16384"));
        assertNotEquals(0, crash.status(), "1018 pointers with a 16 KiB stack: " + crash.out());
        System.out.println("Native stack reckoned and used:\n  " + String.join("\n  ", report));
        assertEquals(2 * shapes().size(), report.size());
    }

    private static long stack(String name) {
        return SystemDemangler.stackNeeded(name.getBytes(StandardCharsets.UTF_8), 0, 2 * ItaniumBudget.MAX_DEPTH);
    }
}
