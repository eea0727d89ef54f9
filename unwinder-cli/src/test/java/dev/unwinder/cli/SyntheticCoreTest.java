package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cores built here, byte by byte, as the kernel lays them out: one {@code PT_NOTE} segment with an
 * {@code NT_PRSTATUS} note per thread, one {@code PT_LOAD} segment of stack per thread, and one of
 * code without bytes. They test
 * what the committed single-thread cores cannot: that every thread is walked, each within its own
 * stack segment, in either byte order. They test the frame-pointer walk ({@code --fp-only}): their
 * stacks are frame-pointer chains, and their code has no call-frame information.
 */
final class SyntheticCoreTest {
    /** What the command says of a core without the notes that place its modules. */
    private static final String NOTE = "Note: the core has no NT_FILE note and no AT_PHDR in an auxiliary vector: only"
            + " the files given are placed, at their link-time addresses";
    private static final int EHDR = 64;
    private static final int PHDR = 56;
    /** Big enough for every machine's struct elf_prstatus (aarch64's, 392 bytes, is the largest). */
    private static final int PRSTATUS = 392;

    @TempDir
    Path dir;

    /** One thread: its id, pc, the registers to set (pr_reg word index to value), and its stack. */
    private record Thread(int tid, long stackBase, byte[] stack, long[][] prRegWords) {}

    /** A core whose first PT_LOAD is the program's code at [text, text + 1 MiB), left out of the file as cores do. */
    private static byte[] core(ByteOrder order, int machine, long text, Thread... threads) {
        int notes = threads.length * (12 + 8 + PRSTATUS);
        int loads = 0;
        for (Thread thread : threads) {
            loads += thread.stack().length;
        }
        int phnum = 2 + threads.length;
        int notesAt = EHDR + phnum * PHDR;
        ByteBuffer file = ByteBuffer.allocate(notesAt + notes + loads).order(order);
        file.put(new byte[] {0x7f, 'E', 'L', 'F', 2, (byte) (order == ByteOrder.BIG_ENDIAN ? 2 : 1), 1});
        file.putShort(16, (short) 4).putShort(18, (short) machine).putInt(20, 1).putLong(32, EHDR)
                .putShort(52, (short) EHDR).putShort(54, (short) PHDR).putShort(56, (short) phnum);
        file.putInt(EHDR, 4).putLong(EHDR + 8, notesAt).putLong(EHDR + 32, notes);
        int textPhdr = EHDR + (1 + threads.length) * PHDR;
        file.putInt(textPhdr, 1).putLong(textPhdr + 8, notesAt + notes).putLong(textPhdr + 16, text)
                .putLong(textPhdr + 40, 1 << 20);
        int note = notesAt;
        int load = notesAt + notes;
        for (int t = 0; t < threads.length; t++) {
            Thread thread = threads[t];
            file.putInt(note, 5).putInt(note + 4, PRSTATUS).putInt(note + 8, 1);
            file.put(note + 12, new byte[] {'C', 'O', 'R', 'E', 0}, 0, 5);
            int desc = note + 20;
            file.putInt(desc + 32, thread.tid());
            for (long[] word : thread.prRegWords()) {
                file.putLong(desc + 112 + 8 * (int) word[0], word[1]);
            }
            note = desc + PRSTATUS;
            int phdr = EHDR + (1 + t) * PHDR;
            file.putInt(phdr, 1).putLong(phdr + 8, load).putLong(phdr + 16, thread.stackBase())
                    .putLong(phdr + 32, thread.stack().length).putLong(phdr + 40, thread.stack().length);
            file.put(load, thread.stack());
            load += thread.stack().length;
        }
        return file.array();
    }

    /** A stack of {@code size} bytes at {@code base} with x86_64 frames at the given fps: saved fp at fp+0, return address at fp+8. */
    private static byte[] chain(ByteOrder order, long base, int size, int returnAddressOffset, long[] fps, long[] returnAddresses) {
        ByteBuffer stack = ByteBuffer.allocate(size).order(order);
        for (int i = 0; i < fps.length; i++) {
            int at = (int) (fps[i] - base);
            stack.putLong(at, i + 1 < fps.length ? fps[i + 1] : 0);
            stack.putLong(at + returnAddressOffset, returnAddresses[i]);
        }
        return stack.array();
    }

    @Test
    void everyThreadOfALittleEndianCoreIsWalkedInItsOwnStack() throws IOException {
        long base1 = 0x7f00_0000_0000L;
        long base2 = 0x7f00_0010_0000L;
        Thread first = new Thread(101, base1, chain(ByteOrder.LITTLE_ENDIAN, base1, 0x200, 8,
                new long[] {base1 + 0x40, base1 + 0x80, base1 + 0xc0}, new long[] {0x401111, 0x402222, 0x403333}),
                new long[][] {{16, 0x400100}, {4, base1 + 0x40}, {19, base1 + 0x20}});
        Thread second = new Thread(102, base2, chain(ByteOrder.LITTLE_ENDIAN, base2, 0x100, 8,
                new long[] {base2 + 0x10}, new long[] {0x405555}),
                new long[][] {{16, 0x400200}, {4, base2 + 0x10}, {19, base2}});
        Path file = dir.resolve("two-threads.core");
        Files.write(file, core(ByteOrder.LITTLE_ENDIAN, 62, 0x400000, first, second));
        Fixtures.Run run = Fixtures.run("core", file, "--format", "json", "--fp-only");
        assertEquals(0, run.status(), run.err());
        assertEquals("{\"threads\":["
                + "{\"tid\":101,\"arch\":\"x86_64\",\"end\":\"zero-fp\",\"frames\":[{\"pc\":\"0x400100\",\"fp\":\"0x7f0000000040\",\"how\":\"context\"},"
                + "{\"pc\":\"0x401111\",\"fp\":\"0x7f0000000080\",\"how\":\"fp\"},"
                + "{\"pc\":\"0x402222\",\"fp\":\"0x7f00000000c0\",\"how\":\"fp\"}]},"
                + "{\"tid\":102,\"arch\":\"x86_64\",\"end\":\"zero-fp\",\"frames\":[{\"pc\":\"0x400200\",\"fp\":\"0x7f0000100010\","
                + "\"how\":\"context\"}]}"
                + "],\"modules\":[],\"problems\":[\"" + NOTE.substring("Note: ".length()) + "\"]}", run.out().strip());
    }

    @Test
    void aBigEndianS390xCoreStartsAtTheBackchainThatR15PointsAt() throws IOException {
        long base = 0x3ff_ffff_0000L;
        long sp = base + 0x100;
        long fp0 = base + 0x200;
        long fp1 = base + 0x300;
        // s390x: the backchain (caller's fp) at fp+0, the return address at fp+112; the word at sp is the first fp.
        ByteBuffer stack = ByteBuffer.wrap(chain(ByteOrder.BIG_ENDIAN, base, 0x400, 112, new long[] {fp0, fp1},
                new long[] {0x1000a10, 0x1000b20})).order(ByteOrder.BIG_ENDIAN);
        stack.putLong((int) (sp - base), fp0);
        // pr_reg: PSW mask, PSW address, r0..r15; r15 (word 17) is the sp, r14 (word 16) the link register.
        Thread thread = new Thread(7, base, stack.array(), new long[][] {{1, 0x1000900}, {16, 0x1000a10}, {17, sp}});
        Path file = dir.resolve("s390x.core");
        Files.write(file, core(ByteOrder.BIG_ENDIAN, 22, 0x1000000, thread));
        Fixtures.Run run = Fixtures.run("core", file, "--fp-only");
        assertEquals(0, run.status(), run.err());
        assertEquals(String.join(System.lineSeparator(),
                "Thread 7 (s390x): pc 0x1000900, sp 0x3ffffff0100, r14 0x1000a10, fp 0x3ffffff0200; stack segment"
                        + " [0x3ffffff0000, 0x3ffffff0400)",
                "#0   0x0000000001000900 in ??                                                fp 0x000003ffffff0200",
                "#1   0x0000000001000a10 in ??                                                fp 0x000003ffffff0300",
                "Walk ended after 2 frames: frame #1's saved fp is 0, the end of the chain (zero-fp)", "",
                NOTE, ""), run.out());
    }

    @Test
    void aPerfMapNamesJitCode() throws IOException {
        long base = 0x3ff_ffff_0000L;
        long sp = base + 0x100;
        long fp0 = base + 0x200;
        long fp1 = base + 0x300;
        // s390x: the backchain (caller's fp) at fp+0, the return address at fp+112; the word at sp is the first fp.
        ByteBuffer stack = ByteBuffer.wrap(chain(ByteOrder.BIG_ENDIAN, base, 0x400, 112, new long[] {fp0, fp1},
                new long[] {0x1000a10, 0x1000b20})).order(ByteOrder.BIG_ENDIAN);
        stack.putLong((int) (sp - base), fp0);
        // pr_reg: PSW mask, PSW address, r0..r15; r15 (word 17) is the sp, r14 (word 16) the link register.
        Thread thread = new Thread(7, base, stack.array(), new long[][] {{1, 0x1000900}, {16, 0x1000a10}, {17, sp}});
        Path file = dir.resolve("s390x.core");
        Files.write(file, core(ByteOrder.BIG_ENDIAN, 22, 0x1000000, thread));
        // A JIT's perf map: the innermost pc in one compiled method, the return address in another.
        Path perfMap = Files.writeString(dir.resolve("perf-4242.map"),
                "1000800 200 void Jit.inner(int)\n0x1000a00 0x40 Jit.outer\n");
        Fixtures.Run run = Fixtures.run("core", file, "--perf-map", perfMap, "--fp-only");
        assertEquals(0, run.status(), run.err());
        assertEquals(String.join(System.lineSeparator(),
                "Thread 7 (s390x): pc 0x1000900, sp 0x3ffffff0100, r14 0x1000a10 (Jit.outer+16), fp 0x3ffffff0200; stack segment"
                        + " [0x3ffffff0000, 0x3ffffff0400)",
                "#0   0x0000000001000900 in void Jit.inner(int)+256 (perf-4242.map+0x100)     fp 0x000003ffffff0200",
                "#1   0x0000000001000a10 in Jit.outer+16 (perf-4242.map+0x210)                fp 0x000003ffffff0300",
                "Walk ended after 2 frames: frame #1's saved fp is 0, the end of the chain (zero-fp)", "",
                NOTE, ""), run.out());
    }

    @Test
    void aRiscv64CoreWalksThePlatformLayoutFromS0() throws IOException {
        long base = 0x40_0000_0000L;
        long fp0 = base + 0x100;
        long fp1 = base + 0x140;
        // The psABI layout: fp is s0, the CFA; the caller's fp at fp-16, the return address at fp-8.
        ByteBuffer stack = ByteBuffer.allocate(0x200).order(ByteOrder.LITTLE_ENDIAN);
        stack.putLong((int) (fp0 - base) - 16, fp1).putLong((int) (fp0 - base) - 8, 0x10b4a);
        stack.putLong((int) (fp1 - base) - 16, 0x80de8).putLong((int) (fp1 - base) - 8, 0x105ec);
        // pr_reg: pc, then x1 (ra), x2 (sp), ..., x8 (s0).
        Thread thread = new Thread(9, base, stack.array(), new long[][] {{0, 0x1099a}, {1, 0x10b4a}, {2, base + 0xd0},
            {8, fp0}});
        Path file = dir.resolve("riscv64.core");
        Files.write(file, core(ByteOrder.LITTLE_ENDIAN, 243, 0x10000, thread));
        Fixtures.Run run = Fixtures.run("core", file, "--fp-only");
        assertEquals(0, run.status(), run.err());
        assertEquals(String.join(System.lineSeparator(),
                "Thread 9 (riscv64): pc 0x1099a, sp 0x40000000d0, ra 0x10b4a, fp 0x4000000100; stack segment"
                        + " [0x4000000000, 0x4000000200)",
                "#0   0x000000000001099a in ??                                                fp 0x0000004000000100",
                "#1   0x0000000000010b4a in ??                                                fp 0x0000004000000140",
                "Walk ended after 2 frames: frame #1's saved fp 0x80de8 is not above fp 0x4000000140 (fp-not-growing)", "",
                NOTE, ""),
                run.out());
    }

    @Test
    void aLeafCrashGetsANoteNamingTheCallerInTheLinkRegister() throws IOException {
        long base = 0x3ff_ffff_0000L;
        long sp = base + 0x100;
        long fp0 = base + 0x200;
        // g is a leaf: it wrote no r14 slot, so the walk ends at frame 0 (zero-pc); r14 returns into f.
        ByteBuffer stack = ByteBuffer.allocate(0x400).order(ByteOrder.BIG_ENDIAN);
        stack.putLong((int) (sp - base), fp0);
        stack.putLong((int) (fp0 - base), base + 0x300);
        Thread thread = new Thread(7, base, stack.array(), new long[][] {{1, 0x1014}, {16, 0x1008}, {17, sp}});
        Path core = dir.resolve("leaf.core");
        Files.write(core, core(ByteOrder.BIG_ENDIAN, 22, 0x1000, thread));
        Path program = Files.write(dir.resolve("prog"), SymbolizerTest.executable());
        Fixtures.Run run = Fixtures.run("core", core, "--exe", program, "--fp-only");
        assertEquals(0, run.status(), run.err());
        assertEquals(String.join(System.lineSeparator(),
                "Thread 7 (s390x): pc 0x1014, sp 0x3ffffff0100, r14 0x1008 (f+8), fp 0x3ffffff0200; stack segment"
                        + " [0x3ffffff0000, 0x3ffffff0400)",
                "#0   0x0000000000001014 in g+4 (prog+0x14)                                   fp 0x000003ffffff0200",
                "Walk ended after 1 frame: frame #0's saved return address is 0 (zero-pc)",
                "Note: if g is a leaf function that saved no return address, its caller is f+8 at 0x1008, from the link"
                        + " register r14; the frame-pointer chain skips that frame", "", NOTE, ""), run.out());
    }
}
