package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.DemanglerTest.Tools;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.statistics.Statistics;

/**
 * {@link Demangler#system()} on names that are not what compilers write: random strings, and real
 * mangled names with random edits. It never throws, and it returns either the name unchanged or
 * exactly what c++filt prints for it; a name that c++filt leaves as it is stays as it is.
 *
 * <p>A name that the demangler changes goes to one c++filt process that reads a name per line (it
 * flushes each line's answer); its cost was bounded, for c++filt too, which calls the same code.
 * A name that the demangler leaves as it is may be one of those that make c++filt print for hours
 * (an edit of a seed here can make one): a sample of them goes to a c++filt of its own that is
 * killed after a second, to count how many c++filt demangles, runs away on, or leaves alone.
 */
final class DemanglerGarbageTest {
    /** Names that compilers write, to edit: C++ of many kinds, Rust legacy and v0, and worst cases. */
    private static final List<String> SEEDS = List.of(
            "_ZNSt6vectorIiSaIiEE9push_backERKi",
            "_ZNKSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE4findEPKcmm",
            "_ZNSt8_Rb_treeINSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEESt4pairIKS5_iESt10_Select1stIS8_E"
                    + "St4lessIS5_ESaIS8_EE8_M_eraseEPSt13_Rb_tree_nodeIS8_E.isra.0",
            "_ZN9__gnu_cxx17__normal_iteratorIPcNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEEEppEv",
            "_ZSt4moveIRSt6vectorIiSaIiEEEONSt16remove_referenceIT_E4typeEOS5_",
            "_ZNSt10_HashtableIiSt4pairIKiiESaIS2_ENSt8__detail10_Select1stESt8equal_toIiESt4hashIiENS4_18_Mod_range_"
                    + "hashingENS4_20_Default_ranged_hashENS4_20_Prime_rehash_policyENS4_17_Hashtable_traitsILb0ELb0ELb1EEE"
                    + "9_M_rehashEmRKm",
            "_ZZ4mainENKUlvE_clEv",
            "_ZN12_GLOBAL__N_16HiddenD0Ev",
            "_ZTCN10__cxxabiv120__si_class_type_infoE0_NS_17__class_type_infoE",
            "_ZThn8_N1B1fEv",
            "_ZN1AcvT_IiEEv",
            "_Z1fIiEDTplfp_Li1EET_",
            "_Z5applyPFiiiEii",
            "_ZN8geometry5PointixEi",
            "_Z9count_allIJRN8geometry5PointEidRA2_KcEEmDpOT_.constprop.0",
            "_ZN8geometry6detail5inner2v28describeB5cxx11ERKNS_5PointE.cold",
            "_GLOBAL__sub_I_main",
            "_GLOBAL__I__Z1fv",
            "_ZN4core3ptr85drop_in_place$LT$std..rt..lang_start$LT$$LP$$RP$$GT$..$u7b$$u7b$closure$u7d$$u7d$$GT$"
                    + "17h0bd6b3b2d8d4cb12E",
            "_ZN1m5hello17h80d440ae2c672742E.llvm.123",
            "_RINvCs1234_14demangle_names4flagKb1_Kc78_Kanb_EB2_",
            "_RNvMs_Cs4Cv8Wi1oAIB_7mycrateINtB2_3FooNtB2_3BarE3baz",
            "_RNCINvCsiK7EsqvyHrE_3std10panicking11try_cleanupE0B4_",
            "_RINvC1a1fFG_EuE",
            "_RIC1aFGzz_EuE",
            "_Z1f1aIiiES_IS0_S0_ES_IS1_S1_ES_IS2_S2_ES_IS3_S3_ES_IS4_S4_E",
            "_Z1fPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPiv",
            "._Z1fv",
            "$_Z1fv");

    private static final String ALPHABET = "_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.$";

    private static SystemDemangler system;
    private static CxxFiltProcess cxxfilt;

    @Property(tries = 2000)
    void editedNamesDemangleAsCxxFiltOrNotAtAll(@ForAll("editedNames") String name) {
        check("edited", name);
    }

    @Property(tries = 1000)
    void anyStringComesBackUnchangedOrAsCxxFilt(@ForAll("strings") String name) {
        check("strings", name);
    }

    private static void check(String label, String name) {
        String ours = system().demangle(name);
        assertNotNull(ours);
        if (!ours.equals(name)) {
            // Demangled: its cost is bounded, and its text must be c++filt's.
            assertTrue(name.indexOf('\0') < 0 && !name.startsWith("@") && !name.startsWith("-"), name);
            String theirs = Tools.symbolCharacters(name) ? cxxfilt().demangle(name)
                    : Tools.cxxfilt(List.of(name)).getFirst();
            assertEquals(theirs, ours, "a demangling that is not c++filt's");
            Statistics.label(label).collect("demangled as c++filt");
        } else if (name.indexOf('\0') >= 0 || name.startsWith("@") || name.startsWith("-")
                || (name.hashCode() & 15) != 0) {
            Statistics.label(label).collect("left as it is");
        } else {
            // A sample of the names left as they are: what does c++filt make of them?
            Tools.Run run = Tools.run("", List.of(Tools.tool("c++filt", "apt-get install binutils").toString(), name),
                    Duration.ofSeconds(1));
            String theirs = run == null ? null : run.ok("c++filt").stripTrailing();
            Statistics.label(label).collect(theirs == null ? "left as it is, c++filt runs away"
                    : theirs.equals(name.stripTrailing()) ? "left as it is, as by c++filt"
                    : "left as it is, demangled by c++filt");
        }
    }

    @Provide
    Arbitrary<String> editedNames() {
        return Arbitraries.of(SEEDS).flatMap(seed -> Arbitraries.randomValue(random -> edit(seed, random)));
    }

    @Provide
    Arbitrary<String> strings() {
        Arbitrary<String> any = Arbitraries.strings().ofMaxLength(80);
        Arbitrary<String> symbols = Arbitraries.strings().withChars(ALPHABET).ofMaxLength(80);
        return Arbitraries.oneOf(any, symbols.map(s -> "_Z" + s), symbols.map(s -> "_R" + s),
                any.map(s -> "_Z" + s), symbols.map(s -> "_ZN" + s), symbols.map(s -> "." + s));
    }

    /** Up to three random edits: a character replaced, inserted or deleted, a span repeated, the end cut. */
    private static String edit(String seed, Random random) {
        StringBuilder name = new StringBuilder(seed);
        int edits = random.nextInt(4);
        for (int e = 0; e < edits && !name.isEmpty(); e++) {
            int at = random.nextInt(name.length());
            char c = ALPHABET.charAt(random.nextInt(ALPHABET.length()));
            switch (random.nextInt(5)) {
                case 0 -> name.setCharAt(at, c);
                case 1 -> name.insert(at, c);
                case 2 -> name.deleteCharAt(at);
                case 3 -> {
                    int end = Math.min(name.length(), at + 1 + random.nextInt(12));
                    name.insert(end, name.substring(at, end));
                }
                default -> name.setLength(Math.max(2, at));
            }
        }
        return name.toString();
    }

    private static synchronized SystemDemangler system() {
        if (system == null) {
            system = Tools.libbfd();
        }
        return system;
    }

    private static synchronized CxxFiltProcess cxxfilt() {
        if (cxxfilt == null) {
            cxxfilt = new CxxFiltProcess();
        }
        return cxxfilt;
    }

    @AfterContainer
    static synchronized void stopCxxFilt() {
        if (cxxfilt != null) {
            cxxfilt.process.destroy();
            cxxfilt = null;
        }
    }

    /** A c++filt that reads names from its standard input, one per line, and answers each at once. */
    private static final class CxxFiltProcess {
        private final Process process;
        private final Writer in;
        private final BufferedReader out;

        CxxFiltProcess() {
            try {
                process = new ProcessBuilder(Tools.tool("c++filt", "apt-get install binutils").toString())
                        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        }

        String demangle(String name) {
            try {
                in.write(name);
                in.write('\n');
                in.flush();
                return out.readLine();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
