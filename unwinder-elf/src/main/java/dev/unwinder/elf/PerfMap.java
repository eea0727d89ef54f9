package dev.unwinder.elf;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * The symbols of JIT code from a perf map file, {@code /tmp/perf-PID.map}, as HotSpot
 * ({@code jcmd PID Compiler.perfmap}), V8 ({@code --perf-basic-prof}) and Wasmtime
 * ({@code --profile=perfmap}) write it, for turning a pc in JIT code into a function's name.
 *
 * <h2>Format</h2>
 * One symbol a line, {@code START SIZE NAME}, and nothing else (no header):
 * <ul>
 * <li>{@code START} and {@code SIZE} are hex numbers of at most 64 bits, with or without a
 *     {@code 0x} prefix: HotSpot writes {@code 0x00007f3a1c0e1a80 0x0000000000000128}, V8 and
 *     Wasmtime {@code 7f3a1c0e1a80 128};
 * <li>the fields are separated by spaces or tabs; {@code NAME} is the rest of the line after them,
 *     spaces and all (HotSpot writes {@code int java.lang.String.hashCode()}), read as UTF-8 (bytes
 *     that are not UTF-8 read as U+FFFD); a {@code '\r'} before the {@code '\n'} is dropped;
 * <li>a symbol covers {@code [START, START + SIZE)}: a {@code SIZE} of 0 covers nothing.
 * </ul>
 * A line that is not of this form is an error, with one exception: a last line without its
 * {@code '\n'} is skipped ({@link #truncatedLastLine()}), since the JIT may be writing it while the
 * file is read.
 *
 * <h2>Overlaps</h2>
 * JITs free code and reuse its addresses, and V8 and Wasmtime only ever append to the file: where
 * entries overlap, the one later in the file is the newer and wins, for the addresses it covers.
 * This is resolved once, when the map is read, into sorted arrays of ranges that do not overlap:
 * {@link #lookup(long)} is a binary search that allocates nothing. Every entry keeps its index,
 * its line's place among the entries of the file; one that later entries cover entirely is never
 * found by {@link #lookup(long)}.
 *
 * <h2>Bounds</h2>
 * The file is read as a stream, never whole, and what it can cost is bounded whatever it holds: at
 * most {@value #MAX_ENTRIES} entries, lines of at most {@value #MAX_LINE_LENGTH} bytes, and names
 * of at most {@value #MAX_NAME_BYTES} bytes in all; beside the names' bytes, the map costs a few
 * dozen bytes an entry. A file past a bound is an error, not cut short. {@code START + SIZE} may
 * be at most 2<sup>64</sup> - 1, as a range's end is kept as an address: an entry that runs past
 * it is an error.
 *
 * <h2>Modules</h2>
 * The map's symbols span {@code [lowest(), highest())}: a {@link Module} for them has
 * {@link #path()} for its path, those bounds for its base and end, and a bias of 0.
 *
 * <p>Immutable once read, and safe to share between threads. A name is decoded on first use, then
 * kept.
 */
public final class PerfMap implements SymbolLookup {
    /** The most entries a map may hold: ten million. */
    public static final int MAX_ENTRIES = 10_000_000;
    /** The most bytes a line may hold, without its {@code '\n'}: 64 KiB. */
    public static final int MAX_LINE_LENGTH = 65_536;
    /** The most bytes the names of a map's entries may hold in all: 1 GiB. */
    public static final long MAX_NAME_BYTES = 1L << 30;

    /**
     * Names are kept in chunks of this many bytes: none is huge, and none is a humongous object to
     * G1 (half a region or more; regions are at least 1 MiB).
     */
    private static final int CHUNK_BITS = 18;
    private static final int CHUNK_SIZE = 1 << CHUNK_BITS;
    private static final int MAX_SHOWN = 60;
    private static final String EXPECTED = "expected START SIZE NAME with hex numbers";
    /** The value of each hex digit, by byte; -1 for other bytes. */
    private static final byte[] HEX = new byte[256];

    static {
        Arrays.fill(HEX, (byte) -1);
        for (int i = 0; i < 16; i++) {
            HEX["0123456789abcdef".charAt(i)] = (byte) i;
            HEX["0123456789ABCDEF".charAt(i)] = (byte) i;
        }
    }

    private final String path;
    private final long[] entryStarts;
    private final long[] entrySizes;
    /**
     * Where each entry's name is: chunk index in the high bits, offset in the low
     * {@link #CHUNK_BITS}. Every chunk but the last holds more than CHUNK_SIZE - MAX_LINE_LENGTH
     * bytes of names, so MAX_NAME_BYTES needs fewer than 2<sup>13</sup> chunks: the reference fits
     * in 31 bits.
     */
    private final int[] nameRefs;
    private final int[] nameLengths;
    private final byte[][] nameChunks;
    private final String[] names;
    private final boolean truncatedLastLine;
    /** The ranges, by address, that do not overlap: each is covered by the entry {@code winners[i]}. */
    private final long[] rangeStarts;
    private final long[] rangeEnds;
    private final int[] winners;

    private PerfMap(String path, long[] entryStarts, long[] entrySizes, int[] nameRefs, int[] nameLengths,
                    byte[][] nameChunks, boolean truncatedLastLine, long[] rangeStarts, long[] rangeEnds, int[] winners) {
        this.path = path;
        this.entryStarts = entryStarts;
        this.entrySizes = entrySizes;
        this.nameRefs = nameRefs;
        this.nameLengths = nameLengths;
        this.nameChunks = nameChunks;
        this.names = new String[entryStarts.length];
        this.truncatedLastLine = truncatedLastLine;
        this.rangeStarts = rangeStarts;
        this.rangeEnds = rangeEnds;
        this.winners = winners;
    }

    /**
     * Reads a perf map file, as a stream.
     *
     * @param file the file, such as {@code /tmp/perf-4242.map}
     * @return the map
     * @throws ElfException if the file is missing, unreadable or not a regular file, if a line is
     *     malformed, or if the file is past one of the bounds; the message starts with the file's
     *     name and gives the line's number
     */
    public static PerfMap read(Path file) throws ElfException {
        Objects.requireNonNull(file, "file");
        if (Files.isDirectory(file)) {
            throw new ElfException(file + ": is a directory (expected: a perf map file)");
        }
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            // A pipe would wait for a writer that may never come.
            throw new ElfException(file + ": is not a regular file, but a device, pipe or socket (expected: a perf map file)");
        }
        try (InputStream in = Files.newInputStream(file)) {
            return read(file.toString(), in, MAX_ENTRIES, MAX_LINE_LENGTH, MAX_NAME_BYTES);
        } catch (ElfException e) {
            throw e;
        } catch (NoSuchFileException e) {
            throw new ElfException(file + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new ElfException(file + ": permission denied", e);
        } catch (IOException e) {
            throw new ElfException(file + ": cannot be read (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Reads a perf map from bytes in memory.
     *
     * @param name the map's name in messages, and its {@link #path()}
     * @param content the bytes of a perf map file
     * @return the map
     * @throws ElfException if a line is malformed or the bytes are past one of the bounds
     */
    public static PerfMap parse(String name, byte[] content) throws ElfException {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(content, "content");
        Builder builder = new Builder(name, MAX_ENTRIES, MAX_LINE_LENGTH, MAX_NAME_BYTES);
        builder.accept(content, 0, content.length);
        return builder.build();
    }

    /** Reads a map from a stream, with the given bounds; for tests of the bounds. */
    static PerfMap read(String name, InputStream in, int maxEntries, int maxLineLength, long maxNameBytes)
            throws IOException {
        Builder builder = new Builder(name, maxEntries, maxLineLength, maxNameBytes);
        byte[] buffer = new byte[64 * 1024];
        int n;
        while ((n = in.read(buffer)) != -1) {
            builder.accept(buffer, 0, n);
        }
        return builder.build();
    }

    /** Splits bytes into lines, parses each, and resolves overlaps once at the end. */
    private static final class Builder {
        private final String name;
        private final int maxEntries;
        private final int maxLineLength;
        private final long maxNameBytes;
        /** The part of the current line that came in earlier chunks of input. */
        private byte[] pending = new byte[256];
        private int pendingLength;
        private long lineNumber = 1;
        private long[] starts = new long[256];
        private long[] sizes = new long[256];
        private int[] nameRefs = new int[256];
        private int[] nameLengths = new int[256];
        private int count;
        private byte[][] chunks = new byte[8][];
        private int chunkCount;
        private int chunkUsed;
        private long nameBytes;

        Builder(String name, int maxEntries, int maxLineLength, long maxNameBytes) {
            this.name = name;
            this.maxEntries = maxEntries;
            this.maxLineLength = maxLineLength;
            this.maxNameBytes = maxNameBytes;
        }

        void accept(byte[] bytes, int offset, int length) throws ElfException {
            int at = offset;
            int end = offset + length;
            while (at < end) {
                int newline = at;
                while (newline < end && bytes[newline] != '\n') {
                    newline++;
                }
                int piece = newline - at;
                if ((long) pendingLength + piece > maxLineLength) {
                    throw new ElfException(String.format("%s: line %d is longer than %d bytes (expected: at most %d bytes a line)",
                            name, lineNumber, maxLineLength, maxLineLength));
                }
                if (newline == end) {
                    append(bytes, at, piece);
                    return;
                }
                if (pendingLength == 0) {
                    line(bytes, at, newline);
                } else {
                    append(bytes, at, piece);
                    line(pending, 0, pendingLength);
                    pendingLength = 0;
                }
                lineNumber++;
                at = newline + 1;
            }
        }

        private void append(byte[] bytes, int from, int length) {
            if (pendingLength + length > pending.length) {
                pending = Arrays.copyOf(pending, Math.max(pendingLength + length, pending.length * 2));
            }
            System.arraycopy(bytes, from, pending, pendingLength, length);
            pendingLength += length;
        }

        /** Parses the line {@code bytes[from, to)}, without its {@code '\n'}. */
        private void line(byte[] bytes, int from, int to) throws ElfException {
            if (to > from && bytes[to - 1] == '\r') {
                to--;
            }
            int at = from;
            long start = 0;
            long size = 0;
            for (int field = 0; field < 2; field++) {
                if (to - at >= 2 && bytes[at] == '0' && (bytes[at + 1] | 0x20) == 'x') {
                    at += 2;
                }
                long value = 0;
                int digits = 0;
                int digit;
                while (at < to && (digit = HEX[bytes[at] & 0xff]) >= 0) {
                    if (value >>> 60 != 0) {
                        throw bad(bytes, from, to, (field == 0 ? "START" : "SIZE") + " does not fit in 64 bits");
                    }
                    value = value << 4 | digit;
                    digits++;
                    at++;
                }
                if (digits == 0 || at == to || (bytes[at] != ' ' && bytes[at] != '\t')) {
                    throw bad(bytes, from, to, EXPECTED);
                }
                while (at < to && (bytes[at] == ' ' || bytes[at] == '\t')) {
                    at++;
                }
                if (field == 0) {
                    start = value;
                } else {
                    size = value;
                }
            }
            if (at == to) {
                throw bad(bytes, from, to, EXPECTED);
            }
            if (Long.compareUnsigned(start + size, start) < 0) {
                throw bad(bytes, from, to, String.format("START 0x%x + SIZE 0x%x runs past the end of the address space",
                        start, size));
            }
            if (count == maxEntries) {
                throw new ElfException(String.format("%s: line %d: more than %d entries (expected: at most %d)",
                        name, lineNumber, maxEntries, maxEntries));
            }
            int length = to - at;
            if (nameBytes + length > maxNameBytes) {
                throw new ElfException(String.format("%s: line %d: the names hold more than %d bytes in all (expected: at most %d)",
                        name, lineNumber, maxNameBytes, maxNameBytes));
            }
            if (count == starts.length) {
                int grown = (int) Math.min((long) count * 2, maxEntries);
                starts = Arrays.copyOf(starts, grown);
                sizes = Arrays.copyOf(sizes, grown);
                nameRefs = Arrays.copyOf(nameRefs, grown);
                nameLengths = Arrays.copyOf(nameLengths, grown);
            }
            starts[count] = start;
            sizes[count] = size;
            nameRefs[count] = storeName(bytes, at, length);
            nameLengths[count] = length;
            nameBytes += length;
            count++;
        }

        /** Copies a name into the chunks; returns where it is. */
        private int storeName(byte[] bytes, int from, int length) {
            byte[] chunk = chunkCount == 0 ? null : chunks[chunkCount - 1];
            if (chunk == null || chunkUsed + length > CHUNK_SIZE) {
                if (chunkCount == chunks.length) {
                    chunks = Arrays.copyOf(chunks, chunkCount * 2);
                }
                // The first chunk starts small, for a small map; the rest start full-size.
                chunk = new byte[Math.max(chunkCount == 0 ? 4096 : CHUNK_SIZE, length)];
                chunks[chunkCount++] = chunk;
                chunkUsed = 0;
            } else if (chunkUsed + length > chunk.length) {
                // The newest chunk grows by doubling up to CHUNK_SIZE: a small map costs little.
                chunk = Arrays.copyOf(chunk, Math.min(CHUNK_SIZE, Math.max(chunkUsed + length, chunk.length * 2)));
                chunks[chunkCount - 1] = chunk;
            }
            System.arraycopy(bytes, from, chunk, chunkUsed, length);
            int ref = (chunkCount - 1) << CHUNK_BITS | chunkUsed;
            chunkUsed += length;
            return ref;
        }

        private ElfException bad(byte[] bytes, int from, int to, String problem) {
            StringBuilder shown = new StringBuilder();
            for (int i = from; i < to && i - from < MAX_SHOWN; i++) {
                int b = bytes[i] & 0xff;
                if (b < 0x20 || b >= 0x7f || b == '"' || b == '\\') {
                    shown.append(String.format("\\x%02x", b));
                } else {
                    shown.append((char) b);
                }
            }
            return new ElfException(String.format("%s: line %d: %s (got \"%s\"%s)", name, lineNumber, problem, shown,
                    to - from > MAX_SHOWN ? "..." : ""));
        }

        PerfMap build() {
            boolean truncated = pendingLength > 0;
            pending = null;
            if (chunkCount > 0) {
                chunks[chunkCount - 1] = Arrays.copyOf(chunks[chunkCount - 1], chunkUsed);
            }
            long[] finalStarts = Arrays.copyOf(starts, count);
            long[] finalSizes = Arrays.copyOf(sizes, count);
            Ranges ranges = Ranges.resolve(finalStarts, finalSizes);
            return new PerfMap(name, finalStarts, finalSizes, Arrays.copyOf(nameRefs, count),
                    Arrays.copyOf(nameLengths, count), Arrays.copyOf(chunks, chunkCount), truncated,
                    ranges.starts, ranges.ends, ranges.winners);
        }
    }

    /**
     * Sorted ranges that do not overlap, each with the entry that covers it: a sweep over the
     * entries' starts and ends by address, with a heap of the entries open at each address; the
     * open entry latest in the file wins. O(n log n), in primitive arrays.
     */
    private static final class Ranges {
        private long[] starts;
        private long[] ends;
        private int[] winners;
        private int count;

        private Ranges(int capacity) {
            starts = new long[capacity];
            ends = new long[capacity];
            winners = new int[capacity];
        }

        static Ranges resolve(long[] entryStarts, long[] entrySizes) {
            int n = 0;
            for (long size : entrySizes) {
                if (size != 0) {
                    n++;
                }
            }
            // The starts, with their entries, and the ends alone, each sorted by address.
            long[] starts = new long[n];
            int[] byStart = new int[n];
            long[] ends = new long[n];
            for (int i = 0, k = 0; i < entryStarts.length; i++) {
                if (entrySizes[i] != 0) {
                    starts[k] = entryStarts[i];
                    byStart[k] = i;
                    ends[k] = (entryStarts[i] + entrySizes[i]) ^ Long.MIN_VALUE;
                    k++;
                }
            }
            sort(starts, byStart);
            Arrays.sort(ends); // unsigned order, as the sign bits are flipped
            for (int i = 0; i < n; i++) {
                ends[i] ^= Long.MIN_VALUE;
            }
            Ranges ranges = new Ranges(Math.max(16, n));
            int[] heap = new int[n];
            int heapSize = 0;
            int nextStart = 0;
            int nextEnd = 0;
            long at = 0;
            while (nextStart < n || heapSize > 0) {
                if (heapSize == 0) {
                    at = starts[nextStart];
                }
                while (nextStart < n && starts[nextStart] == at) {
                    int entry = byStart[nextStart++];
                    // An entry that the heap's top outlasts, and outranks, can never win: leave it out.
                    if (heapSize == 0 || heap[0] < entry || Long.compareUnsigned(entryStarts[heap[0]] + entrySizes[heap[0]],
                            entryStarts[entry] + entrySizes[entry]) < 0) {
                        heapSize = push(heap, heapSize, entry);
                    }
                }
                // Entries that ended at or before here leave the heap once they reach its top.
                while (heapSize > 0 && Long.compareUnsigned(entryStarts[heap[0]] + entrySizes[heap[0]], at) <= 0) {
                    heapSize = pop(heap, heapSize);
                }
                if (heapSize == 0) {
                    continue;
                }
                while (Long.compareUnsigned(ends[nextEnd], at) <= 0) {
                    nextEnd++; // the heap's top ends past here, so this stops inside ends
                }
                long next = ends[nextEnd];
                if (nextStart < n && Long.compareUnsigned(starts[nextStart], next) < 0) {
                    next = starts[nextStart];
                }
                ranges.add(at, next, heap[0]);
                at = next;
            }
            ranges.trim();
            return ranges;
        }

        private void add(long start, long end, int winner) {
            if (count > 0 && ends[count - 1] == start && winners[count - 1] == winner) {
                ends[count - 1] = end;
                return;
            }
            if (count == starts.length) {
                int grown = count * 2;
                starts = Arrays.copyOf(starts, grown);
                ends = Arrays.copyOf(ends, grown);
                winners = Arrays.copyOf(winners, grown);
            }
            starts[count] = start;
            ends[count] = end;
            winners[count] = winner;
            count++;
        }

        private void trim() {
            starts = Arrays.copyOf(starts, count);
            ends = Arrays.copyOf(ends, count);
            winners = Arrays.copyOf(winners, count);
        }

        /** Pushes an entry onto a max-heap of entry indexes; returns the new size. */
        private static int push(int[] heap, int size, int entry) {
            int at = size;
            while (at > 0) {
                int parent = (at - 1) >>> 1;
                if (heap[parent] >= entry) {
                    break;
                }
                heap[at] = heap[parent];
                at = parent;
            }
            heap[at] = entry;
            return size + 1;
        }

        /** Removes the top of a max-heap of entry indexes; returns the new size. */
        private static int pop(int[] heap, int size) {
            int last = heap[--size];
            int at = 0;
            while (true) {
                int child = 2 * at + 1;
                if (child >= size) {
                    break;
                }
                if (child + 1 < size && heap[child + 1] > heap[child]) {
                    child++;
                }
                if (heap[child] <= last) {
                    break;
                }
                heap[at] = heap[child];
                at = child;
            }
            if (size > 0) {
                heap[at] = last;
            }
            return size;
        }

        /**
         * Sorts unsigned keys, and their entries with them: an LSD radix sort of 16 bits a pass,
         * which skips a pass whose digit is the same in every key (the top bits of user-space
         * addresses); an insertion sort for a few keys.
         */
        private static void sort(long[] keys, int[] entries) {
            int n = keys.length;
            if (n <= 64) {
                for (int i = 1; i < n; i++) {
                    long key = keys[i];
                    int entry = entries[i];
                    int j = i - 1;
                    while (j >= 0 && Long.compareUnsigned(keys[j], key) > 0) {
                        keys[j + 1] = keys[j];
                        entries[j + 1] = entries[j];
                        j--;
                    }
                    keys[j + 1] = key;
                    entries[j + 1] = entry;
                }
                return;
            }
            int[][] counts = new int[4][1 << 16];
            for (long key : keys) {
                for (int digit = 0; digit < 4; digit++) {
                    counts[digit][(int) (key >>> (16 * digit)) & 0xffff]++;
                }
            }
            long[] fromKeys = keys;
            int[] fromEntries = entries;
            long[] toKeys = null;
            int[] toEntries = null;
            for (int digit = 0; digit < 4; digit++) {
                int[] count = counts[digit];
                int shift = 16 * digit;
                if (count[(int) (keys[0] >>> shift) & 0xffff] == n) {
                    continue;
                }
                if (toKeys == null) {
                    toKeys = new long[n];
                    toEntries = new int[n];
                }
                int position = 0;
                for (int bucket = 0; bucket < count.length; bucket++) {
                    int c = count[bucket];
                    count[bucket] = position;
                    position += c;
                }
                for (int i = 0; i < n; i++) {
                    int bucket = (int) (fromKeys[i] >>> shift) & 0xffff;
                    int to = count[bucket]++;
                    toKeys[to] = fromKeys[i];
                    toEntries[to] = fromEntries[i];
                }
                long[] swapKeys = fromKeys;
                fromKeys = toKeys;
                toKeys = swapKeys;
                int[] swapEntries = fromEntries;
                fromEntries = toEntries;
                toEntries = swapEntries;
            }
            if (fromKeys != keys) {
                System.arraycopy(fromKeys, 0, keys, 0, n);
                System.arraycopy(fromEntries, 0, entries, 0, n);
            }
        }
    }

    /**
     * The entry that covers {@code address}: of those that cover it, the latest in the file.
     * Allocates nothing.
     *
     * @param address an unsigned address
     * @return the entry's index, or -1 if no entry covers the address
     */
    @Override
    public int lookup(long address) {
        int low = 0;
        int high = rangeStarts.length - 1;
        int found = -1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            if (Long.compareUnsigned(rangeStarts[mid], address) <= 0) {
                found = mid;
                low = mid + 1;
            } else {
                high = mid - 1;
            }
        }
        return found >= 0 && Long.compareUnsigned(address, rangeEnds[found]) < 0 ? winners[found] : -1;
    }

    /**
     * How many entries the map holds: one a line, including those of size 0 and those that later
     * entries cover entirely.
     *
     * @return the count
     */
    @Override
    public int size() {
        return entryStarts.length;
    }

    /**
     * An entry's start address, as its line gives it.
     *
     * @param index an index from {@link #lookup(long)}, or from 0 to {@code size() - 1} in file order
     * @return its start
     */
    @Override
    public long start(int index) {
        return entryStarts[index];
    }

    /**
     * An entry's size, as its line gives it.
     *
     * @param index an index from {@link #lookup(long)}, or from 0 to {@code size() - 1} in file order
     * @return its size in bytes
     */
    @Override
    public long size(int index) {
        return entrySizes[index];
    }

    /**
     * An entry's name. Decoded from UTF-8 on first use, then kept.
     *
     * @param index an index from {@link #lookup(long)}, or from 0 to {@code size() - 1} in file order
     * @return its name, such as {@code "int java.lang.String.hashCode()"}
     */
    @Override
    public String name(int index) {
        String name = names[index];
        if (name == null) {
            int ref = nameRefs[index];
            name = new String(nameChunks[ref >>> CHUNK_BITS], ref & (CHUNK_SIZE - 1), nameLengths[index],
                    StandardCharsets.UTF_8);
            names[index] = name;
        }
        return name;
    }

    /**
     * This map as a module: its file's path, spanning {@link #lowest()} to {@link #highest()}, its
     * symbols at the addresses the file gives (bias 0).
     *
     * @return the module
     */
    public Module module() {
        return new Module(path(), lowest(), highest(), 0, null, null, null, Module.Symbols.LOADED, null, this);
    }

    /**
     * The lowest address an entry covers: the base of a {@link Module} for the map.
     *
     * @return the address, or 0 if no entry covers any
     */
    public long lowest() {
        return rangeStarts.length == 0 ? 0 : rangeStarts[0];
    }

    /**
     * The address after the highest address an entry covers: the end of a {@link Module} for the
     * map, which spans {@code [lowest(), highest())}.
     *
     * @return the address, or 0 if no entry covers any
     */
    public long highest() {
        return rangeEnds.length == 0 ? 0 : rangeEnds[rangeEnds.length - 1];
    }

    /**
     * The map's file, as it was named to {@link #read(Path)}, or the name given to
     * {@link #parse(String, byte[])}: the path of a {@link Module} for the map.
     *
     * @return the path, such as {@code "/tmp/perf-4242.map"}
     */
    public String path() {
        return path;
    }

    /**
     * Whether the last line had no {@code '\n'} and was skipped, as a JIT may be writing it.
     *
     * @return whether a last line was skipped
     */
    public boolean truncatedLastLine() {
        return truncatedLastLine;
    }

    @Override
    public String toString() {
        return String.format("%s: %d entries spanning [0x%x, 0x%x)", path, entryStarts.length, lowest(), highest());
    }
}
