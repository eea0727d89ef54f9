package dev.unwinder.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.unwinder.api.Unwind;
import dev.unwinder.core.Unwinders;
import dev.unwinder.testkit.ReleasePlugins;
import org.junit.jupiter.api.Test;

/** Run-time selection with every plugin present. */
final class UnwindersTest {

    @Test
    void availableIsSortedByName() {
        assertEquals(ReleasePlugins.NAMES,
                Unwinders.available().stream().map(Unwind::name).toList());
    }

    @Test
    void namesAndAliasesFindTheSameInstance() {
        assertSame(Unwinders.forArch("x86_64"), Unwinders.forArch("AMD64"));
        assertSame(Unwinders.forArch("x86_64"), Unwinders.forArch("x86-64"));
        assertSame(Unwinders.forArch("aarch64"), Unwinders.forArch("arm64"));
    }

    @Test
    void anUnknownNameListsWhatIsAvailable() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Unwinders.forArch("mips64"));
        assertEquals("no unwinder plugin for architecture \"mips64\" (available: aarch64 [arm64], riscv64,"
                + " riscv64-cranelift, s390x, x86_64 [amd64, x86-64]); plugins are the artifacts dev.unwinder:arch-aarch64,"
                + " dev.unwinder:arch-riscv64, dev.unwinder:arch-s390x, dev.unwinder:arch-x86_64", e.getMessage());
    }

    @Test
    void theHostIsThisJvmsArchitectureWhereverTheBuildRuns() {
        String real = System.getProperty("os.arch");
        try {
            for (String[] spelling : new String[][] {{"amd64", "x86_64"}, {"x86_64", "x86_64"}, {"aarch64", "aarch64"},
                    {"s390x", "s390x"}, {"riscv64", "riscv64"}}) {
                System.setProperty("os.arch", spelling[0]);
                assertEquals(spelling[1], Unwinders.host().name(), "os.arch " + spelling[0]);
            }
            System.setProperty("os.arch", "mips64");
            IllegalStateException e = assertThrows(IllegalStateException.class, Unwinders::host);
            assertEquals("no unwinder plugin for this host's architecture \"mips64\" (os.arch \"mips64\") (available:"
                    + " aarch64 [arm64], riscv64, riscv64-cranelift, s390x, x86_64 [amd64, x86-64]); plugins are the"
                    + " artifacts dev.unwinder:arch-aarch64, dev.unwinder:arch-riscv64, dev.unwinder:arch-s390x,"
                    + " dev.unwinder:arch-x86_64", e.getMessage());
        } finally {
            System.setProperty("os.arch", real);
        }
    }

    @Test
    void aRiscv64HostGetsThePlatformLayout() {
        String real = System.getProperty("os.arch");
        try {
            System.setProperty("os.arch", "riscv64");
            Unwind host = Unwinders.host();
            assertEquals("riscv64", host.name());
            assertEquals(-16, host.nextOlderFpFromFpOffset(), "the psABI layout, not Cranelift's");
            System.setProperty("os.arch", "arm64");
            assertEquals("aarch64", Unwinders.host().name());
        } finally {
            System.setProperty("os.arch", real);
        }
    }
}
