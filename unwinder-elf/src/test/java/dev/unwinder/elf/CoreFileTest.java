package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.api.StackMemory;
import dev.unwinder.elf.TestPrograms.CrashCore;
import dev.unwinder.elf.TestPrograms.MapLine;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link CoreFile} on the kernel's core of a program that gcc builds here ({@code src/test/c/crash.c}),
 * against what the program wrote down of itself before it crashed: its {@code /proc/self/maps}
 * must be the core's {@code NT_FILE} mappings, and place its auxiliary vector's addresses; and on
 * copies of that core with a note or a segment bent, which must fail with the field that lies or
 * read as absent memory.
 */
final class CoreFileTest {
    private static Arena arena;
    private static CrashCore crash;
    private static CoreBytes original;

    @BeforeAll
    static void make() {
        arena = Arena.ofShared();
        crash = TestPrograms.kernelCore().crash();
        original = new CoreBytes(TestPrograms.read(crash.core()));
    }

    @AfterAll
    static void close() {
        if (arena != null) {
            arena.close();
        }
    }

    private static CoreFile read(CoreBytes core) throws ElfException {
        return CoreFile.read(ElfFile.of("bent.core", MemorySegment.ofArray(core.bytes)));
    }

    private static ElfException rejected(CoreBytes core) {
        return assertThrows(ElfException.class, () -> read(core));
    }

    @Test
    void theFileMappingsAreTheProgramsOwnMaps() throws ElfException {
        CoreFile core = CoreFile.read(ElfFile.open(crash.core(), arena));
        assertTrue(core.hasFileNote());
        List<String> expected = new ArrayList<>();
        for (MapLine line : crash.maps()) {
            if (line.path().startsWith("/")) {
                expected.add(String.format("%x-%x %x %s", line.start(), line.end(), line.offset(), line.path()));
            }
        }
        List<String> ours = new ArrayList<>();
        for (CoreFile.FileMapping mapping : core.fileMappings()) {
            ours.add(String.format("%x-%x %x %s", mapping.start(), mapping.end(), mapping.fileOffset(), mapping.path()));
        }
        assertEquals(expected, ours);
        assertTrue(ours.size() >= 16, "the program, its library, libc and the loader: " + ours.size());
    }

    @Test
    void theThreadAndTheAuxiliaryVectorPointWhereTheMapsSay() throws ElfException {
        CoreFile core = CoreFile.read(ElfFile.open(crash.core(), arena));
        assertEquals(Machine.X86_64, core.machine());
        assertEquals(1, core.threads().size());
        CoreFile.CoreThread thread = core.threads().getFirst();
        assertEquals(6, thread.signal(), "SIGABRT");
        assertTrue(thread.tid() > 0);
        assertEquals(thread.pc(), thread.registers().pc());
        MapLine code = line(thread.pc());
        assertTrue(code.path().endsWith("/libc.so.6"), "abort() raises the signal in libc: " + code);
        assertTrue(core.isMapped(thread.pc()));

        long sp = thread.register(7);
        assertEquals("[stack]", line(sp).path());
        StackMemory stack = core.segmentMemory(sp);
        assertNotNull(stack);

        long[] program = crash.span(crash.program().toString());
        assertEquals(program[0] + 64, core.auxv(CoreFile.AT_PHDR).getAsLong(), "the program's headers follow its ELF header");
        assertEquals(ElfFile.open(crash.program(), arena).programHeaders().size(), core.auxv(CoreFile.AT_PHNUM).getAsLong());
        assertEquals(crash.span(crash.maps().stream().filter(l -> l.path().endsWith("/ld-linux-x86-64.so.2")).findFirst()
                .orElseThrow().path())[0], core.auxv(CoreFile.AT_BASE).getAsLong());
        assertEquals(crash.maps().stream().filter(l -> l.path().equals("[vdso]")).findFirst().orElseThrow().start(),
                core.auxv(CoreFile.AT_SYSINFO_EHDR).getAsLong());
        assertEquals(core.auxv(CoreFile.AT_ENTRY), core.entryPoint());
        assertEquals(program[0] + ElfFile.open(crash.program(), arena).entry(), core.entryPoint().getAsLong());
        assertEquals(crash.program().toString(), core.string(core.auxv(CoreFile.AT_EXECFN).getAsLong()),
                "bash execs ./crash by its full path");
        assertTrue(core.auxv(0x7fff_ffffL).isEmpty());

        // The program's ELF header, which the kernel keeps: the magic, in the core's byte order.
        assertEquals(0x00010102_464c457fL, core.word(program[0], "the program's ELF header"));
        assertEquals(64, core.bytesAt(program[0], 64).byteSize());
        ElfException outside = assertThrows(ElfException.class, () -> core.word(0x10, "nothing"));
        assertEquals(crash.core() + ": nothing at 0x10 is not in the core's memory", outside.getMessage());
        assertNull(core.string(0x10));
        assertNull(core.bytesAt(0x10, 1));
        assertNull(core.segmentMemory(0x10));
        assertTrue(!core.isMapped(0x10));
    }

    private static MapLine line(long address) {
        return crash.maps().stream().filter(line -> Long.compareUnsigned(address - line.start(), line.end() - line.start()) < 0)
                .findFirst().orElseThrow(() -> new AssertionError(String.format("0x%x is in no mapping", address)));
    }

    /** A segment whose bytes the core does not hold (file size 0, its offset past the end): mapped, but absent. */
    @Test
    void aSegmentWithoutBytesReadsAsAbsent() throws ElfException {
        CoreBytes bent = original.copy();
        CoreBytes.Segment stack = bent.segments().stream()
                .filter(segment -> segment.type() == ElfFile.PT_LOAD && segment.fileSize() > 0 && segment.vaddr() > 0x7ff0_0000_0000L)
                .findFirst().orElseThrow();
        bent.buffer.putLong(stack.headerAt() + 8, bent.bytes.length + 0x10000L);
        bent.buffer.putLong(stack.headerAt() + 32, 0);
        CoreFile core = read(bent);
        assertTrue(core.isMapped(stack.vaddr()));
        assertNull(core.bytesAt(stack.vaddr(), 0));
        assertNull(core.bytesAt(stack.vaddr(), 8));
        assertNull(core.segmentMemory(stack.vaddr()));
        assertNull(core.string(stack.vaddr()));
        assertEquals(String.format("bent.core: sp at 0x%x is not in the core's memory", stack.vaddr()),
                assertThrows(ElfException.class, () -> core.word(stack.vaddr(), "sp")).getMessage());
    }

    @Test
    void aFileNoteThatLiesIsRejected() {
        CoreBytes.Note file = original.note(CoreFile.NT_FILE);
        long count = original.buffer.getLong(file.descAt());

        CoreBytes tooMany = original.copy();
        tooMany.buffer.putLong(file.descAt(), 0x10_0000_0000L);
        assertEquals(String.format("bent.core: NT_FILE note claims %d mappings, but its %d bytes hold at most %d",
                0x10_0000_0000L, file.descSize(), (file.descSize() - 16) / 24), rejected(tooMany).getMessage());

        CoreBytes negative = original.copy();
        negative.buffer.putLong(file.descAt(), -1);
        assertEquals(String.format("bent.core: NT_FILE note claims 18446744073709551615 mappings, but its %d bytes hold"
                + " at most %d", file.descSize(), (file.descSize() - 16) / 24), rejected(negative).getMessage());

        CoreBytes pageSize = original.copy();
        pageSize.buffer.putLong(file.descAt() + 8, 0x3000);
        assertEquals("bent.core: NT_FILE note has page size 0x3000 (expected: a power of two up to 1 GiB)",
                rejected(pageSize).getMessage());

        CoreBytes backwards = original.copy();
        long start = backwards.buffer.getLong(file.descAt() + 16);
        backwards.buffer.putLong(file.descAt() + 16 + 8, start - 1);
        assertEquals(String.format("bent.core: NT_FILE mapping 0 ends at 0x%x, below its start 0x%x", start - 1, start),
                rejected(backwards).getMessage());

        // More mappings than paths: the note's paths run out.
        CoreBytes unnamed = original.copy();
        int names = file.descAt() + 16 + 24 * (int) count;
        for (int at = names; at < file.descAt() + file.descSize(); at++) {
            unnamed.bytes[at] = 'x';
        }
        assertEquals(String.format("bent.core: NT_FILE note names 0 of its %d mappings; the rest of its paths are missing",
                count), rejected(unnamed).getMessage());

        CoreBytes small = original.copy();
        shrink(small, file, 8);
        assertEquals("bent.core: NT_FILE note has 8 bytes (expected: at least 16 for its count and page size)",
                rejected(small).getMessage());
    }

    /** Gives a note a descriptor of {@code size} bytes, and the bytes freed to a note of a type that nothing reads. */
    private static void shrink(CoreBytes core, CoreBytes.Note note, int size) {
        core.buffer.putInt(note.headerAt() + 4, size);
        int freed = note.descAt() + size;
        int end = note.descAt() + ((note.descSize() + 3) & ~3);
        core.buffer.putInt(freed, 0).putInt(freed + 4, end - freed - 12).putInt(freed + 8, 0x7777);
    }

    @Test
    void notACoreOrNotAThreadIsRejected() throws ElfException {
        assertEquals(crash.program() + ": not a core file: its e_type is ET_DYN, a shared object or position-independent"
                + " executable (expected: ET_CORE)", assertThrows(ElfException.class,
                () -> CoreFile.read(ElfFile.open(crash.program(), arena))).getMessage());

        CoreBytes machine = original.copy();
        machine.buffer.putShort(18, (short) 3);
        assertEquals("bent.core: a core of an unsupported machine: e_machine 3 (expected: 62 (x86_64), 183 (aarch64),"
                + " 243 (riscv64), 22 (s390x))", rejected(machine).getMessage());

        CoreBytes noThread = original.copy();
        CoreBytes.Note status = noThread.note(CoreFile.NT_PRSTATUS);
        noThread.buffer.putInt(status.headerAt() + 8, 0x7777);
        assertEquals("bent.core: the core has no NT_PRSTATUS note, so no thread to walk", rejected(noThread).getMessage());

        CoreBytes shortStatus = original.copy();
        shrink(shortStatus, status, 4);
        assertEquals("bent.core: NT_PRSTATUS note of thread 1 has 4 bytes (expected: at least 328 for x86_64)",
                rejected(shortStatus).getMessage());

        CoreBytes noAuxv = original.copy();
        noAuxv.buffer.putInt(noAuxv.note(CoreFile.NT_AUXV).headerAt() + 8, 0x7777);
        CoreFile withoutAuxv = read(noAuxv);
        assertTrue(withoutAuxv.auxv(CoreFile.AT_PHDR).isEmpty());
        assertTrue(withoutAuxv.entryPoint().isEmpty());

        CoreBytes noFiles = original.copy();
        noFiles.buffer.putInt(noFiles.note(CoreFile.NT_FILE).headerAt() + 8, 0x46494c46);
        CoreFile withoutFiles = read(noFiles);
        assertEquals(false, withoutFiles.hasFileNote());
        assertEquals(List.of(), withoutFiles.fileMappings());
    }
}
