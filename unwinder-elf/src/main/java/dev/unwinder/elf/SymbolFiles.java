package dev.unwinder.elf;

import static java.util.Objects.requireNonNull;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.CRC32;
import org.tukaani.xz.XZInputStream;

/**
 * Finds the files of a process's modules on this machine and reads their symbols: the file
 * itself ({@code .symtab}, {@code .dynsym}), its separate debug file (by build-id under each
 * debug directory, then by {@code .gnu_debuglink} with its CRC checked, the way gdb looks for
 * them) and its MiniDebugInfo ({@code .gnu_debugdata}, an xz-compressed ELF file of symbols).
 *
 * <p>A file is looked for, in order: among the files given by the caller (same path, else same
 * name), under the sysroot (for a process of another machine or architecture), and at its own path
 * when there is no sysroot. Files are mapped into the caller's arena: the symbol tables read from
 * them stay usable while it is open. Not safe for concurrent use; the modules it makes are.
 */
public final class SymbolFiles {
    /** Debian's and most distributions' directory of separate debug files. */
    public static final Path DEFAULT_DEBUG_DIRECTORY = Path.of("/usr/lib/debug");

    private static final long MAX_MINI_DEBUG_INFO = 256L << 20;

    private final Arena arena;
    private final Path sysroot;
    private final List<Path> debugDirectories;
    private final List<Path> givenFiles;
    private final Demangler demangler;

    private SymbolFiles(Arena arena, Path sysroot, List<Path> debugDirectories, List<Path> givenFiles, Demangler demangler) {
        this.arena = arena;
        this.sysroot = sysroot;
        this.debugDirectories = debugDirectories;
        this.givenFiles = givenFiles;
        this.demangler = demangler;
    }

    /**
     * Creates a finder.
     *
     * @param arena the arena that maps the files found; close it when their symbols are no longer used
     * @param sysroot the directory that stands for {@code /} of the process's machine, or null to
     *     look for files at their own paths
     * @param debugDirectories where separate debug files are, such as {@link #DEFAULT_DEBUG_DIRECTORY};
     *     with a sysroot, each is also looked for under it
     * @param givenFiles files to use before looking anywhere, matched by path, then by name
     * @param demangler how symbol names are demangled
     * @return the finder
     */
    public static SymbolFiles of(Arena arena, Path sysroot, List<Path> debugDirectories, List<Path> givenFiles,
                                 Demangler demangler) {
        requireNonNull(arena, "arena");
        requireNonNull(debugDirectories, "debugDirectories");
        requireNonNull(givenFiles, "givenFiles");
        requireNonNull(demangler, "demangler");
        return new SymbolFiles(arena, sysroot, List.copyOf(debugDirectories), List.copyOf(givenFiles), demangler);
    }

    /**
     * The sysroot, if one was given.
     *
     * @return the sysroot, or null
     */
    public Path sysroot() {
        return sysroot;
    }

    /**
     * The files given by the caller, to use before looking anywhere.
     *
     * @return the files
     */
    public List<Path> givenFiles() {
        return givenFiles;
    }

    /**
     * Where the file that a process knew as {@code path} is on this machine.
     *
     * @param path the path as the process saw it, such as {@code "/lib/x86_64-linux-gnu/libc.so.6"}
     * @return the file, or null if it is not found
     */
    public Path locate(String path) {
        for (Path given : givenFiles) {
            if (given.toString().equals(path) || given.toAbsolutePath().normalize().toString().equals(path)) {
                return given;
            }
        }
        String name = path.substring(path.lastIndexOf('/') + 1);
        for (Path given : givenFiles) {
            Path fileName = given.getFileName();
            if (fileName != null && fileName.toString().equals(name)) {
                return given;
            }
        }
        if (!path.startsWith("/")) {
            return null;
        }
        Path candidate;
        try {
            candidate = sysroot == null ? Path.of(path) : sysroot.resolve(path.substring(1));
        } catch (java.nio.file.InvalidPathException e) {
            return null; // bytes that file names cannot hold here, such as non-ASCII in the POSIX locale
        }
        return Files.isRegularFile(candidate) ? candidate : null;
    }

    /**
     * Where the executable that a process knew as {@code path} is: as {@link #locate(String)} finds
     * it, else the first file given by the caller that is an executable (of type {@code ET_EXEC},
     * or with a {@code PT_INTERP} segment), as a debugger takes the program it is given.
     *
     * @param path the executable's path as the process saw it, which may be relative
     * @return the file, or null if it is not found
     */
    public Path locateExecutable(String path) {
        Path found = locate(path);
        if (found != null) {
            return found;
        }
        for (Path given : givenFiles) {
            try (Arena probe = Arena.ofConfined()) {
                ElfFile elf = ElfFile.open(given, probe);
                boolean interpreted = elf.programHeaders().stream()
                        .anyMatch(header -> header.type() == ElfFile.PT_INTERP);
                if (elf.type() == ElfFile.ET_EXEC || interpreted) {
                    return given;
                }
            } catch (ElfException e) {
                // not an ELF file: not the executable
            }
        }
        return null;
    }

    /** Maps a file into this object's arena, where the modules it loads keep their files. */
    ElfFile open(Path file) throws ElfException {
        return ElfFile.open(file, arena);
    }

    /**
     * Opens a module's file, checks its build-id against the one the process had, and reads its
     * symbols and those of its debug file and MiniDebugInfo.
     *
     * @param path the path as the process saw it
     * @param base the first address the module spans
     * @param end the address after the last one it spans
     * @param placement how to get the module's load bias from its file
     * @param expectedBuildId the build-id the process's copy had, or null if unknown
     * @return the module; {@link Module.Symbols#MISSING} if its file is not found or unreadable,
     *     {@link Module.Symbols#MISMATCH} if the file found is another build
     */
    public Module load(String path, long base, long end, Placement placement, byte[] expectedBuildId) {
        return load(path, locate(path), base, end, placement, expectedBuildId);
    }

    /**
     * Opens a module's file found already, such as by {@link #locateExecutable(String)}, and reads
     * its symbols as {@link #load(String, long, long, Placement, byte[])} does.
     *
     * @param path the path as the process saw it
     * @param file where the file is on this machine, or null if it was not found
     * @param base the first address the module spans
     * @param end the address after the last one it spans
     * @param placement how to get the module's load bias from its file
     * @param expectedBuildId the build-id the process's copy had, or null if unknown
     * @return the module
     */
    public Module load(String path, Path file, long base, long end, Placement placement, byte[] expectedBuildId) {
        if (file == null) {
            return new Module(path, base, end, placement.biasWithoutFile(), expectedBuildId, null, null,
                    Module.Symbols.MISSING, "not found" + (sysroot == null ? "" : " under the sysroot " + sysroot),
                    SymbolTable.EMPTY);
        }
        ElfFile elf;
        try {
            elf = ElfFile.open(file, arena);
        } catch (ElfException e) {
            return new Module(path, base, end, placement.biasWithoutFile(), expectedBuildId, file, null,
                    Module.Symbols.MISSING, e.getMessage(), SymbolTable.EMPTY);
        }
        return load(path, elf, file, base, end, placement, expectedBuildId);
    }

    /**
     * Reads a module's symbols from an ELF file already open, such as a vDSO copied out of a core.
     *
     * @param path the path as the process saw it
     * @param elf the module's file
     * @param file where the file is on this machine, or null if it is not a file
     * @param base the first address the module spans
     * @param end the address after the last one it spans
     * @param placement how to get the module's load bias from its file
     * @param expectedBuildId the build-id the process's copy had, or null if unknown
     * @return the module
     */
    public Module load(String path, ElfFile elf, Path file, long base, long end, Placement placement,
                       byte[] expectedBuildId) {
        long bias;
        byte[] buildId;
        try {
            bias = placement.bias(elf);
            buildId = elf.buildId();
        } catch (ElfException e) {
            return new Module(path, base, end, placement.biasWithoutFile(), expectedBuildId, file, null,
                    Module.Symbols.MISSING, e.getMessage(), SymbolTable.EMPTY);
        }
        if (expectedBuildId != null && !Arrays.equals(expectedBuildId, buildId)) {
            String found = buildId == null ? "none" : HexFormat.of().formatHex(buildId);
            return new Module(path, base, end, bias, expectedBuildId, file, null, Module.Symbols.MISMATCH,
                    String.format("%s has build-id %s, the process had %s", file == null ? path : file, found,
                            HexFormat.of().formatHex(expectedBuildId)),
                    SymbolTable.EMPTY);
        }
        List<ElfFile> sources = new ArrayList<>();
        sources.add(elf);
        Path debugFile = null;
        ElfFile debugElf = null;
        String problem = null;
        try {
            debugFile = debugFile(elf, file, buildId);
            if (debugFile != null) {
                debugElf = ElfFile.open(debugFile, arena);
                sources.add(debugElf);
            }
        } catch (ElfException e) {
            problem = e.getMessage();
            debugFile = null;
        }
        try {
            ElfFile mini = miniDebugInfo(elf);
            if (mini != null) {
                sources.add(mini);
            }
        } catch (ElfException e) {
            problem = e.getMessage();
        }
        SymbolTable symbols;
        try {
            symbols = SymbolTable.read(sources, bias, demangler);
        } catch (ElfException e) {
            // The debug file's or MiniDebugInfo's tables may be the broken ones: fall back to the file's own.
            problem = e.getMessage();
            try {
                symbols = SymbolTable.read(elf, bias, demangler);
            } catch (ElfException again) {
                return new Module(path, base, end, bias, buildId, file, null, Module.Symbols.MISSING, again.getMessage(),
                        SymbolTable.EMPTY);
            }
            debugFile = null;
            debugElf = null;
        }
        if (symbols.size() == 0 && problem == null) {
            problem = elf.name() + ": has no function symbols in .symtab or .dynsym";
        }
        return new Module(path, base, end, bias, buildId == null ? expectedBuildId : buildId, file, debugFile,
                Module.Symbols.LOADED, problem, symbols, elf, debugElf);
    }

    /**
     * The separate debug file of {@code elf}: by build-id under each debug directory
     * ({@code .build-id/xx/rest.debug}), else by {@code .gnu_debuglink} next to the file, in its
     * {@code .debug} directory and under each debug directory, with the link's CRC-32 checked.
     *
     * @return the debug file, or null if there is none
     */
    private Path debugFile(ElfFile elf, Path file, byte[] buildId) throws ElfException {
        List<Path> directories = new ArrayList<>();
        for (Path directory : debugDirectories) {
            if (sysroot != null && directory.isAbsolute()) {
                directories.add(sysroot.resolve(directory.toString().substring(1)));
            }
            directories.add(directory);
        }
        if (buildId != null && buildId.length >= 2) {
            String hex = HexFormat.of().formatHex(buildId);
            for (Path directory : directories) {
                Path candidate = directory.resolve(".build-id").resolve(hex.substring(0, 2)).resolve(hex.substring(2) + ".debug");
                if (Files.isRegularFile(candidate) && !candidate.equals(file)) {
                    return candidate;
                }
            }
        }
        ElfFile.SectionHeader link = elf.section(".gnu_debuglink");
        if (link == null || file == null) {
            return null;
        }
        MemorySegment bytes = elf.sectionBytes(link);
        int nameLength = 0;
        while (nameLength < bytes.byteSize() && bytes.get(ValueLayout.JAVA_BYTE, nameLength) != 0) {
            nameLength++;
        }
        long crcAt = (nameLength + 4L) & ~3L;
        if (nameLength == 0 || crcAt + 4 > bytes.byteSize()) {
            throw elf.bad(".gnu_debuglink section of " + bytes.byteSize()
                    + " bytes holds no NUL-terminated name and CRC (expected: a name, padding to 4 bytes, a 4-byte CRC)");
        }
        String name = new String(bytes.asSlice(0, nameLength).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        if (name.contains("/")) {
            throw elf.bad(".gnu_debuglink names '" + name + "' (expected: a file name without a directory)");
        }
        int crc = bytes.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(elf.byteOrder()), crcAt);
        try {
            Path.of(name);
        } catch (java.nio.file.InvalidPathException e) {
            throw elf.bad(".gnu_debuglink names a file that file names cannot spell here (" + e.getMessage() + ")");
        }
        Path fileDirectory = file.toAbsolutePath().getParent();
        List<Path> candidates = new ArrayList<>();
        if (fileDirectory != null) {
            candidates.add(fileDirectory.resolve(name));
            candidates.add(fileDirectory.resolve(".debug").resolve(name));
            String inRoot = fileDirectory.toString();
            if (sysroot != null && fileDirectory.startsWith(sysroot.toAbsolutePath())) {
                inRoot = "/" + sysroot.toAbsolutePath().relativize(fileDirectory);
            }
            for (Path directory : directories) {
                candidates.add(directory.resolve(inRoot.substring(1)).resolve(name));
            }
        }
        for (Path candidate : candidates) {
            if (Files.isRegularFile(candidate) && !candidate.equals(file) && crc32(candidate) == crc) {
                return candidate;
            }
        }
        return null;
    }

    /** The CRC-32 (the zlib polynomial, which .gnu_debuglink uses) of a whole file, or -1 on a read error. */
    private static long crc32(Path file) {
        CRC32 crc = new CRC32();
        byte[] buffer = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                crc.update(buffer, 0, n);
            }
        } catch (IOException e) {
            return -1;
        }
        return (int) crc.getValue();
    }

    /**
     * The ELF file of symbols compressed in {@code .gnu_debugdata} (MiniDebugInfo, as Fedora and
     * others ship it), decompressed into memory, at most 256 MiB.
     *
     * @return the file, or null if there is no such section
     */
    private ElfFile miniDebugInfo(ElfFile elf) throws ElfException {
        ElfFile.SectionHeader section = elf.section(".gnu_debugdata");
        if (section == null) {
            return null;
        }
        byte[] compressed = elf.sectionBytes(section).toArray(ValueLayout.JAVA_BYTE);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = new XZInputStream(new java.io.ByteArrayInputStream(compressed), 64 << 10)) {
            byte[] buffer = new byte[1 << 16];
            int n;
            while ((n = in.read(buffer)) > 0) {
                out.write(buffer, 0, n);
                if (out.size() > MAX_MINI_DEBUG_INFO) {
                    throw elf.bad(".gnu_debugdata decompresses to more than 256 MiB");
                }
            }
        } catch (IOException | RuntimeException e) {
            throw elf.bad(".gnu_debugdata is not valid xz data (" + e.getMessage() + ")");
        }
        byte[] bytes = out.toByteArray();
        MemorySegment copy = arena.allocate(Math.max(bytes.length, 1));
        MemorySegment.copy(bytes, 0, copy, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return ElfFile.of(elf.name() + " (.gnu_debugdata)", copy.asSlice(0, bytes.length));
    }

    /**
     * How a module's load bias follows from its file: for a core's {@code NT_FILE} mapping or a
     * live process's map, from where the file's first bytes were mapped; for the dynamic loader's
     * list, given outright ({@code l_addr}).
     */
    public sealed interface Placement {
        /**
         * The bias, from the module's file.
         *
         * @param elf the module's file
         * @return what to add to its link-time addresses
         * @throws ElfException if the file has no segment that the placement can use
         */
        long bias(ElfFile elf) throws ElfException;

        /**
         * The bias when the file is not found, as far as it is known.
         *
         * @return the bias, or 0 if it cannot be known without the file
         */
        long biasWithoutFile();

        /**
         * The bias is known.
         *
         * @param bias the bias
         * @return the placement
         */
        static Placement bias(long bias) {
            return new Known(bias);
        }

        /**
         * The bytes at {@code fileOffset} of the file were mapped at {@code address}: the bias is
         * {@code address} minus the link-time address of those bytes, by the file's
         * {@code PT_LOAD} segment that holds them.
         *
         * @param address the run-time address of the mapping
         * @param fileOffset the file offset of its first byte
         * @return the placement
         */
        static Placement mapped(long address, long fileOffset) {
            return new Mapped(address, fileOffset);
        }
    }

    private record Known(long value) implements Placement {
        @Override
        public long bias(ElfFile elf) {
            return value;
        }

        @Override
        public long biasWithoutFile() {
            return value;
        }
    }

    private record Mapped(long address, long fileOffset) implements Placement {
        @Override
        public long bias(ElfFile elf) throws ElfException {
            for (ElfFile.ProgramHeader header : elf.programHeaders()) {
                if (header.type() != ElfFile.PT_LOAD) {
                    continue;
                }
                // The byte at fileOffset was mapped at address, and its link-time address is
                // p_vaddr + (fileOffset - p_offset): for the segment that holds it, or that starts
                // less than a page (up to 64 KiB) after it, since mappings start at a page boundary.
                long into = fileOffset - header.offset();
                boolean holds = Long.compareUnsigned(into, header.fileSize()) < 0;
                boolean startsInPage = into <= 0 && -into < 1 << 16;
                if (holds || startsInPage) {
                    return address - (header.vaddr() + into);
                }
            }
            throw elf.bad(String.format("no PT_LOAD segment holds file offset 0x%x, where the process mapped it", fileOffset));
        }

        @Override
        public long biasWithoutFile() {
            return fileOffset == 0 ? address : 0;
        }
    }
}
