package dev.unwinder.cli;

import java.io.PrintWriter;
import java.util.List;

/** How the command prints its backtraces: {@code --format text} or {@code --format json}. */
enum OutputFormat {
    /** Like a debugger's backtrace: a line per thread, a line per frame, a line on how the walk ended. */
    TEXT {
        @Override
        void print(List<Backtrace> backtraces, PrintWriter out) {
            boolean first = true;
            for (Backtrace backtrace : backtraces) {
                if (!first) {
                    out.println();
                }
                first = false;
                if (!backtrace.header().isEmpty()) {
                    out.println(backtrace.header());
                }
                for (Backtrace.FrameLine frame : backtrace.frames()) {
                    String where = frame.symbol() == null ? "??"
                            : frame.symbol().name() + "+" + frame.symbol().offset();
                    out.printf("#%-3d 0x%016x in %-32s fp 0x%016x%n", frame.index(), frame.pc(), where, frame.fp());
                }
                out.printf("%s after %d frame%s: %s (%s)%n", backtrace.failed() ? "Walk failed" : "Walk ended",
                        backtrace.frames().size(), backtrace.frames().size() == 1 ? "" : "s", backtrace.endDetail(),
                        backtrace.end());
                if (backtrace.note() != null) {
                    out.println(backtrace.note());
                }
            }
        }
    },

    /**
     * {@code {"threads":[{"tid":N,"arch":"...","end":"...","frames":[{"pc":"0x...","fp":"0x...",
     * "symbol":"...","offset":N}]}]}}; {@code symbol} and {@code offset} are left out when unknown,
     * {@code tid} for a raw capture.
     */
    JSON {
        @Override
        void print(List<Backtrace> backtraces, PrintWriter out) {
            StringBuilder json = new StringBuilder("{\"threads\":[");
            for (int t = 0; t < backtraces.size(); t++) {
                Backtrace backtrace = backtraces.get(t);
                json.append(t == 0 ? "{" : ",{");
                if (backtrace.tid().isPresent()) {
                    json.append("\"tid\":").append(backtrace.tid().getAsInt()).append(',');
                }
                json.append("\"arch\":").append(string(backtrace.arch()))
                        .append(",\"end\":").append(string(backtrace.end()))
                        .append(",\"frames\":[");
                for (int f = 0; f < backtrace.frames().size(); f++) {
                    Backtrace.FrameLine frame = backtrace.frames().get(f);
                    json.append(f == 0 ? "{" : ",{")
                            .append("\"pc\":\"0x").append(Long.toHexString(frame.pc()))
                            .append("\",\"fp\":\"0x").append(Long.toHexString(frame.fp())).append('"');
                    if (frame.symbol() != null) {
                        json.append(",\"symbol\":").append(string(frame.symbol().name()))
                                .append(",\"offset\":").append(Long.toUnsignedString(frame.symbol().offset()));
                    }
                    json.append('}');
                }
                json.append("]}");
            }
            out.println(json.append("]}"));
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

    abstract void print(List<Backtrace> backtraces, PrintWriter out);
}
