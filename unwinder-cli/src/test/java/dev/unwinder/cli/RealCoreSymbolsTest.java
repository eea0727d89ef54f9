package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unwinder.cli.GdbOracle.CoreFrames;
import dev.unwinder.cli.GdbOracle.Frame;
import dev.unwinder.cli.GdbOracle.ThreadFrames;
import dev.unwinder.cli.RealCores.RealCore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code unwinder core --format json} on cores made on this machine ({@link RealCores}) against
 * gdb's frames of the same cores ({@link GdbOracle}): the same threads, and for every frame of ours
 * whose pc is the pc of one of gdb's frames of that thread, the same symbol and the same module.
 *
 * <p>Frames gdb has and the command does not are not compared here (with its default walk, the
 * call-frame information walk, there are none: {@link RealCoreCfiTest} checks that), and frames
 * the command has at pcs gdb never reached are not either. So that the test cannot pass by comparing nothing,
 * the crashed thread must compare at least one frame, and on x86_64, where every program crashes
 * inside the C library, at least one compared frame must be in {@code libc.so.6}. A thread's
 * first frame, where it has any, must be at its pc register, gdb's frame 0.
 *
 * <p>A symbol matches when it is gdb's {@code info symbol} name (gdb prints {@code name[cold]} for
 * a C function's {@code name.cold} part: compared as {@code name.cold}), or when it starts at the
 * same address, pc - offset (an alias: {@code raise} and {@code gsignal}). Where gdb knows no
 * symbol, the command must name none either; where gdb names a signal trampoline by an ELF symbol
 * of size 0 (x86_64's {@code __restore_rt}), which covers no address for the command, ours may
 * have no name. A module matches when it is the same file as gdb's shared object (or the program,
 * where gdb says the main executable), where both exist on this machine (ours under
 * {@code --sysroot} for a qemu core), else when it has the same file name. The
 * command is run with {@code --sysroot /usr/<triple>} for qemu cores, and with {@code --exe} for
 * them too, since a qemu core records neither the program's path nor any file mapping.
 */
final class RealCoreSymbolsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern GDB_COLD = Pattern.compile("([^\\s(]+)\\[cold]");

    static List<RealCore> cores() {
        return RealCores.all();
    }

    @ParameterizedTest
    @MethodSource("cores")
    void framesGdbAlsoFindsHaveItsSymbolAndModule(RealCore core) {
        CoreFrames gdb = GdbOracle.of(core);
        JsonNode ours = ours(core);
        Comparison comparison = compare(core, gdb, ours);
        String context = core + ": ours " + ours + "\ngdb's " + gdb;
        assertTrue(comparison.differences().isEmpty(), comparison.differences().size() + " differences from gdb in "
                + comparison.compared() + " compared frames:\n  " + String.join("\n  ", comparison.differences()) + "\n" + context);
        assertTrue(comparison.comparedInCrashed() >= 1, "at least one frame of the crashed thread compared: " + context);
        if (core.arch().equals("x86_64")) {
            assertTrue(comparison.inLibc() >= 1, "at least one compared frame in libc.so.6: " + context);
        }
    }

    /** The comparison itself, on JSON made from gdb's own frames: every real frame compares, and agrees. */
    @ParameterizedTest
    @MethodSource("cores")
    void gdbsOwnFramesAgreeWithGdb(RealCore core) {
        CoreFrames gdb = GdbOracle.of(core);
        Comparison comparison = compare(core, gdb, asOurs(core, gdb));
        assertEquals(List.of(), comparison.differences());
        long realFrames = gdb.threads().stream().flatMap(thread -> thread.frames().stream()).filter(frame -> !frame.inline()).count();
        assertEquals(realFrames, comparison.compared());
        assertEquals(gdb.crashed().frames().stream().filter(frame -> !frame.inline()).count(), comparison.comparedInCrashed());
        assertTrue(comparison.inLibc() >= 1, comparison.toString());
    }

    /** The comparison itself: a wrong name, an alias and a false one, a wrong module, a name gdb does not know, a missing thread. */
    @Test
    void theComparisonCatchesWrongNamesModulesAndThreads() {
        RealCore core = RealCores.get("x86_64", "threads");
        CoreFrames gdb = GdbOracle.of(core);
        ObjectNode ours = asOurs(core, gdb);
        ArrayNode threads = (ArrayNode) ours.get("threads");
        ObjectNode crashed = (ObjectNode) threads.get(0).get("frames").get(0);
        Frame innermost = gdb.crashed().frames().getFirst();

        // abort() calls raise, which libc also exports as gsignal: an alias, which the comparison accepts.
        int raise = 0;
        while (!List.of("raise", "gsignal").contains(gdb.crashed().frames().get(raise).symbol())) {
            raise++;
        }
        ObjectNode raiseFrame = (ObjectNode) threads.get(0).get("frames").get(raise);
        raiseFrame.put("symbol", raiseFrame.get("symbol").asText().equals("raise") ? "gsignal" : "raise");
        assertEquals(List.of(), compare(core, gdb, ours).differences(), "an alias starts at the same address");

        crashed.put("symbol", "not_an_alias").put("offset", innermost.pc() - innermost.symbolStart());
        assertEquals(List.of("thread " + gdb.crashedTid() + " frame #0 (gdb's #0) pc " + Fixtures.hex(innermost.pc())
                + ": ours is not_an_alias, gdb's is " + innermost.symbol() + " at the same address, but no symbol table of "
                + symbolFiles(core, crashed, ours.path("modules")) + " has both names at one address (nm -C)"),
                compare(core, gdb, ours).differences(), "an invented name at the same address is no alias");

        crashed.put("symbol", "elsewhere").put("offset", innermost.pc() - innermost.symbolStart() + 16);
        crashed.put("module", "/lib/x86_64-linux-gnu/libm.so.6");
        ((ObjectNode) threads.get(0).get("frames").get(1)).put("symbol", "invented").put("offset", 1);
        threads.remove(threads.size() - 1);
        List<String> differences = compare(core, withoutSymbol(gdb, 1), ours).differences();
        String pc = Fixtures.hex(innermost.pc());
        assertEquals(List.of(
                "threads: ours " + gdb.threads().stream().map(ThreadFrames::tid).toList().subList(0, 3)
                        + ", gdb's " + gdb.threads().stream().map(ThreadFrames::tid).toList(),
                "thread " + gdb.crashedTid() + " frame #0 (gdb's #0) pc " + pc + ": ours is elsewhere+"
                        + (innermost.pc() - innermost.symbolStart() + 16) + " (at " + Fixtures.hex(innermost.symbolStart() - 16)
                        + "), gdb's is " + innermost.symbol() + "+" + (innermost.pc() - innermost.symbolStart())
                        + " (at " + Fixtures.hex(innermost.symbolStart()) + ")",
                "thread " + gdb.crashedTid() + " frame #0 (gdb's #0) pc " + pc
                        + ": ours is in /lib/x86_64-linux-gnu/libm.so.6 (/lib/x86_64-linux-gnu/libm.so.6), gdb's in " + innermost.module(),
                "thread " + gdb.crashedTid() + " frame #0 (gdb's #0) pc " + pc
                        + ": no module /lib/x86_64-linux-gnu/libm.so.6 in \"modules\" holds the pc",
                "thread " + gdb.crashedTid() + " frame #1 (gdb's #1) pc " + Fixtures.hex(gdb.crashed().frames().get(1).pc())
                        + ": ours is invented+1, gdb knows no symbol there"), differences);
    }

    /** gdb's frames with no symbol at the crashed thread's frame {@code level}. */
    private static CoreFrames withoutSymbol(CoreFrames gdb, int level) {
        List<ThreadFrames> threads = new ArrayList<>(gdb.threads());
        ThreadFrames crashed = gdb.crashed();
        List<Frame> frames = new ArrayList<>(crashed.frames());
        Frame frame = frames.get(level);
        frames.set(level, new Frame(level, frame.pc(), frame.lookupAddress(), frame.type(), null, 0, 0, frame.module(), null));
        threads.set(threads.indexOf(crashed), new ThreadFrames(crashed.tid(), frames, crashed.stopReason()));
        return new CoreFrames(gdb.crashedTid(), threads);
    }

    /** What the comparison found: every difference, and how many frames it compared. */
    record Comparison(List<String> differences, int compared, int comparedInCrashed, int inLibc) {}

    /**
     * Our JSON against gdb's frames: the same threads; a thread's first frame at its pc register; and
     * every frame of ours at the pc of a frame of gdb's, of the same thread, with the same symbol and module.
     */
    static Comparison compare(RealCore core, CoreFrames gdb, JsonNode ours) {
        Map<Long, JsonNode> ourThreads = new LinkedHashMap<>();
        for (JsonNode thread : ours.path("threads")) {
            ourThreads.put(thread.path("tid").asLong(), thread);
        }
        List<String> differences = new ArrayList<>();
        List<Long> theirTids = gdb.threads().stream().map(ThreadFrames::tid).toList();
        if (!new TreeSet<>(theirTids).equals(new TreeSet<>(ourThreads.keySet()))) {
            differences.add("threads: ours " + List.copyOf(ourThreads.keySet()) + ", gdb's " + theirTids);
        }
        int compared = 0;
        int comparedInCrashed = 0;
        int inLibc = 0;
        for (ThreadFrames theirs : gdb.threads()) {
            JsonNode frames = ourThreads.containsKey(theirs.tid()) ? ourThreads.get(theirs.tid()).path("frames") : MissingNode.getInstance();
            if (!frames.isEmpty() && address(frames.get(0).path("pc").asText()) != theirs.frames().getFirst().pc()) {
                differences.add("thread " + theirs.tid() + ": our first frame's pc " + frames.get(0).path("pc").asText()
                        + " is not its pc register, gdb's frame 0 " + Fixtures.hex(theirs.frames().getFirst().pc()));
            }
            for (int index = 0; index < frames.size(); index++) {
                JsonNode frame = frames.get(index);
                long pc = address(frame.path("pc").asText());
                Frame match = theirs.frames().stream().filter(candidate -> candidate.pc() == pc).findFirst().orElse(null);
                if (match == null) {
                    continue;
                }
                String where = "thread " + theirs.tid() + " frame #" + index + " (gdb's #" + match.level() + ") pc " + Fixtures.hex(pc);
                compareSymbol(where, frame, match, symbolFiles(core, frame, ours.path("modules")), differences);
                compareModule(where, core, frame, match, ours.path("modules"), differences);
                compared++;
                if (theirs.tid() == gdb.crashedTid()) {
                    comparedInCrashed++;
                }
                String module = match.module() == null ? core.program().toString() : match.module();
                if (Path.of(module).getFileName().toString().equals("libc.so.6")) {
                    inLibc++;
                }
            }
        }
        return new Comparison(List.copyOf(differences), compared, comparedInCrashed, inLibc);
    }

    /**
     * gdb's real (not inlined) frames in the command's JSON shape: its names, offsets from the pc,
     * and modules as a core names them (a qemu core: the path inside the sysroot; the main
     * executable: the program), each module spanning its frames.
     */
    private static ObjectNode asOurs(RealCore core, CoreFrames gdb) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode threads = root.putArray("threads");
        Map<String, long[]> spans = new LinkedHashMap<>();
        for (ThreadFrames thread : gdb.threads()) {
            ObjectNode ours = threads.addObject().put("tid", thread.tid()).put("arch", core.arch()).put("end", "zero-fp");
            ArrayNode frames = ours.putArray("frames");
            for (Frame frame : thread.frames()) {
                if (frame.inline()) {
                    continue;
                }
                ObjectNode json = frames.addObject().put("pc", Fixtures.hex(frame.pc())).put("fp", "0x0");
                if (frame.symbol() != null) {
                    json.put("symbol", gdbName(frame.symbol())).put("offset", frame.pc() - frame.symbolStart());
                }
                String module = frame.module() == null ? core.program().toString()
                        : core.sysroot() == null ? frame.module() : frame.module().substring(core.sysroot().toString().length());
                json.put("module", module);
                long[] span = spans.computeIfAbsent(module, key -> new long[] {frame.pc(), frame.pc() + 1});
                span[0] = Math.min(span[0], frame.pc());
                span[1] = Math.max(span[1], frame.pc() + 1);
            }
        }
        ArrayNode modules = root.putArray("modules");
        spans.forEach((path, span) -> modules.addObject().put("path", path).put("base", Fixtures.hex(span[0]))
                .put("end", Fixtures.hex(span[1])).putNull("build_id").putNull("debug_file").put("symbols", "loaded"));
        return root;
    }

    private static void compareSymbol(String where, JsonNode frame, Frame theirs, List<Path> files, List<String> differences) {
        JsonNode symbol = frame.get("symbol");
        JsonNode offset = frame.get("offset");
        if ((symbol == null) != (offset == null)) {
            differences.add(where + ": symbol and offset come together: " + frame);
            return;
        }
        if (theirs.symbol() == null) {
            if (symbol != null) {
                differences.add(where + ": ours is " + symbol.asText() + "+" + offset.asLong() + ", gdb knows no symbol there");
            }
            return;
        }
        String expected = gdbName(theirs.symbol());
        if (symbol == null && theirs.type().equals("SIGTRAMP_FRAME") && theirs.symbolOffset() == 0
                && sizeless(files, expected)) {
            // x86_64's __restore_rt is an ELF symbol of size 0, which covers no address for the command; gdb
            // names the signal trampoline by it. The frame itself must be there, at gdb's pc: it is.
            return;
        }
        if (symbol == null) {
            differences.add(where + ": ours has no symbol, gdb's is " + expected + "+" + (theirs.pc() - theirs.symbolStart()));
            return;
        }
        long ourStart = theirs.pc() - offset.asLong();
        if (symbol.asText().equals(expected)) {
            return;
        }
        if (ourStart != theirs.symbolStart()) {
            differences.add(where + ": ours is " + symbol.asText() + "+" + offset.asLong() + " (at " + Fixtures.hex(ourStart) + "), gdb's is "
                    + expected + "+" + (theirs.pc() - theirs.symbolStart()) + " (at " + Fixtures.hex(theirs.symbolStart()) + ")");
        } else if (!aliases(files, symbol.asText(), expected)) {
            differences.add(where + ": ours is " + symbol.asText() + ", gdb's is " + expected + " at the same address, but no"
                    + " symbol table of " + files + " has both names at one address (nm -C)");
        }
    }

    /** Whether some file's symbol table has a function {@code name} of size 0 (readelf -sW). */
    private static boolean sizeless(List<Path> files, String name) {
        for (Path file : files) {
            try {
                Process process = new ProcessBuilder("readelf", "-sW", file.toString())
                        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
                String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    throw new AssertionError("readelf did not finish in 30 s on " + file);
                }
                for (String line : out.split("\n")) {
                    String[] fields = line.trim().split("\\s+");
                    if (fields.length == 8 && fields[7].equals(name) && fields[2].equals("0") && fields[3].equals("FUNC")) {
                        return true;
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
        return false;
    }

    /** Every defined symbol of a file by its demangled name (nm -C, both tables), version suffixes cut: name to values. */
    private static final Map<Path, Map<String, Set<Long>>> NM = new ConcurrentHashMap<>();

    /** Whether some file holds symbols named {@code a} and {@code b} at one address: two names of one function. */
    private static boolean aliases(List<Path> files, String a, String b) {
        for (Path file : files) {
            Map<String, Set<Long>> names = NM.computeIfAbsent(file, RealCoreSymbolsTest::nm);
            Set<Long> values = names.getOrDefault(a, Set.of());
            for (long value : names.getOrDefault(b, Set.of())) {
                if (values.contains(value)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static Map<String, Set<Long>> nm(Path file) {
        Map<String, Set<Long>> names = new HashMap<>();
        for (String table : List.of("--defined-only", "--dynamic")) {
            try {
                Process process = new ProcessBuilder("nm", "-C", table, "--defined-only", file.toString())
                        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
                for (String line : new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                    String[] parts = line.split(" ", 3);
                    if (parts.length == 3 && parts[0].matches("[0-9a-f]+")) {
                        String name = parts[2].replaceFirst("@.*$", "");
                        names.computeIfAbsent(name, key -> new HashSet<>()).add(Long.parseUnsignedLong(parts[0], 16));
                    }
                }
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    throw new AssertionError("nm did not finish in 30 s on " + file);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
        return names;
    }

    private static void compareModule(String where, RealCore core, JsonNode frame, Frame theirs, JsonNode modules,
                                      List<String> differences) {
        Path expected = theirs.module() == null ? core.program() : Path.of(theirs.module());
        JsonNode module = frame.get("module");
        if (module == null) {
            differences.add(where + ": ours has no module, gdb's is " + expected);
            return;
        }
        String path = module.asText();
        Path resolved = resolve(path, core.sysroot());
        // One file under two names (the kernel's NT_FILE path libstdc++.so.6.0.30, gdb's libstdc++.so.6 link) is one
        // module: where both are on this machine, the file decides; elsewhere, the name.
        boolean same = resolved != null && Files.exists(expected) ? sameFile(resolved, expected)
                : fileName(path).equals(expected.getFileName().toString());
        if (!same) {
            differences.add(where + ": ours is in " + path + (resolved == null ? "" : " (" + resolved + ")") + ", gdb's in " + expected);
        }
        boolean listed = false;
        for (JsonNode entry : modules) {
            if (entry.path("path").asText().equals(path)) {
                long pc = address(frame.path("pc").asText());
                long base = address(entry.path("base").asText());
                long end = address(entry.path("end").asText());
                listed |= Long.compareUnsigned(base, pc) <= 0 && Long.compareUnsigned(pc, end) < 0;
            }
        }
        if (!listed) {
            differences.add(where + ": no module " + path + " in \"modules\" holds the pc");
        }
    }

    /** The files whose symbols named a frame: its module's file on this machine and the module's debug file. */
    private static List<Path> symbolFiles(RealCore core, JsonNode frame, JsonNode modules) {
        List<Path> files = new ArrayList<>();
        String path = frame.path("module").asText("");
        Path resolved = path.isEmpty() ? null : resolve(path, core.sysroot());
        if (resolved == null && !path.isEmpty() && fileName(path).equals(core.program().getFileName().toString())) {
            resolved = core.program();
        }
        if (resolved != null) {
            files.add(resolved);
        }
        for (JsonNode entry : modules) {
            if (entry.path("path").asText().equals(path) && entry.hasNonNull("debug_file")) {
                files.add(Path.of(entry.get("debug_file").asText()));
            }
        }
        return files;
    }

    /** gdb's {@code info symbol} name as the command prints it: {@code f[cold]} is the ELF symbol {@code f.cold}. */
    static String gdbName(String name) {
        Matcher cold = GDB_COLD.matcher(name);
        return cold.matches() ? cold.group(1) + ".cold" : name;
    }

    /** A module path from the core on this machine: under the sysroot if there, else as it is; null if neither exists. */
    private static Path resolve(String path, Path sysroot) {
        if (sysroot != null && path.startsWith("/")) {
            Path under = sysroot.resolve(path.substring(1));
            if (Files.exists(under)) {
                return under;
            }
        }
        Path plain = Path.of(path);
        return plain.isAbsolute() && Files.exists(plain) ? plain : null;
    }

    private static String fileName(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The command's JSON for a core: {@code --sysroot} and {@code --exe} for a qemu core. */
    private static JsonNode ours(RealCore core) {
        Fixtures.Run run = core.sysroot() == null
                ? Fixtures.run("core", core.core(), "--format", "json")
                : Fixtures.run("core", core.core(), "--format", "json", "--sysroot", core.sysroot(), "--exe", core.program());
        assertEquals(0, run.status(), core + ": " + run.err());
        try {
            return JSON.readTree(run.out());
        } catch (IOException e) {
            return fail(core + ": the output is not JSON (" + e.getMessage() + "):\n" + run.out());
        }
    }

    private static long address(String hex) {
        if (!hex.startsWith("0x")) {
            throw new AssertionError("not a hex address: " + hex);
        }
        return Long.parseUnsignedLong(hex.substring(2), 16);
    }
}
