package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.unwinder.api.Unwind;
import dev.unwinder.core.Unwinders;
import dev.unwinder.testkit.ReleasePlugins;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code unwinder arches}: three lines per plugin that ServiceLoader finds. */
final class ArchesCommandTest {

    @Test
    void listsEveryPluginWithItsLayout() {
        Fixtures.Run run = Fixtures.run("arches");
        assertEquals(0, run.status(), run.err());
        List<String> names = new ArrayList<>();
        List<String> lines = run.outLines();
        for (int i = 0; i < lines.size(); i += 3) {
            names.add(lines.get(i).split(" ")[0]);
            Unwind unwind = Unwinders.forArch(names.getLast());
            assertEquals("    " + unwind.describeLayout(), lines.get(i + 1));
        }
        assertEquals(ReleasePlugins.NAMES, names);
        assertEquals("x86_64 (also amd64, x86-64)", lines.get(12));
        assertEquals("    sp is DWARF register 15, the link register DWARF register 14", lines.get(11));
    }
}
