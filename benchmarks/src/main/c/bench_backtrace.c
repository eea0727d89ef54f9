/*
 * bench_backtrace: callbacks for live_descend (unwinder-livestack's livestack.c) that stay in C,
 * for the benchmark that compares glibc's backtrace() with unwinder's walk of the same live stack.
 *
 * backtrace() unwinds with DWARF call-frame information (libgcc's _Unwind_Backtrace). It cannot
 * unwind through the JVM's upcall stub and JIT-compiled Java frames, which have none, so calling it
 * from the Java side of an upcall would stop before reaching the C frames. These callbacks run at
 * the bottom of the native descent instead, where every frame above them is C with CFI, up to
 * live_descend and the JVM's downcall stub, where backtrace() stops.
 */
#include <execinfo.h>
#include <stdint.h>

#define BENCH_API __attribute__((visibility("default"), noinline))

/* More than the deepest descent the benchmarks make, plus the frames above it. */
#define BENCH_CAPACITY 4096

static __thread void *bench_frames[BENCH_CAPACITY];

/* What the last callback on this thread produced: the frame count of backtrace(), or 0. */
static __thread int64_t bench_count;

/* Does nothing: the cost of the descent alone. */
BENCH_API void bench_at_bottom_noop(uint64_t pc, uint64_t fp, uint64_t entry_fp) {
    (void)pc;
    (void)fp;
    (void)entry_fp;
    bench_count = 0;
}

/* Takes a backtrace of the live stack with glibc's backtrace(). */
BENCH_API void bench_at_bottom_backtrace(uint64_t pc, uint64_t fp, uint64_t entry_fp) {
    (void)pc;
    (void)fp;
    (void)entry_fp;
    bench_count = backtrace(bench_frames, BENCH_CAPACITY);
}

/* The frame count of this thread's last backtrace. */
BENCH_API int64_t bench_last_count(void) {
    return bench_count;
}
