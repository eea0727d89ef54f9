package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.ProcessMaps.Mapping;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Fuzzes the maps parser with random text and with real lines cut, spliced and sprinkled with the
 * characters a parser trips on: the outcome is a list of mappings or an {@link ElfException} whose
 * message is one line starting with the file's name, never another exception. A round-trip
 * property checks that a mapping written as the kernel writes it, padding and all, reads back the
 * same. Fixed seeds and tries: about a second.
 */
final class ProcessMapsFuzzTest {
    private static final String SAMPLE = """
            555b940a2000-555b940a7000 r-xp 00002000 fe:00 260131                     /usr/bin/cat
            555bc3f93000-555bc3fb4000 rw-p 00000000 00:00 0                          [heap]
            7f17eb3a9000-7f17eb3cb000 rw-p 00000000 00:00 0\s
            7f17eb611000-7f17eb618000 r--s 00000000 fe:00 338846                     /usr/lib/gconv/gconv-modules.cache
            7f0000000000-7f0000001000 r-xs 00000000 00:01 2050                       /memfd:jit code (deleted)
            7ffc3b355000-7ffc3b376000 rw-p 00000000 00:00 0                          [anon:v8 heap]
            ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
            """;
    private static final char[] TRICKY = {' ', '\t', '\n', '\r', '-', ':', 'x', 'p', 's', '0', 'f', 'g', '[', ']', '(', '\0', 'λ'};

    private static void parse(String content) {
        try {
            List<Mapping> mappings = ProcessMaps.parse("fuzz", content);
            for (Mapping mapping : mappings) {
                assertTrue(Long.compareUnsigned(mapping.start(), mapping.end()) < 0, mapping::toString);
                assertEquals(4, mapping.permissions().length(), mapping::toString);
                assertFalse(mapping.path().contains("\n"), mapping::toString);
            }
        } catch (ElfException e) {
            assertTrue(e.getMessage().startsWith("fuzz: line "), e.getMessage());
            assertFalse(e.getMessage().contains("\n") || e.getMessage().contains("\r"), e.getMessage());
        }
    }

    @Property(tries = 300, seed = "20261124")
    void randomText(@ForAll @Size(max = 200) String content) {
        parse(content);
    }

    @Property(tries = 300, seed = "20261124")
    void randomTextOfTheRightAlphabet(@ForAll("mapsText") String content) {
        parse(content);
    }

    @Provide
    Arbitrary<String> mapsText() {
        return Arbitraries.strings().withChars("0123456789abcdef-: \nrwxps-[]/()delt").ofMaxLength(300);
    }

    /** One edit of the sample: insert, overwrite or delete a character at {@code at}, or cut the text there. */
    record Edit(int kind, int at, char value) {}

    @Provide
    Arbitrary<Edit> edits() {
        Arbitrary<Character> tricky = Arbitraries.of(new String(TRICKY).chars().mapToObj(c -> (char) c).toList());
        return Combinators.combine(Arbitraries.integers().between(0, 3), Arbitraries.integers().between(0, SAMPLE.length()),
                Arbitraries.oneOf(List.of(tricky, Arbitraries.chars()))).as(Edit::new);
    }

    @Property(tries = 800, seed = "20261124")
    void realLinesMutated(@ForAll @Size(min = 1, max = 8) List<@From("edits") Edit> edits) {
        StringBuilder text = new StringBuilder(SAMPLE);
        for (Edit edit : edits) {
            int at = Math.min(edit.at(), text.length());
            switch (edit.kind()) {
                case 0 -> text.insert(at, edit.value());
                case 1 -> {
                    if (at < text.length()) {
                        text.setCharAt(at, edit.value());
                    }
                }
                case 2 -> {
                    if (at < text.length()) {
                        text.deleteCharAt(at);
                    }
                }
                default -> text.setLength(at);
            }
        }
        parse(text.toString());
    }

    @Provide
    Arbitrary<Mapping> mappings() {
        Arbitrary<Long> starts = Arbitraries.longs().filter(start -> start != -1L);
        Arbitrary<String> permissions = Combinators.combine(Arbitraries.of("r", "-"), Arbitraries.of("w", "-"),
                Arbitraries.of("x", "-"), Arbitraries.of("p", "s")).as((r, w, x, p) -> r + w + x + p);
        Arbitrary<String> devices = Combinators.combine(Arbitraries.integers().between(0, 0xfff),
                Arbitraries.integers().between(0, 0xfffff)).as((major, minor) -> String.format("%02x:%02x", major, minor));
        Arbitrary<String> paths = Arbitraries.oneOf(List.of(
                Arbitraries.just(""),
                Arbitraries.of("[heap]", "[stack]", "[vdso]", "[vvar]", "[anon:v8 heap]", "/memfd:jit code"),
                Arbitraries.strings().withChars("/abc ()λ[]:-.").ofMinLength(1).ofMaxLength(40).map(s -> "/" + s)));
        return Combinators.combine(starts, Arbitraries.longs().between(1, 1L << 40), permissions, Arbitraries.longs(),
                devices, Arbitraries.longs(), paths, Arbitraries.of(false, true))
                .as((start, length, perms, offset, device, inode, path, deleted) -> {
                    long end = Long.compareUnsigned(start + length, start) > 0 ? start + length : -1L;
                    return new Mapping(start, end, perms, offset, device, inode, path, deleted && !path.isEmpty());
                });
    }

    @Property(tries = 400, seed = "20261124")
    void aMappingWrittenAsTheKernelWritesItReadsBackTheSame(@ForAll("mappings") Mapping mapping,
                                                            @ForAll @IntRange(min = 0, max = 40) int padding) throws ElfException {
        String line = mapping.toString();
        String pathPart = mapping.path() + (mapping.deleted() ? " (deleted)" : "");
        if (!pathPart.isEmpty()) {
            line = line.substring(0, line.length() - pathPart.length()) + " ".repeat(padding) + pathPart;
        }
        assertEquals(List.of(mapping), ProcessMaps.parse("fuzz", line + "\n"), line);
    }
}
