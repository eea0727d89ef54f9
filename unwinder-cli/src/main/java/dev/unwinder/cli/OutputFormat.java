package dev.unwinder.cli;

import dev.unwinder.elf.Module;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** How the command prints its backtraces: {@code --format text} or {@code --format json}. */
enum OutputFormat {
    /**
     * Like a debugger's backtrace: a line per thread, a line per frame
     * ({@code #3   0x00007f2a1c04572a in __libc_start_call_main+122 (libc.so.6+0x2772a)  sp 0x...  cfi}
     * from the call-frame information walk, with how the frame was found;
     * {@code ...  fp 0x...} from the frame-pointer walk, {@code --fp-only}), a line on how the walk
     * ended; then a line per module whose symbols could not be used, and per problem met finding
     * the modules.
     */
    TEXT {
        @Override
        void print(Report report, PrintWriter out) {
            boolean first = true;
            for (Backtrace backtrace : report.backtraces()) {
                if (!first) {
                    out.println();
                }
                first = false;
                if (!backtrace.header().isEmpty()) {
                    out.println(backtrace.header());
                }
                for (Backtrace.FrameLine frame : backtrace.frames()) {
                    String where = frame.function();
                    if (frame.where().module() != null) {
                        where += String.format(" (%s+0x%x)", frame.where().module().name(),
                                frame.where().moduleOffset(frame.pc()));
                    }
                    if (backtrace.cfi()) {
                        out.printf("#%-3d 0x%016x in %-48s  sp 0x%016x  %s%n", frame.index(), frame.pc(), where, frame.sp(),
                                frame.how());
                    } else {
                        out.printf("#%-3d 0x%016x in %-48s  fp 0x%016x%n", frame.index(), frame.pc(), where, frame.fp());
                    }
                }
                out.printf("%s after %d frame%s: %s (%s)%n", backtrace.failed() ? "Walk failed" : "Walk ended",
                        backtrace.frames().size(), backtrace.frames().size() == 1 ? "" : "s", backtrace.endDetail(),
                        backtrace.end());
                if (backtrace.note() != null) {
                    out.println(backtrace.note());
                }
            }
            boolean headed = false;
            for (Module module : report.modules()) {
                if (module.symbolState() != Module.Symbols.LOADED || module.problem() != null) {
                    if (!headed) {
                        out.println();
                        headed = true;
                    }
                    out.printf("Module %s: symbols %s%s%n", module.path(),
                            module.symbolState().name().toLowerCase(Locale.ROOT),
                            module.problem() == null ? "" : " (" + module.problem() + ")");
                }
            }
            for (String problem : report.problems()) {
                if (!headed) {
                    out.println();
                    headed = true;
                }
                out.println("Note: " + problem);
            }
        }
    },

    /**
     * {@code {"threads":[{"tid":N,"arch":"...","end":"...","frames":[{"pc":"0x...","sp":"0x...",
     * "symbol":"...","offset":N,"module":"/path","module_offset":"0x...","how":"cfi"}]}],
     * "modules":[{"path":"...","base":"0x...","end":"0x...","build_id":"...","debug_file":"...",
     * "symbols":"loaded"}],"problems":["..."]}}; a frame has {@code sp} from the call-frame
     * information walk and {@code fp} instead from the frame-pointer walk ({@code --fp-only}, or a
     * capture without {@code --sp}); {@code how} is {@code context}, {@code cfi} or {@code fp};
     * {@code symbol} and {@code offset} are left out when no symbol covers the pc, {@code module}
     * and {@code module_offset} when no module holds it, {@code tid} for a raw capture;
     * {@code build_id} and {@code debug_file} are null when unknown. A thread of a live process
     * ({@code stack}) also has {@code stopped_us}, how long it was stopped, in microseconds.
     */
    JSON {
        @Override
        void print(Report report, PrintWriter out) {
            StringBuilder json = new StringBuilder("{\"threads\":[");
            List<Backtrace> backtraces = report.backtraces();
            for (int t = 0; t < backtraces.size(); t++) {
                Backtrace backtrace = backtraces.get(t);
                json.append(t == 0 ? "{" : ",{");
                if (backtrace.tid().isPresent()) {
                    json.append("\"tid\":").append(backtrace.tid().getAsInt()).append(',');
                    Long stopped = report.stoppedMicros().get(backtrace.tid().getAsInt());
                    if (stopped != null) {
                        json.append("\"stopped_us\":").append(stopped).append(',');
                    }
                }
                json.append("\"arch\":").append(string(backtrace.arch()))
                        .append(",\"end\":").append(string(backtrace.end()))
                        .append(",\"frames\":[");
                for (int f = 0; f < backtrace.frames().size(); f++) {
                    Backtrace.FrameLine frame = backtrace.frames().get(f);
                    json.append(f == 0 ? "{" : ",{")
                            .append("\"pc\":").append(hex(frame.pc()))
                            .append(backtrace.cfi() ? ",\"sp\":" : ",\"fp\":")
                            .append(hex(backtrace.cfi() ? frame.sp() : frame.fp()));
                    Symbolizer.Location where = frame.where();
                    if (where.symbol() != null) {
                        json.append(",\"symbol\":").append(string(where.symbol()))
                                .append(",\"offset\":").append(Long.toUnsignedString(where.symbolOffset()));
                    }
                    if (where.module() != null) {
                        json.append(",\"module\":").append(string(where.module().path()))
                                .append(",\"module_offset\":").append(hex(where.moduleOffset(frame.pc())));
                    }
                    json.append(",\"how\":").append(string(frame.how())).append('}');
                }
                json.append("]}");
            }
            json.append("],\"modules\":[");
            List<Module> modules = report.modules();
            for (int m = 0; m < modules.size(); m++) {
                Module module = modules.get(m);
                json.append(m == 0 ? "{" : ",{")
                        .append("\"path\":").append(string(module.path()))
                        .append(",\"base\":").append(hex(module.base()))
                        .append(",\"end\":").append(hex(module.end()))
                        .append(",\"build_id\":").append(module.buildIdHex() == null ? "null" : string(module.buildIdHex()))
                        .append(",\"debug_file\":")
                        .append(module.debugFile() == null ? "null" : string(module.debugFile().toString()))
                        .append(",\"symbols\":").append(string(module.symbolState().name().toLowerCase(Locale.ROOT)));
                if (module.problem() != null) {
                    json.append(",\"problem\":").append(string(module.problem()));
                }
                json.append('}');
            }
            json.append("],\"problems\":[");
            for (int p = 0; p < report.problems().size(); p++) {
                json.append(p == 0 ? "" : ",").append(string(report.problems().get(p)));
            }
            out.println(json.append("]}"));
        }

        private static String hex(long value) {
            return "\"0x" + Long.toHexString(value) + "\"";
        }

        private static String string(String value) {
            StringBuilder quoted = new StringBuilder("\"");
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                switch (c) {
                    case '"' -> quoted.append("\\\"");
                    case '\\' -> quoted.append("\\\\");
                    case '\n' -> quoted.append("\\n");
                    case '\r' -> quoted.append("\\r");
                    case '\t' -> quoted.append("\\t");
                    default -> {
                        if (c < 0x20 || c >= 0x7f) {
                            quoted.append(String.format("\\u%04x", (int) c));
                        } else {
                            quoted.append(c);
                        }
                    }
                }
            }
            return quoted.append('"').toString();
        }
    };

    /**
     * What one run of the command prints.
     *
     * @param backtraces one per thread, or one for a capture
     * @param modules the modules that named the pcs, by address
     * @param problems what went wrong finding the modules, or a thread of a live process, one line each
     * @param stoppedMicros how long each thread of a live process was stopped, by thread id; empty
     *     for a core or a capture
     */
    record Report(List<Backtrace> backtraces, List<Module> modules, List<String> problems,
                  Map<Integer, Long> stoppedMicros) {
        /**
         * A report of a core or a capture, whose threads were never stopped.
         *
         * @param backtraces one per thread, or one for a capture
         * @param modules the modules that named the pcs, by address
         * @param problems what went wrong finding the modules, one line each
         */
        Report(List<Backtrace> backtraces, List<Module> modules, List<String> problems) {
            this(backtraces, modules, problems, Map.of());
        }
    }

    abstract void print(Report report, PrintWriter out);
}
