package dev.unwinder.elf;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The memory mappings of a live Linux process, from {@code /proc/PID/maps}: which file, if any,
 * backs each range of its addresses, for finding the modules of a live process.
 *
 * <p>Each line of the file is {@code START-END PERMS OFFSET DEV INODE PATH}, as the kernel writes
 * it, for example
 * <pre>
 * 7f3a1c000000-7f3a1c028000 r--p 00000000 fd:01 1835017                    /usr/lib/x86_64-linux-gnu/libc.so.6
 * 7ffd2b3c1000-7ffd2b3e2000 rw-p 00000000 00:00 0                          [stack]
 * </pre>
 * {@code START}, {@code END} and {@code OFFSET} are hex, {@code DEV} is {@code MAJOR:MINOR} in hex,
 * {@code INODE} is decimal, and the fields are separated by one space. {@code PATH} follows after
 * spaces that align it, and may be absent (anonymous memory), a pseudo-path such as
 * {@code [heap]}, {@code [stack]}, {@code [vdso]}, {@code [vvar]} or {@code [anon:NAME]}, or a
 * file's path, which may contain spaces and ends in {@code " (deleted)"} if the file was unlinked
 * after it was mapped. A line that is not of this form is an error.
 *
 * <p>The kernel writes a newline in a path as {@code \012}: paths are kept as the kernel wrote them.
 */
public final class ProcessMaps {
    private static final String DELETED = " (deleted)";
    private static final String LINE_FORM = "START-END PERMS OFFSET DEV INODE [PATH]";
    private static final int MAX_SHOWN = 60;

    private ProcessMaps() {}

    /**
     * One mapping: a range of a process's addresses, and what backs it.
     *
     * @param start the first address it spans
     * @param end the address after the last one it spans
     * @param permissions four characters, {@code r} or {@code -}, {@code w} or {@code -}, {@code x}
     *     or {@code -}, then {@code p} (private) or {@code s} (shared), such as {@code "r-xp"}
     * @param offset the offset in the file of the mapping's first byte; 0 if no file backs it
     * @param device the device of the file, {@code MAJOR:MINOR} in hex as the kernel writes it, such
     *     as {@code "fd:01"}; {@code "00:00"} if no file backs it
     * @param inode the inode of the file; 0 if no file backs it
     * @param path the file's path, without the {@code " (deleted)"} the kernel adds to a file that
     *     was unlinked; a pseudo-path such as {@code "[heap]"}; or {@code ""} for anonymous memory
     * @param deleted whether the kernel wrote {@code " (deleted)"} after the path: the file was
     *     unlinked, and what is at {@code path} now, if anything, is another file (a file whose name
     *     itself ends in {@code " (deleted)"} reads the same)
     */
    public record Mapping(long start, long end, String permissions, long offset, String device, long inode, String path,
                          boolean deleted) {

        /**
         * Checks the components.
         *
         * @param start the first address it spans
         * @param end the address after the last one it spans
         * @param permissions such as {@code "r-xp"}
         * @param offset the offset in the file
         * @param device {@code MAJOR:MINOR} in hex
         * @param inode the inode of the file
         * @param path the file's path, a pseudo-path, or {@code ""}
         * @param deleted whether the file was unlinked
         * @throws IllegalArgumentException if {@code end} is not above {@code start}, unsigned
         * @throws NullPointerException if a string is null
         */
        public Mapping {
            Objects.requireNonNull(permissions, "permissions");
            Objects.requireNonNull(device, "device");
            Objects.requireNonNull(path, "path");
            if (Long.compareUnsigned(start, end) >= 0) {
                throw new IllegalArgumentException(String.format("end: 0x%x (expected: above start 0x%x)", end, start));
            }
        }

        /**
         * Whether it spans an address.
         *
         * @param address an unsigned address
         * @return whether {@code start <= address < end}
         */
        public boolean contains(long address) {
            return Long.compareUnsigned(address - start, end - start) < 0;
        }

        /**
         * Whether its code may be run: its permissions have an {@code x}.
         *
         * @return whether it is executable
         */
        public boolean executable() {
            return permissions.length() > 2 && permissions.charAt(2) == 'x';
        }

        /**
         * Whether no file backs it, and it has no pseudo-path either.
         *
         * @return whether its path is {@code ""}
         */
        public boolean anonymous() {
            return path.isEmpty();
        }

        /**
         * The line as the kernel writes it, but for the padding before the path.
         *
         * @return the line, without a newline
         */
        @Override
        public String toString() {
            String name = path + (deleted ? DELETED : "");
            return String.format("%x-%x %s %08x %s %s%s", start, end, permissions, offset, device,
                    Long.toUnsignedString(inode), name.isEmpty() ? "" : " " + name);
        }
    }

    /**
     * The mappings of this process, from {@code /proc/self/maps}.
     *
     * @return the mappings, by address
     * @throws ElfException if the file cannot be read (not Linux, or {@code /proc} not mounted) or
     *     a line is malformed
     */
    public static List<Mapping> self() throws ElfException {
        Path file = Path.of("/proc/self/maps");
        try {
            return parse(file.toString(), new String(Files.readAllBytes(file), StandardCharsets.UTF_8));
        } catch (ElfException e) {
            throw e;
        } catch (NoSuchFileException e) {
            throw new ElfException(file + ": no such file (expected: Linux, with /proc mounted)", e);
        } catch (IOException e) {
            throw new ElfException(file + ": cannot be read (" + e.getMessage() + ")", e);
        }
    }

    /**
     * The mappings of a process, from {@code /proc/PID/maps}. A process that has exited but not yet
     * been reaped, or a kernel thread, has none.
     *
     * @param pid the process's id, such as {@code ProcessHandle.current().pid()} or
     *     {@code process.pid()}
     * @return the mappings, by address
     * @throws ElfException if there is no such process, if reading its maps is not permitted (it
     *     takes the same user, or {@code CAP_SYS_PTRACE}), or if a line is malformed
     * @throws IllegalArgumentException if {@code pid} is not 1 or more
     */
    public static List<Mapping> read(long pid) throws ElfException {
        if (pid < 1) {
            throw new IllegalArgumentException("pid: " + pid + " (expected: 1 or more; self() reads this process)");
        }
        Path file = Path.of("/proc", Long.toString(pid), "maps");
        try {
            return parse(file.toString(), new String(Files.readAllBytes(file), StandardCharsets.UTF_8));
        } catch (ElfException e) {
            throw e;
        } catch (NoSuchFileException e) {
            if (!Files.isDirectory(Path.of("/proc/self"))) {
                throw new ElfException(file + ": no such file (expected: Linux, with /proc mounted)", e);
            }
            throw new ElfException(file + ": no such process (pid " + pid + " has exited, or never existed)", e);
        } catch (AccessDeniedException e) {
            throw new ElfException(file + ": permission denied (reading another user's process takes the same user,"
                    + " or CAP_SYS_PTRACE)", e);
        } catch (IOException e) {
            throw new ElfException(file + ": cannot be read (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Parses the text of a maps file.
     *
     * @param name the file's name in messages, such as {@code "/proc/4242/maps"}
     * @param content the text: lines, each ended by a newline (the last one's may be missing)
     * @return the mappings, in the order of the lines
     * @throws ElfException if a line is malformed; the message starts with {@code name}, gives the
     *     line's number, the field that is wrong and what was expected
     */
    public static List<Mapping> parse(String name, String content) throws ElfException {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(content, "content");
        List<Mapping> mappings = new ArrayList<>();
        int at = 0;
        int number = 1;
        while (at < content.length()) {
            int newline = content.indexOf('\n', at);
            int end = newline < 0 ? content.length() : newline;
            mappings.add(new Line(name, number, content, at, end).parse());
            at = end + 1;
            number++;
        }
        return List.copyOf(mappings);
    }

    /** One line being parsed, left to right. */
    private static final class Line {
        private final String name;
        private final int number;
        private final String text;
        private final int from;
        private final int to;
        private int at;

        Line(String name, int number, String text, int from, int to) {
            this.name = name;
            this.number = number;
            this.text = text;
            this.from = from;
            this.to = to;
            this.at = from;
        }

        Mapping parse() throws ElfException {
            long start = hex("START", '-', "a hex address");
            long end = hex("END", ' ', "a hex address");
            if (Long.compareUnsigned(start, end) >= 0) {
                throw bad(String.format("START-END: %x-%x is empty or reversed (expected: START below END)", start, end));
            }
            String permissions = field("PERMS", ' ');
            if (!validPermissions(permissions)) {
                throw bad("PERMS: \"" + shown(permissions) + "\" (expected: r or -, w or -, x or -, then p or s, such as r-xp)");
            }
            long offset = hex("OFFSET", ' ', "a hex number");
            String device = field("DEV", ' ');
            int colon = device.indexOf(':');
            if (colon < 1 || colon > 8 || device.length() - colon - 1 < 1 || device.length() - colon - 1 > 8
                    || !isHex(device, 0, colon) || !isHex(device, colon + 1, device.length())) {
                throw bad("DEV: \"" + shown(device) + "\" (expected: MAJOR:MINOR in hex, such as fd:01)");
            }
            String inodeText = field("INODE", ' ');
            long inode;
            try {
                if (inodeText.isEmpty() || !Character.isDigit(inodeText.charAt(0))) {
                    throw new NumberFormatException();
                }
                inode = Long.parseUnsignedLong(inodeText);
            } catch (NumberFormatException e) {
                throw bad("INODE: \"" + shown(inodeText) + "\" (expected: a decimal number of at most 64 bits)");
            }
            while (at < to && text.charAt(at) == ' ') {
                at++;
            }
            String path = text.substring(at, to);
            boolean deleted = path.endsWith(DELETED);
            if (deleted) {
                path = path.substring(0, path.length() - DELETED.length());
            }
            return new Mapping(start, end, permissions, offset, device, inode, path, deleted);
        }

        /**
         * The text up to {@code separator}, and past the separator; the last field, INODE, may
         * also end the line.
         */
        private String field(String what, char separator) throws ElfException {
            if (at >= to) {
                throw badLine("ends before " + what);
            }
            int end = at;
            while (end < to && text.charAt(end) != separator && text.charAt(end) != ' ') {
                end++;
            }
            if (separator != ' ' && (end == to || text.charAt(end) != separator)) {
                throw bad(what + ": \"" + shown(text.substring(at, end)) + "\" has no '" + separator + "' after it (expected: "
                        + LINE_FORM + ")");
            }
            if (end == to && !what.equals("INODE")) {
                throw badLine("ends after " + what);
            }
            String field = text.substring(at, end);
            at = Math.min(end + 1, to);
            return field;
        }

        private long hex(String what, char separator, String expected) throws ElfException {
            String field = field(what, separator);
            if (field.isEmpty() || field.length() > 16 || !isHex(field, 0, field.length())) {
                throw bad(what + ": \"" + shown(field) + "\" (expected: " + expected + " of at most 16 digits)");
            }
            return Long.parseUnsignedLong(field, 16);
        }

        private static boolean isHex(String s, int from, int to) {
            for (int i = from; i < to; i++) {
                char c = s.charAt(i);
                if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
                    return false;
                }
            }
            return from < to;
        }

        private static boolean validPermissions(String p) {
            return p.length() == 4 && (p.charAt(0) == 'r' || p.charAt(0) == '-') && (p.charAt(1) == 'w' || p.charAt(1) == '-')
                    && (p.charAt(2) == 'x' || p.charAt(2) == '-') && (p.charAt(3) == 'p' || p.charAt(3) == 's');
        }

        private ElfException bad(String problem) {
            return new ElfException(name + ": line " + number + ": " + problem);
        }

        private ElfException badLine(String problem) {
            return bad("\"" + shown(text.substring(from, to)) + "\" " + problem + " (expected: " + LINE_FORM + ")");
        }

        /** At most 60 characters of {@code s}, with control characters and quotes escaped: one line. */
        private static String shown(String s) {
            StringBuilder shown = new StringBuilder();
            for (int i = 0; i < s.length() && i < MAX_SHOWN; i++) {
                char c = s.charAt(i);
                if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || Character.isSurrogate(c)
                        || Character.getType(c) == Character.LINE_SEPARATOR || Character.getType(c) == Character.PARAGRAPH_SEPARATOR) {
                    shown.append(String.format("\\u%04x", (int) c));
                } else {
                    shown.append(c);
                }
            }
            return s.length() > MAX_SHOWN ? shown + "..." : shown.toString();
        }
    }
}
