package dev.unwinder.elf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.unwinder.api.StackMemory;
import dev.unwinder.elf.CfiBytes.Section;
import dev.unwinder.elf.Fuzzing.Edit;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * Fuzzes {@link CfiWalk} itself: whole walks over call-frame information with random rules and
 * stacks with random words, on every architecture; and walks with random registers and stacks over
 * the real {@code .eh_frame} of this machine's C library, loaded at a made-up base.
 *
 * <p>The bent CFI is a {@code .debug_frame} of one to four FDEs, each with a CIE of its own (version
 * 1, 3 or 4, some signal frames, a return-address column that is sometimes outside the registers),
 * whose instructions set every kind of rule with registers and offsets that lie: the CFA as an
 * unknown register, a huge offset or an expression; registers saved at, as, or in random places;
 * expressions that loop ({@code DW_OP_skip} and {@code DW_OP_bra} backwards), underflow their stack,
 * dereference addresses at and past the stack's edges, or use operations that are not supported;
 * undefined return addresses, remembered states, advances. One file in six also has a few bytes
 * overwritten ({@link Fuzzing#mutate}). The stacks hold return addresses into the FDEs, words that
 * point into the stack (at themselves, so cycles), zeros, lies and random words; the registers are
 * such words too, sometimes fewer or more than the walk tracks.
 *
 * <p>The rule, whatever the input: a walk returns an {@link CfiWalk.End} and throws nothing but the
 * visitor's own exception; it visits at most {@code maxFrames} frames, numbered from 0, the first
 * with the registers given; each caller's sp is at or above its callee's, equal only for one step at
 * a time where the pc changes; the end's detail is empty or one line, as documented, and a
 * {@code BAD_CFI} end names the file (a register that is not known is {@code OUTSIDE_MEMORY}); and
 * every run ends within {@link Fuzzing#TIME_LIMIT}.
 *
 * <p>Memory is read only inside the {@link StackMemory} given. That interface is sealed, so no test
 * can wrap it to record reads; instead each walk runs over three memories at the same addresses
 * that must give the same frames, registers and end: a byte array and a heap segment (a read
 * outside them fails their bounds checks), and native memory read at absolute addresses (its fast
 * path, with the tests' native access), with {@value #GUARD} bytes of poison on either side that
 * a read past the window would pick up, and no frame or register may hold. The same walker runs
 * them after walks with other registers, and must agree with a new walker: nothing of one walk
 * leaks into the next. Fixed seeds: 2,000 walks over 500 bent files and 2,000 over the C library, a
 * few seconds.
 */
final class CfiWalkFuzzTest {
    private static final long MAX_BYTES = 32L << 20;
    /** The bytes of poison before and after the stack window, and the largest window. */
    private static final int GUARD = 0x1000;
    private static final int MAX_STACK = 0x1000;
    /** The top 16 bits of every poison word; no generated value has them. */
    private static final long POISON = 0xbad5_0000_0000_0000L;
    private static final long POISON_MASK = 0xffff_0000_0000_0000L;
    /** The synthetic module: link-time FDEs at 0x1000, 0x100 bytes each, loaded at this bias. */
    private static final long BIAS = 0x5555_0000_0000L;
    private static final long FDE_BEGIN = 0x1000;
    private static final long FDE_SIZE = 0x100;
    private static final long MODULE_SIZE = 0x3000;
    /** Where the C library is loaded, made up. */
    private static final long LIBC_BASE = 0x7f12_3400_0000L;
    /** Walks per try: writing a file and loading its table cost more than a walk. */
    private static final int WALKS_PER_TRY = 4;
    /** The detail of a BAD_CFI end: the file and its section, or the CIE's return-address column. */
    private static final Pattern BAD_CFI = Pattern.compile("\\S+: \\.(eh_frame|debug_frame).*|return-address column .*");
    private static final int[] SIZES = {0, 4, 8, 16, 0x40, 0x100, 0x103, 0x400, 0xff8, 0x1000};

    /** The native region: poison, the stack window at {@link #GUARD}, poison. */
    private static final MemorySegment REGION = Arena.global().allocate(GUARD + MAX_STACK + GUARD, 16);
    private static final long BASE = REGION.address() + GUARD;
    private static final byte[] POISONED = poisoned();

    private static Path dir;
    private static CfiWalk libcWalker;
    private static List<long[]> libcRanges;

    /** The visitor's own exception, which is the one a walk may throw. */
    private static final class VisitorException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        VisitorException() {
            super("the visitor's own", null, false, false);
        }
    }

    /** A frame as the visitor saw it. */
    private record Frame(int index, long pc, long sp, CfiWalk.How how) {}

    /** What a walk did: its end (null if the visitor threw), its frames and its last frame's registers. */
    private record Run(CfiWalk.End end, String detail, List<Frame> frames, boolean[] known, long[] values,
                       Throwable thrown) {}

    /** One walk's input: the memory is made from {@code stack} at {@link #BASE}. */
    private record Walk(FuzzArch arch, long pc, long[] registers, byte[] stack, int maxFrames, int stopAt, int throwAt) {}

    private static byte[] poisoned() {
        ByteBuffer bytes = ByteBuffer.allocate(GUARD + MAX_STACK + GUARD).order(ByteOrder.nativeOrder());
        for (int i = 0; i < bytes.capacity(); i += 8) {
            bytes.putLong(i, POISON | i);
        }
        return bytes.array();
    }

    private static synchronized Path dir() {
        if (dir == null) {
            dir = TestPrograms.freshDirectory("cfi-walk-fuzz");
        }
        return dir;
    }

    // The walks and their checks.

    /** The window of the native region over {@code stack}, the rest poison; read at absolute addresses. */
    @SuppressWarnings("restricted")
    private static StackMemory nativeMemory(byte[] stack) {
        MemorySegment.copy(POISONED, 0, REGION, ValueLayout.JAVA_BYTE, 0, POISONED.length);
        MemorySegment.copy(stack, 0, REGION, ValueLayout.JAVA_BYTE, GUARD, stack.length);
        return StackMemory.ofNative(MemorySegment.ofAddress(BASE).reinterpret(stack.length));
    }

    /** The memories a walk runs over, at the same addresses. */
    private static List<StackMemory> memories(Walk walk) {
        ByteOrder order = walk.arch() == FuzzArch.S390X ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        List<StackMemory> memories = new ArrayList<>();
        memories.add(StackMemory.ofBytes(walk.stack(), BASE, order));
        memories.add(StackMemory.ofSegment(MemorySegment.ofArray(walk.stack().clone()), BASE, order));
        if (order == ByteOrder.nativeOrder()) {
            memories.add(nativeMemory(walk.stack()));
        }
        return memories;
    }

    private static Run run(CfiWalk walker, Walk walk, StackMemory memory) {
        List<Frame> frames = new ArrayList<>();
        CfiWalk.End end = null;
        Throwable thrown = null;
        try {
            end = walker.walk(walk.pc(), walk.registers(), memory, walk.maxFrames(), (index, pc, sp, how) -> {
                frames.add(new Frame(index, pc, sp, how));
                if (index == walk.throwAt()) {
                    throw new VisitorException();
                }
                return index != walk.stopAt();
            });
        } catch (VisitorException e) {
            thrown = e;
        } catch (RuntimeException | Error e) {
            throw new AssertionError("a walk threw " + e + " on " + describe(walk), e);
        }
        int count = walk.arch().registerCount;
        boolean[] known = new boolean[count];
        long[] values = new long[count];
        for (int r = 0; r < count; r++) {
            known[r] = walker.registerKnown(r);
            values[r] = known[r] ? walker.registerValue(r) : 0;
        }
        Run result = new Run(end, walker.endDetail(), frames, known, values, thrown);
        check(walk, result);
        return result;
    }

    private static String describe(Walk walk) {
        return String.format("%s pc 0x%x, %d registers, %d stack bytes at 0x%x, maxFrames %d", walk.arch(), walk.pc(),
                walk.registers().length, walk.stack().length, BASE, walk.maxFrames());
    }

    /** What every walk must do, whatever its input. */
    private static void check(Walk walk, Run run) {
        String what = describe(walk);
        List<Frame> frames = run.frames();
        assertTrue(!frames.isEmpty() && frames.size() <= walk.maxFrames(), () -> frames.size() + " frames: " + what);
        if (run.thrown() != null) {
            assertEquals(walk.throwAt(), frames.size() - 1, what);
            return;
        }
        assertNotNull(run.end(), what);
        assertTrue(walk.throwAt() < 0 || frames.size() <= walk.throwAt(), what);
        Frame first = frames.getFirst();
        assertEquals(new Frame(0, walk.pc(), walk.registers().length > walk.arch().sp ? walk.registers()[walk.arch().sp] : 0,
                CfiWalk.How.CONTEXT), first, what);
        for (int i = 1; i < frames.size(); i++) {
            Frame callee = frames.get(i - 1);
            Frame caller = frames.get(i);
            assertEquals(i, caller.index(), what);
            assertNotEquals(CfiWalk.How.CONTEXT, caller.how(), what);
            assertNotEquals(0, caller.pc(), what);
            int order = Long.compareUnsigned(caller.sp(), callee.sp());
            int at = i;
            assertTrue(order >= 0, () -> "frame " + at + "'s sp is below its callee's: " + frames + " " + what);
            if (order == 0) {
                assertNotEquals(callee.pc(), caller.pc(),
                        () -> "frame " + at + " repeats its callee: " + frames + " " + what);
                assertTrue(at == 1 || Long.compareUnsigned(callee.sp(), frames.get(at - 2).sp()) > 0,
                        () -> "two steps in a row keep sp at frame " + at + ": " + frames + " " + what);
            }
        }
        for (Frame frame : frames) {
            assertNotPoison(frame.pc(), what);
            assertNotPoison(frame.sp(), what);
        }
        for (int r = 0; r < run.values().length; r++) {
            assertNotPoison(run.values()[r], what);
        }
        switch (run.end()) {
            case MAX_FRAMES -> assertEquals(walk.maxFrames(), frames.size(), what);
            case STOPPED -> assertEquals(walk.stopAt(), frames.size() - 1, what);
            default -> assertTrue(frames.size() < walk.maxFrames() && frames.size() - 1 != walk.stopAt(), what);
        }
        switch (run.end()) {
            case OUTERMOST, STOPPED, MAX_FRAMES -> assertEquals("", run.detail(), what);
            default -> Fuzzing.assertOneLine(run.detail());
        }
        if (run.end() == CfiWalk.End.BAD_CFI) {
            // Malformed CFI is the file's fault and says so; an unknown register is not.
            assertTrue(BAD_CFI.matcher(run.detail()).matches(), () -> run.detail() + ": " + what);
        }
    }

    private static void assertNotPoison(long value, String what) {
        if ((value & POISON_MASK) == POISON) {
            fail(String.format("0x%x came from outside the stack memory: %s", value, what));
        }
    }

    private static void assertSameRun(Run expected, Run actual, Supplier<String> walk) {
        Supplier<String> what = () -> String.format("%s: expected %s (%s) %s, was %s (%s) %s", walk.get(), expected.end(),
                expected.detail(), expected.frames(), actual.end(), actual.detail(), actual.frames());
        assertEquals(expected.end(), actual.end(), what);
        assertEquals(expected.detail(), actual.detail(), what);
        assertEquals(expected.frames(), actual.frames(), what);
        assertArrayEquals(expected.known(), actual.known(), what);
        assertArrayEquals(expected.values(), actual.values(), what);
        assertEquals(expected.thrown() == null, actual.thrown() == null, what);
    }

    /**
     * Walks with a new walker, then with {@code reused} over every memory, each time after a walk
     * with other registers: all must agree.
     */
    private static void walkEverywhere(CfiWalk fresh, CfiWalk reused, Walk walk, SplittableRandom random) {
        List<StackMemory> memories = memories(walk);
        Run expected = run(fresh, walk, memories.getFirst());
        for (StackMemory memory : memories) {
            long[] other = new long[walk.arch().registerCount + random.nextInt(3)];
            for (int r = 0; r < other.length; r++) {
                other[r] = BASE + 8L * random.nextInt(MAX_STACK / 8);
            }
            run(reused, new Walk(walk.arch(), walk.pc() + 1, other, walk.stack(), 3, -1, -1), memory);
            assertSameRun(expected, run(reused, walk, memory), () -> describe(walk) + " over " + memory);
        }
    }

    // The bent CFI.

    /** Draws a scenario's values; all of them depend on its seed only. */
    private static final class Draw {
        final SplittableRandom random;
        final FuzzArch arch;
        final ByteOrder order;
        final int fdes;
        final int stackSize;

        Draw(long seed, FuzzArch arch) {
            random = new SplittableRandom(seed);
            this.arch = arch;
            order = arch == FuzzArch.S390X ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
            fdes = 1 + random.nextInt(4);
            stackSize = SIZES[random.nextInt(SIZES.length)];
        }

        boolean chance(int percent) {
            return random.nextInt(100) < percent;
        }

        /** Any value but poison. */
        long any() {
            long value = random.nextLong();
            return (value & POISON_MASK) == POISON ? value ^ Long.MIN_VALUE : value;
        }

        long lie() {
            return Fuzzing.LIES.get(random.nextInt(Fuzzing.LIES.size()));
        }

        /** An address in or just around the stack, 8-byte aligned or not. */
        long stackAddress() {
            long offset = random.nextInt(stackSize + 64) - 32;
            return BASE + (chance(80) ? offset & ~7L : offset);
        }

        /** A pc: in an FDE (or just past one), in the module outside the FDEs, outside any module, 0. */
        long pc() {
            int pick = random.nextInt(10);
            if (pick < 7) {
                return BIAS + FDE_BEGIN + FDE_SIZE * random.nextInt(fdes) + random.nextInt((int) FDE_SIZE + 2);
            }
            return switch (pick) {
                case 7 -> BIAS + MODULE_SIZE - 0x100 + random.nextInt(0x100);
                case 8 -> 0x1234;
                default -> chance(50) ? 0 : any();
            };
        }

        /** A word of the stack or a register. */
        long word() {
            int pick = random.nextInt(20);
            if (pick < 7) {
                return pc();
            } else if (pick < 14) {
                return stackAddress();
            } else if (pick < 16) {
                return 0;
            } else if (pick < 18) {
                return lie();
            }
            return any();
        }

        byte[] stack() {
            ByteBuffer bytes = ByteBuffer.allocate(stackSize).order(order);
            for (int i = 0; i + 8 <= stackSize; i += 8) {
                bytes.putLong(i, chance(10) ? BASE + i : word());
            }
            for (int i = stackSize & ~7; i < stackSize; i++) {
                bytes.put(i, (byte) random.nextInt(256));
            }
            return bytes.array();
        }

        long[] registers() {
            int count = arch.registerCount;
            int length = switch (random.nextInt(10)) {
                case 0 -> random.nextInt(count);
                case 1 -> count + random.nextInt(8);
                default -> count;
            };
            long[] registers = new long[length];
            for (int r = 0; r < length; r++) {
                registers[r] = word();
            }
            if (arch.sp < length && chance(85)) {
                registers[arch.sp] = BASE + (random.nextInt(Math.max(stackSize, 1)) & ~7L);
            }
            return registers;
        }

        int maxFrames() {
            return switch (random.nextInt(10)) {
                case 0 -> 1;
                case 1 -> 2 + random.nextInt(4096);
                default -> 1 + random.nextInt(64);
            };
        }

        int register() {
            int count = arch.registerCount;
            return switch (random.nextInt(14)) {
                case 0, 1, 2 -> arch.returnAddress;
                case 3, 4 -> arch.sp;
                case 5 -> Math.max(arch.fp, 0);
                case 6 -> count + random.nextInt(8);
                case 7 -> chance(50) ? 4000 : 65535;
                default -> random.nextInt(count);
            };
        }

        /** An offset to factor by the data alignment: small, moderate, or a lie. */
        long factored() {
            return switch (random.nextInt(6)) {
                case 0, 1, 2 -> random.nextInt(5);
                case 3 -> random.nextInt(64);
                case 4 -> random.nextInt(0x2000);
                default -> lie();
            };
        }

        /** A DWARF expression, of operations that matter and some that break it. */
        byte[] expression() {
            CfiBytes b = new CfiBytes(order);
            int count = random.nextInt(9);
            for (int i = 0; i < count; i++) {
                int start = b.size();
                switch (random.nextInt(24)) {
                    case 0 -> b.u8(0x30 + random.nextInt(32));                      // lit
                    case 1 -> b.u8(0x0e).u64(chance(50) ? stackAddress() : any());   // const8u
                    case 2 -> b.u8(0x0c).u32(stackAddress());                        // const4u
                    case 3 -> b.u8(0x11).sleb(chance(50) ? random.nextInt(64) - 32 : lie()); // consts
                    case 4 -> b.u8(0x10).uleb(BASE + stackSize - random.nextInt(9)); // constu at the stack's end
                    case 5, 6 -> b.u8(0x70 + (chance(70) ? arch.sp : random.nextInt(32))).sleb(8L * random.nextInt(8) - 16);
                    case 7 -> b.u8(0x92).uleb(register()).sleb(random.nextInt(64)); // bregx
                    case 8, 9 -> b.u8(0x06);                                         // deref
                    case 10 -> b.u8(0x94, new int[] {1, 2, 4, 8, 3, 0}[random.nextInt(6)]); // deref_size
                    case 11 -> b.u8(new int[] {0x12, 0x13, 0x14, 0x16, 0x17}[random.nextInt(5)]); // dup drop over swap rot
                    case 12 -> b.u8(0x15, random.nextInt(4) * (chance(80) ? 1 : 70)); // pick
                    case 13 -> b.u8(0x1a + random.nextInt(0x2f - 0x1a)).u8(0x96);    // arithmetic, comparisons, bra; nop
                    case 14 -> b.u8(0x23).uleb(chance(50) ? random.nextInt(64) : lie()); // plus_uconst
                    case 15 -> {                                                      // loops: each runs MAX_STEPS
                        switch (random.nextInt(3)) {
                            case 0 -> b.u8(0x2f).u16(-(start + 3));                   // skip back to the start
                            case 1 -> b.u8(0x31, 0x28).u16(-(start + 4));             // lit1, bra back to the start
                            default -> b.u8(0x28).u16(-(start + 3));                  // bra back on whatever is on top
                        }
                    }
                    case 16 -> b.u8(0x12, 0x06);                                      // dup, deref
                    case 17 -> b.u8(0x13, 0x13);                                      // drop, drop: an underflow
                    case 18 -> b.u8(0x2f).u16(random.nextInt(16) - 4);                // skip a little either way
                    case 19 -> b.u8(0x2f).u16(chance(50) ? 0x7fff : 0x8000);          // skip far outside
                    case 20 -> b.u8(new int[] {0x50, 0x90, 0x93, 0x9f, 0xe0, 0x00}[random.nextInt(6)]); // not supported
                    case 21 -> b.u8(0x0e, 0x01);                                      // const8u cut short
                    case 22 -> b.u8(0x1b).u8(0x30).u8(0x1b);                          // div, then div by zero
                    default -> b.u8(0x96);                                            // nop
                }
            }
            return b.toByteArray();
        }

        /** One call-frame instruction. */
        void instruction(CfiBytes b) {
            switch (random.nextInt(24)) {
                case 0, 1 -> b.u8(0x0c).uleb(register()).uleb(factored() * 8);   // def_cfa
                case 2 -> b.u8(0x12).uleb(register()).sleb(chance(50) ? -factored() : factored()); // def_cfa_sf
                case 3 -> b.u8(0x0e).uleb(chance(70) ? 8 * random.nextInt(8) : lie()); // def_cfa_offset
                case 4 -> b.u8(0x0d).uleb(register());                           // def_cfa_register
                case 5 -> {                                                      // def_cfa_expression
                    byte[] e = expression();
                    b.u8(0x0f).uleb(e.length).bytes(e);
                }
                case 6, 7, 8 -> b.u8(0x05).uleb(register()).uleb(factored());    // offset_extended
                case 9 -> b.u8(0x11).uleb(register()).sleb(-factored());         // offset_extended_sf: above the CFA
                case 10 -> b.u8(0x14).uleb(register()).uleb(factored());         // val_offset
                case 11 -> b.u8(0x15).uleb(register()).sleb(-factored());        // val_offset_sf
                case 12 -> b.u8(0x09).uleb(register()).uleb(register());         // register
                case 13, 14 -> {                                                 // expression, val_expression
                    byte[] e = expression();
                    b.u8(chance(50) ? 0x10 : 0x16).uleb(register()).uleb(e.length).bytes(e);
                }
                case 15 -> b.u8(0x07).uleb(register());                          // undefined
                case 16 -> b.u8(0x08).uleb(register());                          // same_value
                case 17 -> b.u8(chance(60) ? 0x0a : 0x0b);                       // remember_state, restore_state
                case 18, 19 -> b.u8(0x40 | 1 + random.nextInt(63));              // advance_loc
                case 20 -> b.u8(0x06).uleb(register());                          // restore_extended
                case 21 -> b.u8(0x2e).uleb(random.nextInt(64));                  // GNU_args_size
                case 22 -> b.u8(arch == FuzzArch.AARCH64 ? 0x2d : 0x00);          // negate_ra_state
                default -> b.u8(chance(50) ? 0x00 : random.nextInt(256));        // nop, or any byte
            }
        }

        /** The {@code .debug_frame}: per FDE, a CIE of its own and then the FDE. */
        byte[] debugFrame() {
            CfiBytes b = new CfiBytes(order);
            List<Integer> lengths = new ArrayList<>();
            for (int i = 0; i < fdes; i++) {
                int cie = b.size();
                lengths.add(cie);
                int version = new int[] {1, 1, 1, 3, 4}[random.nextInt(5)];
                boolean z = chance(25);
                b.u32(0).u32(0xffff_ffffL).u8(version).text(z ? "zS" : "");
                if (version == 4) {
                    b.u8(8, 0);
                }
                int ra = chance(90) ? arch.returnAddress : register();
                b.uleb(chance(85) ? 1 : 4).sleb(new long[] {-8, -8, -8, -4, 1, 8}[random.nextInt(6)]);
                if (version == 1) {
                    b.u8(ra & 0xff);
                } else {
                    b.uleb(ra);
                }
                if (z) {
                    b.uleb(0);
                }
                // What a compiler puts there (x86_64's call, else a frame that saves ra and fp, or a leaf),
                // then anything.
                if (arch == FuzzArch.X86_64) {
                    b.u8(0x0c).uleb(arch.sp).uleb(8).u8(0x80 | arch.returnAddress, 1);
                } else if (chance(60)) {
                    b.u8(0x0c).uleb(arch.sp).uleb(arch.cfaAboveSp + 16).u8(0x05).uleb(arch.returnAddress).uleb(1);
                    b.u8(0x05).uleb(Math.max(arch.fp, 6)).uleb(2);
                } else {
                    b.u8(0x0c).uleb(arch.sp).uleb(arch.cfaAboveSp);
                }
                for (int n = random.nextInt(3); n > 0; n--) {
                    instruction(b);
                }
                pad(b);
                int fde = b.size();
                lengths.add(fde);
                b.u32(0).u32(cie).u64(FDE_BEGIN + FDE_SIZE * i).u64(FDE_SIZE);
                if (z) {
                    b.uleb(0);
                }
                for (int n = random.nextInt(chance(40) ? 3 : 13); n > 0; n--) {
                    instruction(b);
                }
                pad(b);
            }
            byte[] bytes = b.toByteArray();
            ByteBuffer buffer = ByteBuffer.wrap(bytes).order(order);
            lengths.add(bytes.length);
            for (int i = 0; i + 1 < lengths.size(); i++) {
                buffer.putInt(lengths.get(i), lengths.get(i + 1) - lengths.get(i) - 4);
            }
            if (!chance(16)) {
                return bytes;
            }
            List<Integer> fields = new ArrayList<>();
            for (int i = 0; i < bytes.length; i++) {
                fields.add(i);
            }
            List<Edit> edits = new ArrayList<>();
            for (int n = 1 + random.nextInt(3); n > 0; n--) {
                edits.add(new Edit(true, random.nextInt(1 << 20), new int[] {1, 1, 2, 4, 8}[random.nextInt(5)],
                        random.nextInt(3), any()));
            }
            return Fuzzing.mutate(bytes, order, fields, List.of(BASE, BIAS + FDE_BEGIN, 0x0aL, 0x0bL, 0x2fL), edits, 100);
        }

        private static void pad(CfiBytes b) {
            while (b.size() % 8 != 0) {
                b.u8(0);
            }
        }

        Walk walk() {
            int maxFrames = maxFrames();
            return new Walk(arch, pc(), registers(), stack(), maxFrames, chance(10) ? random.nextInt(maxFrames) : -1,
                    chance(5) ? random.nextInt(maxFrames) : -1);
        }
    }

    private static int elfMachine(FuzzArch arch) {
        return switch (arch) {
            case X86_64 -> 62;
            case AARCH64 -> 183;
            case S390X -> 22;
            case RISCV64 -> 243;
        };
    }

    private static ModuleMap module(Path file) {
        return ModuleMap.of(List.of(new Module("bent.so", BIAS, BIAS + MODULE_SIZE, BIAS, null, file, null,
                Module.Symbols.MISSING, "fuzzed", SymbolTable.EMPTY)));
    }

    /** Writes the file, named after the seed: a file mapped by an earlier try's walkers is never rewritten. */
    private static Path write(FuzzArch arch, ByteOrder order, byte[] debugFrame, long seed) {
        try {
            ElfFile elf = CfiBytes.elf("bent.so", order, elfMachine(arch),
                    List.of(new Section(".debug_frame", 0, debugFrame)));
            Path file = dir().resolve("bent-" + Long.toUnsignedString(seed, 16) + ".so");
            Files.write(file, elf.bytes().toArray(ValueLayout.JAVA_BYTE));
            return file;
        } catch (ElfException e) {
            throw new AssertionError(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Property(tries = 500, seed = "20261130")
    void walksOverBentCfi(@ForAll long seed) {
        FuzzArch arch = switch ((int) Long.remainderUnsigned(seed, 6)) {
            case 0 -> FuzzArch.AARCH64;
            case 1 -> FuzzArch.S390X;
            case 2 -> FuzzArch.RISCV64;
            default -> FuzzArch.X86_64;
        };
        Draw draw = new Draw(seed, arch);
        ModuleMap modules = module(write(arch, draw.order, draw.debugFrame(), seed));
        List<Walk> walks = new ArrayList<>();
        for (int i = 0; i < WALKS_PER_TRY; i++) {
            walks.add(draw.walk());
        }
        Arena arena = Arena.ofAuto();
        Fuzzing.bounded("seed " + seed + ": " + describe(walks.getFirst()), MAX_BYTES, () -> {
            CfiWalk reused = new CfiWalk(Plugins.of(arch.machine), modules, arena);
            for (Walk walk : walks) {
                walkEverywhere(new CfiWalk(Plugins.of(arch.machine), modules, arena), reused, walk, draw.random);
            }
        });
    }

    // The C library's CFI.

    private static synchronized CfiWalk libcWalker() throws ElfException {
        if (libcWalker == null) {
            TestPrograms.requireFile(TestPrograms.LIBC, "libc6");
            CfiTable table = CfiTable.ehFrame(ElfFile.open(TestPrograms.LIBC, Arena.global()));
            List<long[]> ranges = new ArrayList<>();
            long end = 0;
            for (CfiFde fde : table.fdes()) {
                if (fde.pcEnd() != fde.pcBegin()) {
                    ranges.add(new long[] {fde.pcBegin(), fde.pcEnd()});
                    end = Math.max(end, fde.pcEnd());
                }
            }
            assertTrue(ranges.size() > 1000, ranges.size() + " FDEs in " + TestPrograms.LIBC);
            libcRanges = ranges;
            ModuleMap modules = ModuleMap.of(List.of(new Module(TestPrograms.LIBC.toString(), LIBC_BASE,
                    LIBC_BASE + end + 0x1000, LIBC_BASE, null, TestPrograms.LIBC, null, Module.Symbols.MISSING, "fuzzed",
                    SymbolTable.EMPTY)));
            libcWalker = new CfiWalk(Plugins.of(Machine.X86_64), modules, Arena.global());
        }
        return libcWalker;
    }

    /** A pc in the C library: in a random FDE (its first byte, its last, or inside), at run time. */
    private static long libcPc(SplittableRandom random) {
        long[] range = libcRanges.get(random.nextInt(libcRanges.size()));
        long span = range[1] - range[0];
        long at = switch (random.nextInt(4)) {
            case 0 -> 0;
            case 1 -> span;
            default -> random.nextLong(span);
        };
        return LIBC_BASE + range[0] + at;
    }

    @Property(tries = 500, seed = "20261130")
    void walksOverTheCLibrarysCfi(@ForAll long seed) throws ElfException {
        CfiWalk walker = libcWalker();
        Draw draw = new Draw(seed, FuzzArch.X86_64);
        List<Walk> walks = new ArrayList<>();
        for (int i = 0; i < WALKS_PER_TRY; i++) {
            walks.add(libcWalk(draw));
        }
        Fuzzing.bounded("seed " + seed + ": " + describe(walks.getFirst()), MAX_BYTES, () -> {
            for (Walk walk : walks) {
                List<StackMemory> memories = memories(walk);
                Run expected = run(walker, walk, memories.getFirst());
                for (StackMemory memory : memories) {
                    assertSameRun(expected, run(walker, walk, memory), () -> describe(walk) + " over " + memory);
                }
            }
        });
    }

    /** A walk from a pc in the C library; its stack and registers hold the library's return addresses and stack pointers. */
    private static Walk libcWalk(Draw draw) {
        SplittableRandom random = draw.random;
        int size = Math.max(SIZES[random.nextInt(SIZES.length)], 0x400);
        ByteBuffer stack = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i + 8 <= size; i += 8) {
            stack.putLong(i, switch (random.nextInt(10)) {
                case 0, 1, 2, 3 -> libcPc(random);
                case 4, 5, 6 -> BASE + (random.nextInt(size + 64) & ~7L);
                case 7 -> BASE + i;
                default -> draw.word();
            });
        }
        long[] registers = new long[random.nextInt(10) == 0 ? random.nextInt(17) : 17];
        for (int r = 0; r < registers.length; r++) {
            registers[r] = random.nextInt(3) == 0 ? libcPc(random) : draw.word();
        }
        if (registers.length > 7) {
            registers[7] = BASE + (random.nextInt(size) & ~7L);
        }
        if (registers.length > 6 && random.nextBoolean()) {
            registers[6] = BASE + (random.nextInt(size) & ~7L);
        }
        int maxFrames = 1 + random.nextInt(256);
        return new Walk(FuzzArch.X86_64, libcPc(random), registers, stack.array(), maxFrames,
                random.nextInt(20) == 0 ? random.nextInt(maxFrames) : -1,
                random.nextInt(40) == 0 ? random.nextInt(maxFrames) : -1);
    }

    /**
     * The native memory is the window, read at absolute addresses (the tests run with native
     * access), with the poison in place around it.
     */
    @Example
    void theNativeMemoryIsTheWindowInItsPoison() {
        byte[] stack = new byte[0x40];
        StackMemory memory = nativeMemory(stack);
        assertEquals("NativeStackMemory", memory.getClass().getSimpleName());
        assertEquals(BASE, memory.baseAddress());
        assertEquals(0x40, memory.size());
        assertEquals(POISON | (GUARD - 8), REGION.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.nativeOrder()),
                GUARD - 8));
        assertSame(ByteOrder.nativeOrder(), memory.byteOrder());
    }
}
