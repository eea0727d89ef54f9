package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.elf.Fuzzing.Edit;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Fuzzes {@link CoreFile#read} and {@link CoreModules#find} with real cores made here, bent: the
 * kernel's core of {@code src/test/c/crash.c} (by its {@code NT_FILE} note), the same core without
 * that note (by the {@code link_map} chain in its memory), and qemu-aarch64's core of the same
 * program. Edits hit the fields that the readers trust: the {@code NT_FILE} note's count, page
 * size, mappings and paths; the auxiliary vector's values ({@code AT_PHDR}, {@code AT_PHNUM},
 * {@code AT_SYSINFO_EHDR}, ...); and in the process's memory the executable's program headers, its
 * dynamic section, {@code r_debug}, every {@code link_map} entry's words, and the vDSO's headers;
 * often with addresses that mean something in the core (another entry, the entry itself, a
 * segment's edge), which makes chains that loop, point into themselves or leave the core.
 *
 * <p>The rule, whatever the bytes: {@code CoreFile.read} ends in a core or an {@link ElfException}
 * naming the file on one line; {@code CoreModules.find} always ends, within seconds, in modules and
 * one-line problems, and allocates a bounded amount; a loop in the chain is reported as one.
 * Fixed seeds and tries: a few seconds in all.
 */
final class CoreModulesFuzzTest {
    private static final String NAME = "fuzzed.core";
    private static final long MAX_BYTES = 96L << 20;

    /**
     * A core to bend, the offsets of its fields, the addresses that mean something in it, the
     * offsets of the fields in its memory, and the files to find its modules with.
     */
    record Target(String name, CoreBytes core, List<Integer> fields, List<Integer> memoryFields, List<Long> addresses,
                  List<Long> linkMap, Path sysroot, List<Path> given) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Map<String, Target> targets;

    static synchronized Map<String, Target> targets() {
        if (targets != null) {
            return targets;
        }
        Path empty = TestPrograms.freshDirectory("core-fuzz/empty-sysroot");
        Map<String, Target> made = new LinkedHashMap<>();
        TestPrograms.CrashCore kernel = TestPrograms.kernelCore().crash();
        CoreBytes withNote = new CoreBytes(TestPrograms.read(kernel.core()));
        CoreBytes withoutNote = withNote.copy();
        withoutNote.buffer.putInt(withoutNote.note(CoreFile.NT_FILE).headerAt() + 8, 0x46494c46);
        List<Path> kernelFiles = List.of(kernel.program(), kernel.library());
        made.put("kernel", target("kernel", withNote, null, empty, kernelFiles));
        made.put("kernel-linkmap", target("kernel-linkmap", withoutNote, null, empty, kernelFiles));
        TestPrograms.QemuCore qemu = TestPrograms.qemuCore();
        made.put("qemu", target("qemu", new CoreBytes(TestPrograms.read(qemu.crash().core())),
                TestPrograms.read(qemu.crash().program()), empty, List.of(qemu.crash().program(), qemu.crash().library())));
        targets = made;
        return targets;
    }

    private static Target target(String name, CoreBytes core, byte[] program, Path sysroot, List<Path> given) {
        List<Integer> fields = new ArrayList<>(List.of(16, 18, 32, 56));
        for (CoreBytes.Segment segment : core.segments()) {
            for (int field : new int[] {0, 8, 16, 32, 40}) {
                fields.add(segment.headerAt() + field);
            }
        }
        for (CoreBytes.Note note : core.notes()) {
            fields.addAll(List.of(note.headerAt(), note.headerAt() + 4, note.headerAt() + 8));
            if (note.type() == CoreFile.NT_FILE) {
                int count = (int) core.buffer.getLong(note.descAt());
                for (int at = note.descAt(); at < note.descAt() + 16 + 24 * count; at += 8) {
                    fields.add(at);
                }
                for (int at = note.descAt() + 16 + 24 * count; at < note.descAt() + note.descSize(); at += 7) {
                    fields.add(at);
                }
            } else if (note.type() == CoreFile.NT_AUXV) {
                for (int at = note.descAt(); at < note.descAt() + note.descSize(); at += 8) {
                    fields.add(at);
                }
            } else if (note.type() == CoreFile.NT_PRSTATUS) {
                for (int word = 0; word < 27; word++) {
                    fields.add(note.descAt() + 112 + 8 * word);
                }
            }
        }
        // The process's memory: the executable's headers and dynamic section, r_debug, the chain,
        // the names, the vDSO's headers.
        Set<Long> words = new LinkedHashSet<>();
        Set<Long> addresses = new LinkedHashSet<>();
        long phdr = core.auxv(CoreFile.AT_PHDR);
        for (long at = phdr; at < phdr + 56 * core.auxv(CoreFile.AT_PHNUM); at += 8) {
            words.add(at);
        }
        long dynamic = core.dynamic(program);
        for (long at = dynamic; core.fileOffset(at) >= 0 && core.word(at) != 0; at += 16) {
            words.addAll(List.of(at, at + 8));
        }
        List<Long> linkMap = core.linkMap(program);
        for (long entry : linkMap) {
            for (long at = entry; at < entry + 40; at += 8) {
                words.add(at);
            }
            addresses.addAll(List.of(entry, entry + 8, entry + 24, entry - 24, entry - 8));
            long path = core.fileOffset(entry + 8) >= 0 ? core.word(entry + 8) : 0;
            if (path != 0) {
                addresses.add(path);
                words.add(path);
            }
        }
        long vdso = core.auxvValueAt(CoreFile.AT_SYSINFO_EHDR) < 0 ? 0 : core.auxv(CoreFile.AT_SYSINFO_EHDR);
        if (vdso != 0) {
            for (long at = vdso + 16; at < vdso + 64; at += 2) {
                words.add(at);
            }
            long phoff = core.word(vdso + 32);
            for (long at = vdso + phoff; at < vdso + phoff + 56L * 6; at += 8) {
                words.add(at);
            }
            addresses.add(vdso);
        }
        addresses.addAll(List.of(phdr, dynamic, phdr - 64));
        for (CoreBytes.Segment segment : core.segments()) {
            addresses.addAll(List.of(segment.vaddr(), segment.vaddr() + segment.fileSize() - 8,
                    segment.vaddr() + segment.memorySize(), segment.vaddr() + segment.memorySize() - 1));
        }
        List<Integer> memoryFields = new ArrayList<>();
        for (long word : words) {
            int at = core.fileOffset(word);
            if (at >= 0) {
                memoryFields.add(at);
            }
        }
        for (String key : List.of("AT_PHDR", "AT_PHNUM", "AT_SYSINFO_EHDR", "AT_BASE", "AT_ENTRY", "AT_EXECFN")) {
            long type = switch (key) {
                case "AT_PHDR" -> CoreFile.AT_PHDR;
                case "AT_PHNUM" -> CoreFile.AT_PHNUM;
                case "AT_SYSINFO_EHDR" -> CoreFile.AT_SYSINFO_EHDR;
                case "AT_BASE" -> CoreFile.AT_BASE;
                case "AT_ENTRY" -> CoreFile.AT_ENTRY;
                default -> CoreFile.AT_EXECFN;
            };
            if (core.auxvValueAt(type) >= 0) {
                memoryFields.add(core.auxvValueAt(type));
            }
        }
        fields.addAll(memoryFields);
        assertTrue(linkMap.size() >= 4, name + ": r_debug and at least the program, libc and the loader: " + linkMap);
        return new Target(name, core, List.copyOf(fields), List.copyOf(memoryFields), List.copyOf(addresses),
                List.copyOf(linkMap), sysroot, given);
    }

    /** The whole of reading a core and finding its modules; only an ElfException about the core may come out. */
    static CoreModules readAndFind(Target target, byte[] bytes) {
        CoreModules[] found = new CoreModules[1];
        Fuzzing.bounded(target + " bent", MAX_BYTES + 16L * bytes.length, () -> {
            CoreFile core;
            try {
                core = CoreFile.read(ElfFile.of(NAME, MemorySegment.ofArray(bytes)));
            } catch (ElfException e) {
                assertTrue(e.getMessage().startsWith(NAME + ": "), e.getMessage());
                Fuzzing.assertOneLine(e.getMessage());
                return;
            }
            try (Arena arena = Arena.ofConfined()) {
                SymbolFiles files = SymbolFiles.of(arena, target.sysroot(), List.of(), target.given(), Demangler.none());
                CoreModules modules = CoreModules.find(core, files);
                for (String problem : modules.problems()) {
                    Fuzzing.assertOneLine(problem);
                }
                List<Module> list = modules.modules().modules();
                assertTrue(list.size() <= 4096 + core.fileMappings().size() + 2, list.size() + " modules");
                for (Module module : list) {
                    if (module.problem() != null) {
                        Fuzzing.assertOneLine(module.problem());
                    }
                    if (module.base() != module.end()) {
                        assertTrue(modules.modules().find(module.base()) != null, module.toString());
                    }
                    ElfFileFuzzTest.checkTable(module.symbols());
                }
                for (CoreFile.CoreThread thread : core.threads()) {
                    Module module = modules.modules().find(thread.pc());
                    if (module != null) {
                        int symbol = module.symbols().lookup(thread.pc());
                        if (symbol >= 0) {
                            module.symbols().name(symbol);
                        }
                    }
                }
                found[0] = modules;
            }
        });
        return found[0];
    }

    @Provide
    Arbitrary<String> cores() {
        return Arbitraries.of("kernel", "kernel-linkmap", "qemu");
    }

    @Provide
    Arbitrary<String> chains() {
        return Arbitraries.of("kernel-linkmap", "qemu");
    }

    @Provide
    Arbitrary<Edit> edits() {
        return Fuzzing.edits();
    }

    @Property(tries = 300, seed = "20261130")
    void aCoreWithLyingFields(@ForAll("cores") String name, @ForAll @Size(min = 1, max = 6) List<@From("edits") Edit> edits) {
        Target target = targets().get(name);
        readAndFind(target, Fuzzing.mutate(target.core().bytes, target.core().buffer.order(), target.fields(),
                target.addresses(), edits, 100));
    }

    @Property(tries = 300, seed = "20261130")
    void aProcessMemoryWithLyingWords(@ForAll("cores") String name,
                                      @ForAll @Size(min = 1, max = 4) List<@From("edits") Edit> edits) {
        Target target = targets().get(name);
        List<Edit> inMemory = edits.stream().map(edit -> new Edit(true, edit.pick(), 8, edit.kind(), edit.value())).toList();
        readAndFind(target, Fuzzing.mutate(target.core().bytes, target.core().buffer.order(), target.memoryFields(),
                target.addresses(), inMemory, 100));
    }

    @Property(tries = 100, seed = "20261130")
    void aCoreCutShort(@ForAll("cores") String name, @ForAll @IntRange(min = 0, max = 99) int keepPercent,
                       @ForAll @Size(max = 2) List<@From("edits") Edit> edits) {
        Target target = targets().get(name);
        readAndFind(target, Fuzzing.mutate(target.core().bytes, target.core().buffer.order(), target.fields(),
                target.addresses(), edits, keepPercent));
    }

    /** Entry {@code from} of the chain pointed back at entry {@code to} (itself or an earlier one): a loop, reported. */
    @Property(tries = 60, seed = "20261130")
    void everyLoopInTheChainIsReported(@ForAll("chains") String name, @ForAll @IntRange(min = 0, max = 64) int from,
                                       @ForAll @IntRange(min = 0, max = 64) int to) {
        Target target = targets().get(name);
        List<Long> entries = target.linkMap().subList(1, target.linkMap().size());
        int last = from % entries.size();
        int back = to % (last + 1);
        CoreBytes bent = target.core().copy();
        bent.putWord(entries.get(last) + 24, entries.get(back));
        CoreModules found = readAndFind(target, bent.bytes);
        assertEquals(List.of(String.format("the link_map chain loops back to 0x%x after %d entries", entries.get(back),
                last + 1)), found.problems());
    }

    /** The unbent cores give their modules without a problem: the fuzzing starts from good cores. */
    @Property(tries = 3, seed = "20261130")
    void theCoresAsMadeHaveNoProblem(@ForAll("cores") String name) {
        Target target = targets().get(name);
        CoreModules found = readAndFind(target, target.core().bytes);
        assertEquals(List.of(), found.problems());
        assertTrue(found.modules().modules().size() >= 4, found.modules().modules().toString());
    }
}
