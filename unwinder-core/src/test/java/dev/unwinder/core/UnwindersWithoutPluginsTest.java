package dev.unwinder.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The core's own tests run with no plugin on the class path: what a user meets who forgot one. */
final class UnwindersWithoutPluginsTest {

    @Test
    void nothingIsAvailable() {
        assertEquals(List.of(), Unwinders.available());
    }

    @Test
    void aKnownArchitectureNamesTheArtifactThatProvidesIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Unwinders.forArch("ARM64"));
        assertEquals("no unwinder plugin for architecture \"ARM64\" (available: none); it is provided by the artifact"
                + " dev.unwinder:arch-aarch64, which is not on the class path or module path", e.getMessage());
    }

    @Test
    void anUnknownArchitectureListsEveryPluginArtifact() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Unwinders.forArch("mips"));
        assertEquals("no unwinder plugin for architecture \"mips\" (available: none); plugins are the artifacts"
                + " dev.unwinder:arch-aarch64, dev.unwinder:arch-riscv64, dev.unwinder:arch-s390x,"
                + " dev.unwinder:arch-x86_64", e.getMessage());
    }

    @Test
    void theHostNamesItsArchitectureAndOsArch() {
        IllegalStateException e = assertThrows(IllegalStateException.class, Unwinders::host);
        String osArch = System.getProperty("os.arch");
        String arch = Unwinders.normalizeArch(osArch);
        assertEquals("no unwinder plugin for this host's architecture \"" + arch + "\" (os.arch \"" + osArch
                + "\") (available: none); it is provided by the artifact dev.unwinder:arch-" + arch
                + ", which is not on the class path or module path", e.getMessage());
    }

    @Test
    void hostSpellingsAreNormalizedInOnePlace() {
        assertEquals("x86_64", Unwinders.normalizeArch("amd64"));
        assertEquals("x86_64", Unwinders.normalizeArch("x86_64"));
        assertEquals("x86_64", Unwinders.normalizeArch("X86-64"));
        assertEquals("aarch64", Unwinders.normalizeArch("aarch64"));
        assertEquals("aarch64", Unwinders.normalizeArch("arm64"));
        assertEquals("riscv64", Unwinders.normalizeArch("riscv64"));
        assertEquals("s390x", Unwinders.normalizeArch("s390x"));
        assertEquals("sparcv9", Unwinders.normalizeArch("SPARCV9"));
    }

    @Test
    void nullIsRejectedByName() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> Unwinders.forArch(null));
        assertEquals("nameOrAlias", e.getMessage());
    }
}
