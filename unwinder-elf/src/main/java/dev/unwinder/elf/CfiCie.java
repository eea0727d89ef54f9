package dev.unwinder.elf;

/**
 * A common information entry (CIE) of {@code .eh_frame} or {@code .debug_frame}: what the frame
 * description entries that point at it share.
 *
 * @param offset the entry's offset in its section
 * @param version its version: 1, 3 or 4
 * @param augmentation its augmentation string, such as {@code "zR"}, {@code "zPLR"} or {@code "zRB"}
 * @param codeAlignment the code alignment factor, which advance instructions multiply
 * @param dataAlignment the data alignment factor, which offset instructions multiply
 * @param returnAddressRegister the DWARF number of the return-address column
 * @param fdeEncoding the {@code DW_EH_PE_*} encoding of the addresses of its FDEs ({@code R}; 0,
 *     absolute, without it)
 * @param lsdaEncoding the encoding of the language-specific data pointer ({@code L}), or 0xff
 * @param signalFrame whether its frames are signal-handler frames ({@code S}), whose pc is not a
 *     return address
 * @param bKey whether return addresses are signed with the aarch64 B key ({@code B}) rather than the A key
 * @param addressSize the size of a target address in bytes (8, or a version 4 CIE's own)
 * @param segmentSize the size of a segment selector before an FDE's address (version 4; else 0)
 * @param instructionsOffset the offset of its initial instructions in the section
 * @param instructionsLength their length in bytes
 */
public record CfiCie(long offset, int version, String augmentation, long codeAlignment, long dataAlignment,
                     int returnAddressRegister, int fdeEncoding, int lsdaEncoding, boolean signalFrame, boolean bKey,
                     int addressSize, int segmentSize, long instructionsOffset, long instructionsLength) {}
