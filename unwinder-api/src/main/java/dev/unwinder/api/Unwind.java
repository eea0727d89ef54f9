package dev.unwinder.api;

import java.nio.ByteOrder;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What a walker needs to know about one frame layout: where, relative to a frame's fp, the
 * caller's fp, the return address and the caller's sp sit, and what a valid fp looks like.
 *
 * <p>This is the service interface of unwinder's architecture plugins, one implementation per
 * architecture or frame layout, found through {@link java.util.ServiceLoader}. Implementations
 * must be stateless and thread-safe: one instance serves any number of concurrent walks.
 *
 * <p>"fp" is the value a walk carries from frame to frame. On most architectures it is the frame
 * pointer register; on s390x it is the backchain value. Offsets are signed byte offsets from fp:
 * the riscv64 platform layout keeps the caller's fp at {@code fp - 16}.
 *
 * @see <a href="https://github.com/bytecodealliance/wasmtime">Wasmtime's stack walker</a>, from
 *     which these semantics come
 */
public interface Unwind {

    /**
     * Returns the plugin's canonical name, such as {@code "x86_64"}: lower case, unique among
     * plugins, and the name {@code Unwinders.forArch} matches first.
     *
     * @return the canonical name
     */
    String name();

    /**
     * Returns other names this plugin answers to, such as {@code "amd64"} for x86_64.
     *
     * @return the aliases, lower case, possibly empty, never {@code null}
     */
    default List<String> aliases() {
        return List.of();
    }

    /**
     * Returns the size in bytes of a stack word (and of an address) in this layout.
     *
     * @return the word size in bytes; 8 for every plugin of this release
     */
    int wordSize();

    /**
     * Returns the byte order of words on the stacks this layout describes.
     *
     * @return the byte order
     */
    ByteOrder byteOrder();

    /**
     * Returns where the caller's fp is saved, as a byte offset from a frame's fp.
     *
     * @return the signed offset of the saved fp
     */
    long nextOlderFpFromFpOffset();

    /**
     * Returns the caller's sp, as a byte offset from a frame's fp: the caller's sp is
     * {@code fp + nextOlderSpFromFpOffset()}. Where an ABI does not fix the frame record's place
     * in the frame (aarch64), this is the lowest sp the caller can have had.
     *
     * @return the signed offset of the caller's sp
     */
    long nextOlderSpFromFpOffset();

    /**
     * Returns where the return address into the caller is saved, as a byte offset from a frame's
     * fp.
     *
     * @return the signed offset of the saved return address
     */
    long nextOlderPcFromFpOffset();

    /**
     * Decodes a saved return address, the word a walk read at
     * {@code fp + nextOlderPcFromFpOffset()}, into the caller's pc. Plugins never read memory
     * themselves: the walk reads every word, within the memory it was given, and hands this hook
     * the word to decode. The default returns the word unchanged; aarch64 strips
     * pointer-authentication bits.
     *
     * <p>Called once per frame on the walk's hot path: keep it a few arithmetic instructions, with
     * no allocation and no exception.
     *
     * @param savedWord the word saved in the return-address slot
     * @return the caller's pc, the address after the call instruction
     */
    default long decodeReturnAddress(long savedWord) {
        return savedWord;
    }

    /**
     * Returns the alignment every valid fp has in this layout.
     *
     * @return a power of two, in bytes
     */
    int fpAlignment();

    /**
     * Tells whether {@code fp} has the alignment this layout requires: the alignment check a walk
     * applies to every fp.
     *
     * @param fp the value to check
     * @return {@code true} if {@code fp} is a multiple of {@link #fpAlignment()}
     */
    default boolean isFpAligned(long fp) {
        return (fp & (fpAlignment() - 1)) == 0;
    }

    /**
     * Returns the DWARF number of this architecture's stack-pointer register.
     *
     * @return the DWARF register number of sp
     */
    int stackPointerRegister();

    /**
     * Returns the DWARF number of the register that holds the return address on entry to a
     * function, where the architecture has one (aarch64 x30, riscv64 ra, s390x r14).
     *
     * @return the DWARF register number of the link register, or empty (x86_64 keeps the return
     *     address on the stack)
     */
    OptionalInt linkRegister();

    /**
     * Returns the fp a walk starts from, given a thread's registers: the rule that turns a
     * register set (from a core file, a profiler's sample or a signal context) into the first
     * fp. Every consumer of register sets gets the same rule from here.
     *
     * @param registers the thread's registers, by DWARF number
     * @param memory the thread's stack, for layouts whose fp is a stack word (s390x reads the
     *     backchain that sp points at)
     * @return the first fp of a walk
     * @throws UnwindException if the layout reads the stack and the read is out of bounds
     */
    long startFp(Registers registers, StackMemory memory);

    /**
     * Returns what a walk with DWARF call-frame information needs to know of this architecture
     * beyond the CFI: the registers it tracks, the callee-saved ones, the frame-pointer fallback,
     * the rule at a function's first instruction and the signal-return trampolines it recognizes.
     * A walk asks once, when it is set up, never per frame.
     *
     * <p>The default is empty: a plugin that gives none supports only the frame-pointer walk.
     *
     * @return the conventions, or empty
     */
    default Optional<CallFrameConventions> callFrameConventions() {
        return Optional.empty();
    }

    /**
     * Describes this layout in one line, for listings such as the command line's
     * {@code arches}.
     *
     * @return a description such as {@code "caller's fp at fp+0, return address at fp+8, ..."}
     */
    default String describeLayout() {
        return String.format(
                "%s-endian, %d-byte words; caller's fp at fp%+d, return address at fp%+d,"
                        + " caller's sp at fp%+d; fp aligned to %d",
                byteOrder() == ByteOrder.BIG_ENDIAN ? "big" : "little",
                wordSize(),
                nextOlderFpFromFpOffset(),
                nextOlderPcFromFpOffset(),
                nextOlderSpFromFpOffset(),
                fpAlignment());
    }
}
