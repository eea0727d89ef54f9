package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.DemanglerTest.Tools;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The bounds that {@link ItaniumBudget} and {@link RustBudget} put on a name before it reaches
 * libiberty: short names whose demangling would take c++filt gigabytes and hours stay mangled at
 * once; names at the depth limit are demangled (on a thread with a stack of their own) exactly as
 * c++filt does; and the bound of every name is at least what c++filt prints.
 */
final class DemanglerBudgetTest {
    /** f(a&lt;int, int&gt;, a&lt;S0_, S0_&gt;, ...): each parameter prints the previous one twice. */
    static String doublingCxx(int n) {
        StringBuilder name = new StringBuilder("_Z1f1aIiiE");
        for (int i = 0; i < n; i++) {
            String previous = i == 0 ? "S0_" : "S" + Integer.toString(i, 36).toUpperCase() + "_";
            name.append("S_I").append(previous).append(previous).append('E');
        }
        return name.toString();
    }

    /** a::f::&lt;a::g, a::g&lt;A0, A0&gt;, ...&gt;: each generic argument refers back twice to the previous. */
    static String doublingRust(int n) {
        StringBuilder body = new StringBuilder("INvCs_1a1f");
        int previous = body.length();
        body.append("NvCs_1a1g");
        for (int k = 1; k <= n; k++) {
            int here = body.length();
            String ref = "B" + base62(previous);
            body.append("INvCs_1a1g").append(ref).append(ref).append('E');
            previous = here;
        }
        return "_R" + body.append('E');
    }

    private static String base62(int x) {
        String digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        if (x == 0) {
            return "_";
        }
        StringBuilder s = new StringBuilder();
        for (long v = x - 1; ; v /= 62) {
            s.insert(0, digits.charAt((int) (v % 62)));
            if (v < 62) {
                break;
            }
        }
        return s.append('_').toString();
    }

    @Test
    void namesThatWouldPrintGigabytesStayMangledAtOnce() {
        SystemDemangler system = Tools.libbfd();
        List<String> names = new ArrayList<>();
        for (int n = 12; n <= 60; n += 4) {
            names.add(doublingCxx(n)); // c++filt: n = 25 prints 1.1 GB in 12 s, n = 30 runs for minutes
        }
        for (int n = 14; n <= 60; n += 4) {
            names.add(doublingRust(n)); // c++filt: n = 20 prints 37 MB, n = 25 runs for minutes
        }
        names.add("_RIC1aFGzzzz_EuE"); // a binder of 238,327 lifetimes: 92 MB
        names.add("_RIC1aFGzzzzzz_EuE"); // 916 million lifetimes: hours
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            for (String name : names) {
                assertSame(name, system.demangle(name), name);
            }
        });
    }

    @Test
    void namesThatPrintMegabytesStillDemangleAsCxxFilt() {
        SystemDemangler system = Tools.libbfd();
        List<String> names = List.of(doublingCxx(10), doublingRust(10), "_RIC1aFGzz_EuE");
        List<String> expected = Tools.cxxfilt(names);
        for (int i = 0; i < names.size(); i++) {
            assertEquals(expected.get(i), system.demangle(names.get(i)), names.get(i));
            assertTrue(expected.get(i).length() > 16_000, names.get(i) + " prints " + expected.get(i).length());
        }
    }

    @Test
    void namesAtTheDepthLimitDemangleOnAThreadOfTheirOwn() {
        SystemDemangler system = Tools.libbfd();
        String cxx = "_Z1f" + "P".repeat(1018) + "iv"; // 1024 levels deep, as deep as libiberty prints
        String rust = "_RIC1a" + "R".repeat(1022) + "hE";
        String flat = "_Z1f" + "i".repeat(1020); // a list of 1020 parameters: 1020 levels
        List<String> names = List.of(cxx, rust, flat);
        for (String name : names) {
            byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
            long stack = SystemDemangler.stackNeeded(bytes, 0, 2 * ItaniumBudget.MAX_DEPTH);
            assertTrue(stack > SystemDemangler.INLINE_STACK && stack <= SystemDemangler.WORKER_STACK / 2,
                    name + " needs " + stack);
        }
        List<String> expected = Tools.cxxfilt(names);
        for (int i = 0; i < names.size(); i++) {
            assertNotEquals(names.get(i), expected.get(i));
            assertEquals(expected.get(i), system.demangle(names.get(i)));
        }
        // One level deeper than libiberty goes, and c++filt, too, leaves the name as it is.
        String deeper = "_RIC1a" + "R".repeat(1030) + "hE";
        assertSame(deeper, system.demangle(deeper));
        assertEquals(List.of(deeper), Tools.cxxfilt(List.of(deeper)));
    }

    @Test
    void aThreadOfItsOwnKeepsTheCallersInterrupt() throws Exception {
        SystemDemangler system = Tools.libbfd();
        String name = "_Z1f" + "P".repeat(1018) + "iv";
        AtomicReference<String> result = new AtomicReference<>();
        AtomicBoolean stillInterrupted = new AtomicBoolean();
        Thread caller = Thread.ofPlatform().start(() -> {
            Thread.currentThread().interrupt();
            result.set(system.demangle(name));
            stillInterrupted.set(Thread.currentThread().isInterrupted());
        });
        caller.join();
        assertEquals("f(int" + "*".repeat(1018) + ", void)", result.get());
        assertTrue(stillInterrupted.get(), "the caller's interrupt status");
    }

    @Test
    void budgetsParseWhatTheyMeasure() {
        byte[] cxx = "_ZNSt6vectorIiSaIiEE9push_backERKi".getBytes(StandardCharsets.UTF_8);
        ItaniumBudget.Cost cost = ItaniumBudget.measure(cxx, 0, cxx.length, 48);
        assertNotNull(cost);
        assertTrue(cost.fits() && cost.output() >= 61 && cost.depth() < 20, cost.toString());
        assertSame(ItaniumBudget.Cost.TOO_DEEP, ItaniumBudget.measure(
                ("_Z1f" + "P".repeat(100) + "iv").getBytes(StandardCharsets.UTF_8), 0, 106, 48));
        byte[] tooLong = ("_Z1f" + "i".repeat(1021)).getBytes(StandardCharsets.UTF_8);
        assertNull(ItaniumBudget.measure(tooLong, 0, tooLong.length, 2048), "longer than libiberty takes");
        // Not C++ names, a reference to no earlier part, a C++20 module and constraints: not measured.
        for (String bad : new String[] {"_Z", "_Z1", "_Z1fS_", "_ZN3fooE1", "_Z1fW1mv", "_Z1fIiQLb1EEvv"}) {
            byte[] b = bad.getBytes(StandardCharsets.UTF_8);
            assertNull(ItaniumBudget.measure(b, 0, b.length, 2048), bad);
        }
        byte[] forward = "_RIC1aB9_E".getBytes(StandardCharsets.UTF_8);
        assertNull(RustBudget.measure(forward, 0, forward.length, 2048), "a back-reference forward");
        byte[] self = "_RIC1aB_B_E".getBytes(StandardCharsets.UTF_8);
        assertNull(RustBudget.measure(self, 0, self.length, 2048), "a back-reference to itself");
        byte[] legacy = "_ZN1m5hello17h80d440ae2c672742E.llvm.1".getBytes(StandardCharsets.UTF_8);
        assertEquals(3, RustBudget.legacyShape(legacy, 0, legacy.length));
        assertTrue(RustBudget.legacyHash(legacy, 0, legacy.length));
    }
}
