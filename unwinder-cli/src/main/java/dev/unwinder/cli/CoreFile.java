package dev.unwinder.cli;

import dev.unwinder.api.Registers;
import dev.unwinder.api.StackMemory;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;

/**
 * A Linux ELF core file: its machine, the registers of every thread from the {@code NT_PRSTATUS}
 * notes, the program's entry point from {@code NT_AUXV}, and the memory of its {@code PT_LOAD}
 * segments.
 */
final class CoreFile {
    static final int NT_PRSTATUS = 1;
    static final int NT_AUXV = 6;
    private static final long AT_NULL = 0;
    private static final long AT_ENTRY = 9;

    /**
     * One thread of the core.
     *
     * @param tid the thread id, {@code pr_pid}
     * @param pc the program counter
     * @param dwarfRegisters the general registers by DWARF number
     */
    record CoreThread(int tid, long pc, long[] dwarfRegisters) {
        Registers registers() {
            return Registers.of(pc, dwarfRegisters);
        }

        long register(int dwarf) {
            return dwarfRegisters[dwarf];
        }
    }

    private final ElfFile elf;
    private final Machine machine;
    private final List<CoreThread> threads;
    private final OptionalLong entryPoint;

    private CoreFile(ElfFile elf, Machine machine, List<CoreThread> threads, OptionalLong entryPoint) {
        this.elf = elf;
        this.machine = machine;
        this.threads = threads;
        this.entryPoint = entryPoint;
    }

    /**
     * Reads the threads and segments of a core.
     *
     * @throws BadInputException if {@code elf} is not a core of a known machine, or its notes are
     *     malformed
     */
    static CoreFile read(ElfFile elf) throws BadInputException {
        if (elf.type() != ElfFile.ET_CORE) {
            throw elf.bad("not a core file: its e_type is " + ElfFile.typeName(elf.type()) + " (expected: ET_CORE)");
        }
        Machine machine = Machine.of(elf.machine());
        if (machine == null) {
            throw elf.bad("a core of an unsupported machine: e_machine " + elf.machine()
                    + " (expected: " + Machine.known() + ")");
        }
        if (!machine.byteOrder.equals(elf.byteOrder())) {
            throw elf.bad("a " + machine.arch + " core whose ELF header says " + elf.byteOrder()
                    + " (expected: " + machine.byteOrder + ")");
        }
        List<CoreThread> threads = new ArrayList<>();
        OptionalLong entryPoint = OptionalLong.empty();
        int prstatusSize = Machine.PR_REG_OFFSET + machine.registerWords * 8;
        for (ElfFile.Note note : elf.notes("CORE", Set.of(NT_PRSTATUS, NT_AUXV))) {
            if (note.type() == NT_PRSTATUS) {
                if (note.descSize() < prstatusSize) {
                    throw elf.bad(String.format("NT_PRSTATUS note of thread %d has %d bytes (expected: at least %d for %s)",
                            threads.size() + 1, note.descSize(), prstatusSize, machine.arch));
                }
                long at = note.descOffset();
                int tid = elf.u32(at + Machine.PR_PID_OFFSET);
                long[] prReg = new long[machine.registerWords];
                for (int i = 0; i < prReg.length; i++) {
                    prReg[i] = elf.u64(at + Machine.PR_REG_OFFSET + 8L * i);
                }
                threads.add(new CoreThread(tid, machine.pc(prReg), machine.dwarfRegisters(prReg)));
            } else if (note.type() == NT_AUXV && entryPoint.isEmpty()) {
                entryPoint = auxvEntry(elf, note);
            }
        }
        if (threads.isEmpty()) {
            throw elf.bad("the core has no NT_PRSTATUS note, so no thread to walk");
        }
        return new CoreFile(elf, machine, List.copyOf(threads), entryPoint);
    }

    /** AT_ENTRY of an auxiliary vector: the run-time address of the executable's entry point. */
    private static OptionalLong auxvEntry(ElfFile elf, ElfFile.Note note) {
        for (long i = 0; i + 16 <= note.descSize(); i += 16) {
            long key = elf.u64(note.descOffset() + i);
            if (key == AT_NULL) {
                break;
            }
            if (key == AT_ENTRY) {
                return OptionalLong.of(elf.u64(note.descOffset() + i + 8));
            }
        }
        return OptionalLong.empty();
    }

    /**
     * Returns the memory of the {@code PT_LOAD} segment that holds {@code address}, as the file
     * holds it.
     *
     * @param address an unsigned address, such as a thread's sp
     * @param what what the address is, for the message, such as "thread 12: sp"
     * @throws BadInputException if no segment holds the address, or the core does not hold its
     *     bytes
     */
    StackMemory memoryHolding(long address, String what) throws BadInputException {
        for (ElfFile.ProgramHeader header : elf.programHeaders()) {
            if (header.type() != ElfFile.PT_LOAD || !header.containsAddress(address)) {
                continue;
            }
            if (!header.fileHolds(address, 8)) {
                throw elf.bad(String.format("%s 0x%x is in PT_LOAD segment %d [0x%x, 0x%x), whose bytes the core does not hold",
                        what, address, header.index(), header.vaddr(), header.vaddr() + header.memorySize()));
            }
            return StackMemory.ofSegment(elf.bytes().asSlice(header.offset(), header.fileSize()), header.vaddr(),
                    elf.byteOrder());
        }
        throw elf.bad(String.format("%s 0x%x is outside every PT_LOAD segment", what, address));
    }

    /**
     * Checks that {@code address} lies in some {@code PT_LOAD} segment (its bytes need not be in
     * the file: cores leave out code that the executable holds).
     *
     * @throws BadInputException if it does not
     */
    void requireMapped(long address, String what) throws BadInputException {
        for (ElfFile.ProgramHeader header : elf.programHeaders()) {
            if (header.type() == ElfFile.PT_LOAD && header.containsAddress(address)) {
                return;
            }
        }
        throw elf.bad(String.format("%s 0x%x is outside every PT_LOAD segment", what, address));
    }

    ElfFile elf() {
        return elf;
    }

    Machine machine() {
        return machine;
    }

    List<CoreThread> threads() {
        return threads;
    }

    /** The executable's entry point at run time (auxv AT_ENTRY), if the core records it. */
    OptionalLong entryPoint() {
        return entryPoint;
    }
}
