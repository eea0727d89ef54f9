/**
 * The {@code unwinder} command. {@link dev.unwinder.cli.Main} is its entry point and
 * {@link dev.unwinder.cli.UnwinderToolProvider} offers it as a {@code ToolProvider}; everything
 * else is package-private: the picocli commands ({@code core}, {@code walk}, {@code arches}), a
 * strict reader of 64-bit ELF files of either byte order ({@code ElfFile}, {@code CoreFile},
 * {@code SymbolTable}) and the text and JSON output. The module exports nothing.
 */
package dev.unwinder.cli;
