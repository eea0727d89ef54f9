package dev.unwinder.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unwinder.cli.GdbOracle.CoreFrames;
import dev.unwinder.cli.GdbOracle.Frame;
import dev.unwinder.cli.GdbOracle.ThreadFrames;
import dev.unwinder.cli.RealCores.RealCore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The harness of the real-core tests: {@link RealCores} makes a core of every program on every
 * architecture, and {@link GdbOracle} reads gdb's frames of each, with the names, modules and
 * lookup addresses that the programs put there.
 */
final class GdbOracleTest {
    /** Threads per program: main, and what it starts (leaf_signal: its signal-handler thread on x86_64 only). */
    private static final Map<String, Integer> THREADS = Map.of("threads", 4, "segv_in_libc", 1, "assert", 1, "cxx_throw", 2,
            "leaf_signal", 2);

    static List<RealCore> cores() {
        return RealCores.all();
    }

    static List<RealCore> cxxCores() {
        return RealCores.all().stream().filter(core -> core.name().equals("cxx_throw")).toList();
    }

    @Test
    void everyProgramOfEveryArchHasACore() {
        List<RealCore> cores = RealCores.all();
        assertEquals(RealCores.ARCHES.size() * RealCores.PROGRAMS.size(), cores.size(), cores.toString());
        for (RealCore core : cores) {
            assertTrue(Files.isRegularFile(core.program()), core.program().toString());
            assertTrue(Files.isRegularFile(core.core()), core.core().toString());
            assertEquals(core.arch().equals("x86_64"), core.sysroot() == null, core.toString());
        }
    }

    @ParameterizedTest
    @MethodSource("cores")
    void gdbFindsEveryThreadAndNamesMainAndTheCLibrary(RealCore core) {
        CoreFrames gdb = GdbOracle.of(core);
        int signalThread = core.name().equals("leaf_signal") && core.arch().equals("x86_64") ? 1 : 0;
        assertEquals(THREADS.get(core.name()) + signalThread, gdb.threads().size(), gdb.toString());
        assertEquals(gdb.threads().getFirst().tid(), gdb.crashedTid(), "the crashed thread comes first");
        ThreadFrames crashed = gdb.crashed();
        // Every program crashes inside the C library, below main and functions of its own.
        Frame innermost = crashed.frames().getFirst();
        assertTrue(isLibc(innermost.module()), "frame 0 is in the C library: " + crashed);
        assertTrue(crashed.frames().stream().anyMatch(frame -> "main".equals(frame.symbol()) && frame.module() == null),
                "main, in the main executable: " + crashed);
        if (core.sysroot() != null) {
            assertTrue(innermost.module().startsWith(core.sysroot() + "/"), "libraries under the sysroot: " + innermost);
        }
        for (ThreadFrames thread : gdb.threads()) {
            assertTrue(!thread.frames().isEmpty(), thread.toString());
            for (Frame frame : thread.frames()) {
                if (frame.symbol() != null) {
                    assertEquals(frame.lookupAddress() - frame.symbolOffset(), frame.symbolStart(), frame.toString());
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cores")
    void callersAreNamedByTheAddressBeforeTheirReturnAddress(RealCore core) {
        for (ThreadFrames thread : GdbOracle.of(core).threads()) {
            Frame previous = null;
            for (Frame frame : thread.frames()) {
                if (previous == null || previous.inline() && previous.pc() == frame.pc() && previous.lookupAddress() == frame.pc()) {
                    assertEquals(frame.pc(), frame.lookupAddress(), "the innermost real frame: " + frame);
                } else if (previous.type().equals("NORMAL_FRAME") && frame.type().equals("NORMAL_FRAME")) {
                    assertEquals(frame.pc() - 1, frame.lookupAddress(), "a caller: " + frame);
                }
                previous = frame;
            }
        }
    }

    @Test
    void x86_64ThreadsCoreHasEachThreadInItsBlockingCall() {
        CoreFrames gdb = GdbOracle.of(RealCores.get("x86_64", "threads"));
        assertEquals(4, gdb.threads().size());
        List<String> crashed = symbols(gdb.crashed());
        assertTrue(crashed.containsAll(List.of("abort", "crash_middle", "crash_outer", "main")), crashed.toString());
        // crash_inner's call to abort() ends its cold part: its return address is past that symbol's end.
        Frame cold = gdb.crashed().frames().stream()
                .filter(frame -> frame.symbol() != null && frame.symbol().startsWith("crash_inner"))
                .findFirst().orElseThrow(() -> new AssertionError(crashed.toString()));
        assertEquals(cold.pc() - 1, cold.lookupAddress(), cold.toString());
        List<List<String>> others = gdb.threads().stream().skip(1).map(GdbOracleTest::symbols).toList();
        assertTrue(others.stream().anyMatch(names -> names.containsAll(List.of("pthread_cond_wait", "wait_on_condition"))), others.toString());
        assertTrue(others.stream().anyMatch(names -> names.containsAll(List.of("nanosleep", "sleep_forever"))), others.toString());
        assertTrue(others.stream().anyMatch(names -> names.containsAll(List.of("read", "read_pipe"))), others.toString());
        for (ThreadFrames thread : gdb.threads()) {
            assertTrue(isLibc(thread.frames().getFirst().module()), "blocked in the C library: " + thread);
        }
    }

    @ParameterizedTest
    @MethodSource("cxxCores")
    void cxxFramesAreDemangled(RealCore core) {
        CoreFrames gdb = GdbOracle.of(core);
        List<String> crashed = symbols(gdb.crashed());
        assertTrue(crashed.contains("long ledger::detail::checked_sum<long>(std::vector<long, std::allocator<long> > const&,"
                + " std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&)"), crashed.toString());
        assertTrue(crashed.contains("ledger::Account::reconcile(std::vector<long, std::allocator<long> > const&) const"), crashed.toString());
        assertTrue(crashed.contains("std::terminate()"), crashed.toString());
        assertTrue(crashed.stream().anyMatch(name -> name.startsWith("long ledger::Account::visit<ledger::Account::reconcile(")
                && name.contains("::{lambda(std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&)#1}")),
                crashed.toString());
        ThreadFrames spinner = gdb.threads().get(1);
        Frame innermost = spinner.frames().getFirst();
        assertEquals("ledger::Ticker<unsigned long>::spin(std::atomic<bool>&, std::__cxx11::basic_string<char,"
                + " std::char_traits<char>, std::allocator<char> > const&)", innermost.symbol(), spinner.toString());
        assertNull(innermost.module(), "in the main executable: " + innermost);
        assertTrue(symbols(spinner).contains("std::thread::_State_impl<std::thread::_Invoker<std::tuple<main::{lambda()#1}> > >::_M_run()"),
                spinner.toString());
    }

    @Test
    void parsesTheScriptsLinesAndIgnoresGdbsOwn() {
        CoreFrames gdb = GdbOracle.parse("""
                [New LWP 12]
                Core was generated by `./prog'.
                CURRENT\t12
                THREAD\t12
                FRAME\t12\t0\t0x7f10\t0x7f10\tNORMAL_FRAME\t0x7f00\t16\t.text\t/lib/libc.so.6\t__pthread_kill_implementation\t__pthread_kill_implementation
                FRAME\t12\t1\t0x5560\t0x555f\tNORMAL_FRAME\t-\t-\t-\t-\t-\t-
                STOP\t12\toutermost
                THREAD\t13
                FRAME\t13\t0\t0x5570\t0x5570\tINLINE_FRAME\t0x5500\t112\t.text\t-\toperator()\tvoid f<int>(std::vector<int, std::allocator<int> > const&)
                STOP\t13\tno reason
                END
                """);
        assertEquals(12, gdb.crashedTid());
        assertEquals(2, gdb.threads().size());
        assertEquals(new Frame(0, 0x7f10, 0x7f10, "NORMAL_FRAME", "__pthread_kill_implementation", 0x7f00, 16,
                "/lib/libc.so.6", "__pthread_kill_implementation"), gdb.crashed().frames().get(0));
        assertEquals(new Frame(1, 0x5560, 0x555f, "NORMAL_FRAME", null, 0, 0, null, null), gdb.crashed().frames().get(1));
        assertEquals("outermost", gdb.crashed().stopReason());
        Frame inline = gdb.thread(13).frames().getFirst();
        assertEquals("void f<int>(std::vector<int, std::allocator<int> > const&)", inline.symbol());
        assertTrue(inline.inline());
        assertNotNull(gdb.thread(13));
    }

    private static List<String> symbols(ThreadFrames thread) {
        return thread.frames().stream().map(Frame::symbol).filter(name -> name != null).toList();
    }

    private static boolean isLibc(String module) {
        return module != null && Path.of(module).getFileName().toString().equals("libc.so.6");
    }
}
