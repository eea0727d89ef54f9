/*
 * livestack: a native call stack of a chosen depth, built live in this process, for unwinder's
 * live-walk example, its test and the benchmarks.
 *
 * Java calls live_descend(depth, callback) through java.lang.foreign. live_descend records its
 * own frame address (the entry fp) and recurses, one function call per level, through four
 * distinct functions; the deepest level calls live_bottom, which calls the callback (an upcall
 * into Java) with its own pc and fp and the entry fp. While the callback runs, every frame from
 * live_bottom up to live_descend is live and linked by frame pointers.
 *
 * Levels are numbered from the entry: live_descend is level 0, the recursion levels are 1 to
 * depth, and live_bottom is level depth + 1. Level k (1 <= k <= depth) runs function kind
 * (k - 1) % 4: a plain frame, a large frame, a frame grown by alloca, and a frame called with
 * more integer arguments than any of the four ABIs passes in registers. live_function_at
 * answers the same rule with function addresses, so Java can check where each frame's pc lies.
 *
 * Every level function is noinline, noclone and noipa, and does work after its call returns,
 * so GCC can neither inline the recursion, clone it, turn it into a loop nor make a tail call.
 * Built by build-livestack.sh with frame pointers kept in every function.
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define LIVE_API __attribute__((visibility("default"), noinline, noclone, noipa))
#define LIVE_OPAQUE __attribute__((noinline, noclone, noipa))

/* Error results of live_descend; a descent that ran returns its frame count (>= 2). */
#define LIVE_BAD_ARGUMENT (-1)
#define LIVE_STACK_EXHAUSTED (-2)
#define LIVE_STACK_UNKNOWN (-3)

/*
 * Stack that stays free below the deepest frame: room for HotSpot's guard zones and for the Java
 * callback, which runs below live_bottom. A level that finds less than this between its frame
 * and the low end of the thread's stack ends the descent with LIVE_STACK_EXHAUSTED instead of
 * overflowing the stack.
 */
#define LIVE_STACK_RESERVE ((uintptr_t)256 * 1024)

/* Size of the buffer that makes level_big_frame's frame large. */
#define LIVE_BIG_FRAME 1024

/* Number of distinct level functions that the recursion rotates through. */
#define LIVE_KINDS 4

/* The callback: innermost pc and fp (live_bottom's), and live_descend's fp. */
typedef void (*live_callback)(uint64_t pc, uint64_t fp, uint64_t entry_fp);

/* The state of one descent, on live_descend's frame. */
struct descent {
    uint32_t depth;
    live_callback callback;
    uintptr_t entry_fp;
    /* No level calls deeper once its frame is below this address. */
    uintptr_t stack_limit;
    /* Folded by every level after its call returns: work after the call, kept by the store. */
    uint64_t checksum;
};

/* Read by nobody; the last descent's checksum lands here so that it is not dead. */
volatile uint64_t live_checksum_sink;

static __thread uintptr_t thread_stack_low;

static int64_t level_plain(uint32_t level, struct descent *d);
static int64_t level_big_frame(uint32_t level, struct descent *d);
static int64_t level_alloca(uint32_t level, struct descent *d);
static int64_t level_stack_args(uint32_t level, struct descent *d, uint64_t a2, uint64_t a3, uint64_t a4,
        uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8, uint64_t a9, uint64_t a10, uint64_t a11);
static int64_t live_bottom(struct descent *d);

/* Which level function runs level (1 <= level <= depth): the one rule, used to call and to report. */
static inline uint32_t kind_of(uint32_t level) {
    return (level - 1) % LIVE_KINDS;
}

/* The lowest address of the calling thread's stack, looked up once per thread. */
static int stack_low(uintptr_t *low) {
    if (thread_stack_low == 0) {
        pthread_attr_t attr;
        void *address;
        size_t size;
        if (pthread_getattr_np(pthread_self(), &attr) != 0) {
            return 0;
        }
        int rc = pthread_attr_getstack(&attr, &address, &size);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            return 0;
        }
        thread_stack_low = (uintptr_t)address;
    }
    *low = thread_stack_low;
    return 1;
}

/*
 * Calls the function of the next level, or live_bottom after the deepest level. Inlined into
 * its callers, so it adds no frame of its own.
 */
static inline __attribute__((always_inline)) int64_t descend(uint32_t level, struct descent *d) {
    if ((uintptr_t)__builtin_frame_address(0) < d->stack_limit) {
        return LIVE_STACK_EXHAUSTED;
    }
    if (level > d->depth) {
        return live_bottom(d);
    }
    switch (kind_of(level)) {
    case 0:
        return level_plain(level, d);
    case 1:
        return level_big_frame(level, d);
    case 2:
        return level_alloca(level, d);
    default:
        return level_stack_args(level, d, level + 2, level + 3, level + 4, level + 5, level + 6, level + 7,
                level + 8, level + 9, level + 10, level + 11);
    }
}

/* Counts the caller's frame into a result from below, passing errors up unchanged. */
static inline int64_t plus_one(int64_t below) {
    return below < 0 ? below : below + 1;
}

/* Returns the address its call returns to: a pc inside the caller. */
static LIVE_OPAQUE uintptr_t caller_pc(void) {
    return (uintptr_t)__builtin_return_address(0);
}

/* Level depth + 1: hands its own pc and fp, and the entry fp, to the callback. Counts 1 frame. */
static LIVE_OPAQUE int64_t live_bottom(struct descent *d) {
    uintptr_t pc = caller_pc();
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    d->callback(pc, fp, d->entry_fp);
    d->checksum = d->checksum * 31 + pc;
    return 1;
}

/* A small frame. */
static LIVE_OPAQUE int64_t level_plain(uint32_t level, struct descent *d) {
    int64_t below = descend(level + 1, d);
    d->checksum += level;
    return plus_one(below);
}

/* A frame with a LIVE_BIG_FRAME-byte buffer in it. */
static LIVE_OPAQUE int64_t level_big_frame(uint32_t level, struct descent *d) {
    volatile uint8_t buffer[LIVE_BIG_FRAME];
    buffer[0] = (uint8_t)level;
    buffer[LIVE_BIG_FRAME - 1] = (uint8_t)(level >> 8);
    int64_t below = descend(level + 1, d);
    d->checksum += (uint64_t)buffer[0] + buffer[LIVE_BIG_FRAME - 1];
    return plus_one(below);
}

/* A frame grown by alloca, by an amount that changes from level to level (16 to 184 bytes). */
static LIVE_OPAQUE int64_t level_alloca(uint32_t level, struct descent *d) {
    size_t size = 16 + (size_t)(level % 8) * 24;
    volatile uint8_t *block = alloca(size);
    block[0] = (uint8_t)level;
    block[size - 1] = (uint8_t)(level >> 8);
    int64_t below = descend(level + 1, d);
    d->checksum += (uint64_t)block[0] + block[size - 1];
    return plus_one(below);
}

/*
 * Twelve integer arguments: x86_64 passes 6 in registers, aarch64 and riscv64 8, s390x 5, so the
 * caller puts the rest on the stack, in its own frame, just above this function's frame.
 */
static LIVE_OPAQUE int64_t level_stack_args(uint32_t level, struct descent *d, uint64_t a2, uint64_t a3,
        uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8, uint64_t a9, uint64_t a10,
        uint64_t a11) {
    int64_t below = descend(level + 1, d);
    d->checksum += (a2 ^ a3 ^ a4 ^ a5 ^ a6 ^ a7) + (a8 ^ a9 ^ a10 ^ a11);
    return plus_one(below);
}

/*
 * Level 0, the entry: descends through depth levels (at least 1) to live_bottom, which calls
 * callback once. Returns the number of frames from live_bottom up to, not including, this
 * function, as the levels counted them on the way back: depth + 1. Returns LIVE_BAD_ARGUMENT for
 * a zero depth or a null callback, LIVE_STACK_UNKNOWN if the thread's stack bounds are unknown,
 * and LIVE_STACK_EXHAUSTED, without calling the callback, if the levels would leave less than
 * LIVE_STACK_RESERVE bytes of the thread's stack free.
 */
LIVE_API int64_t live_descend(uint32_t depth, live_callback callback) {
    if (depth == 0 || callback == NULL) {
        return LIVE_BAD_ARGUMENT;
    }
    uintptr_t low;
    if (!stack_low(&low)) {
        return LIVE_STACK_UNKNOWN;
    }
    struct descent d = {
        .depth = depth,
        .callback = callback,
        .entry_fp = (uintptr_t)__builtin_frame_address(0),
        .stack_limit = low + LIVE_STACK_RESERVE,
        .checksum = 0,
    };
    int64_t frames = descend(1, &d);
    live_checksum_sink = d.checksum;
    return frames;
}

/*
 * The address of the function that runs level `level` of a descent to `depth`: live_descend for
 * level 0, a level function for 1 to depth, live_bottom for depth + 1. Returns 0 for a zero depth
 * or a level above depth + 1.
 */
LIVE_API uint64_t live_function_at(uint32_t level, uint32_t depth) {
    if (depth == 0 || level > (uint64_t)depth + 1) {
        return 0;
    }
    if (level == 0) {
        return (uint64_t)(uintptr_t)live_descend;
    }
    if (level == (uint64_t)depth + 1) {
        return (uint64_t)(uintptr_t)live_bottom;
    }
    switch (kind_of(level)) {
    case 0:
        return (uint64_t)(uintptr_t)level_plain;
    case 1:
        return (uint64_t)(uintptr_t)level_big_frame;
    case 2:
        return (uint64_t)(uintptr_t)level_alloca;
    default:
        return (uint64_t)(uintptr_t)level_stack_args;
    }
}

/* The bytes of stack that a descent leaves free below its deepest frame, at least. */
LIVE_API uint64_t live_stack_reserve(void) {
    return LIVE_STACK_RESERVE;
}
