/*
 * bench_chain: actions for live_chain (unwinder-livestack's cfichain.c) that stay in C, for the
 * benchmark that compares libunwind's unw_backtrace() and glibc's backtrace() with unwinder's
 * CfiWalk on the same live stack, which passes through the C library's qsort (no frame pointers).
 *
 * chain_point calls the action at the innermost point of the chain; each action lists the frames
 * above it `reps` times, at most `frames` each (bench_chain_configure), into a buffer of this
 * thread, whose last listing bench_chain_count and bench_chain_pc read back so that the benchmark
 * can check that every method lists the same frames. The listings start with the action's own
 * frame (the return address of its call to the unwinder), then chain_point's.
 *
 * Built with -DBENCH_LIBUNWIND and linked with -lunwind when libunwind's header is there (Debian's
 * libunwind-dev); without it bench_chain_unw_backtrace lists nothing and its count is -1.
 */
#include <execinfo.h>
#include <stdint.h>
#ifdef BENCH_LIBUNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#endif

#define BENCH_API __attribute__((visibility("default"), noinline))

/* More than the frames of any listing the benchmark asks for. */
#define BENCH_CHAIN_CAPACITY 1024

static __thread void *chain_frames[BENCH_CHAIN_CAPACITY];
static __thread int64_t chain_count;
static __thread uint32_t chain_reps = 1;
static __thread uint32_t chain_max = 16;

/* Sets, for this thread, how many listings an action makes and how many frames each lists at most. */
BENCH_API int64_t bench_chain_configure(uint32_t reps, uint32_t frames) {
    if (reps == 0 || frames == 0 || frames > BENCH_CHAIN_CAPACITY) {
        return -1;
    }
    chain_reps = reps;
    chain_max = frames;
    return 0;
}

/* Lists nothing: the cost of the chain alone. */
BENCH_API void bench_chain_noop(void) {
    chain_count = 0;
}

/*
 * Lists the frames with `list` (backtrace or unw_backtrace, which take the same arguments), reps
 * times. Inlined into each action, with the call made directly: the listing's first frame stays the
 * action's own.
 */
static inline __attribute__((always_inline)) void list_frames(int (*list)(void **, int)) {
    int64_t total = 0;
    for (uint32_t i = 0; i < chain_reps; i++) {
        int n = list(chain_frames, (int)chain_max);
        total += n;
        __asm__ volatile("" : : "r"(chain_frames) : "memory");
    }
    chain_count = total / chain_reps;
}

/* Lists the frames with glibc's backtrace() (libgcc's _Unwind_Backtrace), reps times. */
BENCH_API void bench_chain_backtrace(void) {
    list_frames(backtrace);
}

/* Lists the frames with libunwind's unw_backtrace(), reps times. */
BENCH_API void bench_chain_unw_backtrace(void) {
#ifdef BENCH_LIBUNWIND
    list_frames(unw_backtrace);
#else
    chain_count = -1;
#endif
}

/* The frame count of this thread's last listing (the mean over its reps), -1 without libunwind. */
BENCH_API int64_t bench_chain_count(void) {
    return chain_count;
}

/* A pc of this thread's last listing, or 0 past its end. */
BENCH_API uint64_t bench_chain_pc(uint32_t index) {
    return index < BENCH_CHAIN_CAPACITY && (int64_t)index < chain_count ? (uint64_t)(uintptr_t)chain_frames[index] : 0;
}
