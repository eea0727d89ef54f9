package dev.unwinder.cli;

import picocli.CommandLine;

/** Reads an unsigned 64-bit address: hex with a {@code 0x} prefix, or decimal. */
final class AddressConverter implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        String text = value.strip();
        try {
            if (text.startsWith("0x") || text.startsWith("0X")) {
                return Long.parseUnsignedLong(text.substring(2).replace("_", ""), 16);
            }
            return Long.parseUnsignedLong(text.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException(
                    "'" + value + "' is not an address (expected: 0x-prefixed hex or decimal, below 2^64)");
        }
    }
}
