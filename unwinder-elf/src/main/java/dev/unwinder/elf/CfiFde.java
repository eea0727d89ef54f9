package dev.unwinder.elf;

/**
 * A frame description entry (FDE): the call-frame information of the code in
 * {@code [pcBegin, pcEnd)}, link-time addresses.
 *
 * @param offset the entry's offset in its section
 * @param cie the CIE it points at
 * @param pcBegin the first address it covers
 * @param pcEnd the address past the last one it covers
 * @param instructionsOffset the offset of its instructions in the section
 * @param instructionsLength their length in bytes
 */
public record CfiFde(long offset, CfiCie cie, long pcBegin, long pcEnd, long instructionsOffset,
                     long instructionsLength) {
    /**
     * Whether it covers {@code pc}.
     *
     * @param pc a link-time address
     * @return whether {@code pcBegin <= pc < pcEnd}, unsigned
     */
    public boolean covers(long pc) {
        return Long.compareUnsigned(pc, pcBegin) >= 0 && Long.compareUnsigned(pc, pcEnd) < 0;
    }
}
