# Every thread's frames as gdb unwinds them, one tab-separated line each: gdb -batch -x scripts/gdb_frames.py PROGRAM CORE.
# The tests' gdb oracle (unwinder-cli GdbOracle.java, unwinder-elf CfiWalkCoreTest.java) reads its output.
# Run as: gdb-multiarch -nx -batch [-iex 'set sysroot DIR'] -x gdb_frames.py PROGRAM CORE
#
#   CURRENT <tid>                          the thread gdb selects first: the one that crashed
#   THREAD  <tid>
#   FRAME   <tid> <level> <pc> <lookup> <type> <start> <offset> <section> <solib> <function> <symbol>
#   STOP    <tid> <why gdb's unwind ended>
#   END
#
# <lookup> is the address gdb names the frame by (its get_frame_address_in_block): the pc, or pc - 1
# when a normal frame called the next younger real frame, so that a call at a function's very end
# is named by its caller. <symbol>, <start>, <offset> and <section> are what `info symbol <lookup>`
# prints (the ELF symbol, demangled; <start> = <lookup> - <offset>); <solib> is
# gdb.solib_name(<lookup>); <function> is gdb's own name for the frame (DWARF, inline-aware). A
# missing value is "-"; <symbol> is last, so it may hold anything but a tab or a newline.
import re

import gdb

SYMBOL = re.compile(r"^(.*?)(?: \+ (\d+))? in section (\S+)(?: of .*)?$")
MAX_FRAMES = 512
FRAME_TYPES = {getattr(gdb, name): name for name in (
    "NORMAL_FRAME", "DUMMY_FRAME", "INLINE_FRAME", "TAILCALL_FRAME", "SIGTRAMP_FRAME", "ARCH_FRAME",
    "SENTINEL_FRAME") if hasattr(gdb, name)}


def info_symbol(address):
    text = gdb.execute("info symbol 0x%x" % address, to_string=True).strip()
    if not text or text.startswith("No symbol matches"):
        return None
    match = SYMBOL.match(text.splitlines()[0])
    if match is None:
        raise gdb.GdbError("unexpected `info symbol` output: %r" % text)
    return match.group(1), int(match.group(2) or 0), match.group(3)


def field(value):
    return "-" if value is None or value == "" else str(value).replace("\t", " ").replace("\n", " ")


def address_of(value):
    # gdb gives a garbage frame's pc (JIT code it cannot unwind) as a negative number now and then.
    return value & 0xFFFFFFFFFFFFFFFF


def lookup_address(frame, younger_real):
    # gdb's rule (frame.c, get_frame_address_in_block): pc - 1 when the next younger real frame is a
    # normal or tail-call frame and this one is normal, a tail call or inlined; the pc otherwise
    # (the innermost frame, and the frame a signal interrupted).
    pc = address_of(frame.pc())
    if (younger_real is not None and younger_real.type() in (gdb.NORMAL_FRAME, gdb.TAILCALL_FRAME)
            and frame.type() in (gdb.NORMAL_FRAME, gdb.TAILCALL_FRAME, gdb.INLINE_FRAME)):
        return address_of(pc - 1)
    return pc


def walk(thread):
    tid = thread.ptid[1]
    print("THREAD\t%d" % tid)
    frame = gdb.newest_frame()
    younger_real = None
    level = 0
    while frame is not None and level < MAX_FRAMES:
        address = lookup_address(frame, younger_real)
        symbol = info_symbol(address)
        print("\t".join(["FRAME", str(tid), str(level), "0x%x" % address_of(frame.pc()), "0x%x" % address,
                         FRAME_TYPES.get(frame.type(), str(frame.type())),
                         "-" if symbol is None else "0x%x" % (address - symbol[1]),
                         "-" if symbol is None else str(symbol[1]),
                         "-" if symbol is None else symbol[2],
                         field(gdb.solib_name(address)), field(frame.name()),
                         "-" if symbol is None else field(symbol[0])]))
        if frame.type() != gdb.INLINE_FRAME:
            younger_real = frame
        try:
            older = frame.older()
        except gdb.error as error:
            print("STOP\t%d\t%s" % (tid, field(error)))
            return
        if older is None:
            print("STOP\t%d\t%s" % (tid, field(gdb.frame_stop_reason_string(frame.unwind_stop_reason()))))
        frame = older
        level += 1
    if frame is not None:
        print("STOP\t%d\tmore than %d frames" % (tid, MAX_FRAMES))


gdb.execute("set pagination off")
gdb.execute("set width 0")
gdb.execute("set print frame-arguments none")
current = gdb.selected_thread()
print("CURRENT\t%d" % (current.ptid[1] if current is not None else 0))
for each in sorted(gdb.selected_inferior().threads(), key=lambda t: t.num):
    each.switch()
    walk(each)
print("END")
