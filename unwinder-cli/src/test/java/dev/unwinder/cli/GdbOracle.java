package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.fail;

import dev.unwinder.cli.RealCores.RealCore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * gdb-multiarch's backtrace of every thread of a core, frame by frame, as data: the reference the
 * real-core tests compare the command with.
 *
 * <p>One gdb run per core, cached for the JVM: {@code gdb-multiarch -nx -batch}, debuginfod off, with
 * {@code set sysroot /usr/<triple>} before the program loads (qemu cores; none for kernel cores),
 * running {@code scripts/gdb_frames.py}, which walks every thread from
 * {@code gdb.newest_frame()} through {@code older()} and prints one line per frame: its pc, the
 * address gdb names it by (the pc for the innermost frame, pc - 1 for a caller; gdb's
 * {@code get_frame_address_in_block}), what {@code info symbol} prints for that address (the ELF
 * symbol, demangled, and the offset), and {@code gdb.solib_name} of it. gdb walks with DWARF call
 * frame information and the C library's debug symbols where installed ({@code libc6-dbg}), so it
 * finds frames, and names static functions, that a frame-pointer walk does not.
 *
 * <p>A missing gdb-multiarch fails the caller on CI ({@code CI=true}) and skips it elsewhere.
 */
final class GdbOracle {
    private static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final String SCRIPT = "gdb_frames.py";
    private static final Map<Path, CoreFrames> CACHE = new ConcurrentHashMap<>();

    private GdbOracle() {}

    /**
     * One frame as gdb unwinds it.
     *
     * @param level gdb's frame number, 0 innermost; inlined calls are frames of their own, with the
     *     pc of the real frame that holds them
     * @param pc the frame's pc: the thread's pc for frame 0, else the return address
     * @param lookupAddress the address gdb names the frame by: {@code pc}, or {@code pc - 1} for a caller
     * @param type gdb's frame type: {@code NORMAL_FRAME}, {@code INLINE_FRAME}, {@code TAILCALL_FRAME}, ...
     * @param symbol the ELF symbol (demangled) that {@code info symbol} gives for the lookup
     *     address, or null when none covers it
     * @param symbolStart the symbol's address ({@code lookupAddress - symbolOffset}); meaningless without a symbol
     * @param symbolOffset the lookup address's offset in the symbol
     * @param module the shared object gdb says holds the lookup address (its path on this machine,
     *     under the sysroot for a qemu core), or null for the main executable
     * @param function gdb's own name of the frame's function (from DWARF where there is some, so
     *     inline-aware and often without parameters), or null
     */
    record Frame(int level, long pc, long lookupAddress, String type, String symbol, long symbolStart,
                 long symbolOffset, String module, String function) {
        boolean inline() {
            return type.equals("INLINE_FRAME");
        }
    }

    /** One thread: its frames, innermost first, and gdb's reason for stopping after the last. */
    record ThreadFrames(long tid, List<Frame> frames, String stopReason) {}

    /** Every thread of a core, in gdb's order, and the one that crashed (the one gdb selects first). */
    record CoreFrames(long crashedTid, List<ThreadFrames> threads) {
        ThreadFrames thread(long tid) {
            return threads.stream().filter(thread -> thread.tid() == tid).findFirst().orElse(null);
        }

        ThreadFrames crashed() {
            return Objects.requireNonNull(thread(crashedTid), "no crashed thread " + crashedTid);
        }
    }

    static CoreFrames of(RealCore core) {
        return of(core.program(), core.core(), core.sysroot());
    }

    /** gdb's frames of every thread of {@code core}; {@code sysroot} is null for a kernel core. */
    static CoreFrames of(Path program, Path core, Path sysroot) {
        return CACHE.computeIfAbsent(core.toAbsolutePath().normalize(), key -> run(program, key, sysroot));
    }

    /**
     * gdb's frames of every thread of a live process, attached with {@code gdb -p} in batch mode
     * (gdb stops every thread while it walks, and lets them go when it detaches).
     */
    static CoreFrames ofProcess(long pid, Path dir) {
        Path gdb = RealCores.onPath("gdb");
        if (gdb == null) {
            RealCores.unavailable("gdb is not on the PATH (Debian package gdb; .ci/run installs it)");
        }
        List<String> command = List.of(gdb.toString(), "-nx", "-batch", "-iex", "set debuginfod enabled off", "-p",
                Long.toString(pid), "-x", script().toString());
        RealCores.Result result = RealCores.run(command, dir, TIMEOUT);
        if (result.status() != 0) {
            fail("gdb -p failed with status " + result.status() + ":\n" + String.join(" ", command) + "\n"
                    + result.output());
        }
        return parse(result.output());
    }

    private static CoreFrames run(Path program, Path core, Path sysroot) {
        Path gdb = RealCores.onPath("gdb-multiarch");
        if (gdb == null) {
            RealCores.unavailable("gdb-multiarch is not on the PATH (Debian package gdb-multiarch; .ci/run installs it)");
        }
        Path script = script();
        // No debuginfod: the oracle uses what this machine has, and asks no server (nor the user) for more.
        List<String> command = new ArrayList<>(List.of(gdb.toString(), "-nx", "-batch", "-iex", "set debuginfod enabled off"));
        if (sysroot != null) {
            command.addAll(List.of("-iex", "set sysroot " + sysroot));
        }
        command.addAll(List.of("-x", script.toString(), program.toAbsolutePath().toString(), core.toString()));
        RealCores.Result result = RealCores.run(command, core.getParent(), TIMEOUT);
        if (result.status() != 0) {
            fail("gdb-multiarch failed with status " + result.status() + ":\n" + String.join(" ", command) + "\n"
                    + result.output());
        }
        return parse(result.output());
    }

    /** The lines of {@code gdb_frames.py}'s output (gdb's own messages around them are ignored). */
    static CoreFrames parse(String output) {
        long crashed = -1;
        Map<Long, List<Frame>> frames = new LinkedHashMap<>();
        Map<Long, String> stops = new LinkedHashMap<>();
        boolean ended = false;
        for (String line : output.lines().toList()) {
            String[] fields = line.split("\t", -1);
            switch (fields[0]) {
                case "CURRENT" -> crashed = Long.parseLong(fields[1]);
                case "THREAD" -> frames.put(Long.parseLong(fields[1]), new ArrayList<>());
                case "FRAME" -> {
                    if (fields.length != 12) {
                        fail("a FRAME line of " + fields.length + " fields (expected 12): " + line + "\n" + output);
                    }
                    boolean symbol = !fields[11].equals("-");
                    Frame frame = new Frame(Integer.parseInt(fields[2]), hex(fields[3]), hex(fields[4]), fields[5],
                            symbol ? fields[11] : null, symbol ? hex(fields[6]) : 0,
                            symbol ? Long.parseLong(fields[7]) : 0, orNull(fields[9]), orNull(fields[10]));
                    List<Frame> thread = frames.get(Long.parseLong(fields[1]));
                    if (thread == null || thread.size() != frame.level()) {
                        fail("frame out of order: " + line + "\n" + output);
                    }
                    thread.add(frame);
                }
                case "STOP" -> stops.put(Long.parseLong(fields[1]), fields.length > 2 ? fields[2] : "");
                case "END" -> ended = true;
                default -> { } // gdb's own messages: "[New LWP ...]", "Core was generated by ...", ...
            }
        }
        if (!ended || frames.isEmpty() || !frames.containsKey(crashed)) {
            fail("gdb_frames.py did not finish, or found no threads or no current one:\n" + output);
        }
        List<ThreadFrames> threads = new ArrayList<>();
        frames.forEach((tid, list) -> threads.add(new ThreadFrames(tid, List.copyOf(list), stops.get(tid))));
        return new CoreFrames(crashed, List.copyOf(threads));
    }

    /** The repository's {@code scripts/gdb_frames.py}, which both gdb oracles of the tests run. */
    private static Path script() {
        Path script = Fixtures.repository().resolve("scripts").resolve(SCRIPT);
        if (!Files.isRegularFile(script)) {
            throw new IllegalStateException("no " + script);
        }
        return script;
    }

    private static String orNull(String field) {
        return field.equals("-") ? null : field;
    }

    private static long hex(String field) {
        if (!field.startsWith("0x")) {
            throw new IllegalArgumentException("not a hex address: " + field);
        }
        return Long.parseUnsignedLong(field.substring(2), 16);
    }
}
