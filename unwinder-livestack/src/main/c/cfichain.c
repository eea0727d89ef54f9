/*
 * cfichain: a live native call stack that passes through the C library's qsort, for the walk with
 * call-frame information (unwinder-elf's CfiWalk), its test and its benchmark.
 *
 * Java calls live_chain(levels, context, action, oracle) through java.lang.foreign. live_chain calls
 * chain_level(1), which sorts a two-element array with the C library's qsort; qsort's comparator,
 * chain_compare, calls chain_level(2), and so on: each level adds chain_level, qsort's own frames
 * in the C library (built without frame pointers) and chain_compare. The comparator of the last
 * level calls chain_point, which records its own registers in the context (live_capture_registers),
 * lists the frames above it with glibc's backtrace() (the oracle, if asked for), and calls action, a C function or
 * an upcall into Java, while every frame from chain_point up to live_chain is live.
 *
 * This file is built without frame pointers (-fomit-frame-pointer), like the C library: only the
 * call-frame information (.eh_frame) says where each frame's caller is. Every function is noinline,
 * noclone and noipa, and does work after its call returns, so none is inlined or tail-called away.
 *
 * The register capture is x86_64 assembly; on other architectures live_chain returns
 * CHAIN_UNSUPPORTED without calling anything.
 */
#define _GNU_SOURCE
#include <execinfo.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHAIN_API __attribute__((visibility("default"), noinline, noclone, noipa))
#define CHAIN_OPAQUE __attribute__((noinline, noclone, noipa))

/* Error results of live_chain; a chain that ran returns its number of levels. */
#define CHAIN_BAD_ARGUMENT (-1)
#define CHAIN_UNSUPPORTED (-2)
#define CHAIN_STACK_UNKNOWN (-3)

/* The most levels a chain has. */
#define CHAIN_MAX_LEVELS 256

/* The most frames the oracle lists. */
#define CHAIN_ORACLE_CAPACITY 1024

/*
 * The context that chain_point fills, in 64-bit words, at these word indexes:
 *   0-16    the registers of chain_point after its call to live_capture_registers, by DWARF number
 *           (x86_64: rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip). Only rbx, rbp, rsp, r12-r15 and
 *           rip (16, the pc: the return address of that call) are captured; the others, which no
 *           function keeps across a call, are 0.
 *   17, 18  the calling thread's stack: its lowest address and the address after its highest
 *   19      the number of pcs the oracle listed
 *   20...   the oracle's pcs: glibc's backtrace() called by chain_point, innermost first
 */
#define CHAIN_REGISTERS 17
#define CHAIN_STACK_LOW 17
#define CHAIN_STACK_HIGH 18
#define CHAIN_ORACLE_COUNT 19
#define CHAIN_ORACLE 20
#define CHAIN_CONTEXT_WORDS (CHAIN_ORACLE + CHAIN_ORACLE_CAPACITY)

typedef void (*chain_action)(void);

/* The state of one chain, on live_chain's frame. */
struct chain {
    uint32_t levels;
    uint32_t level;
    uint64_t *context;
    chain_action action;
    /* Whether chain_point runs the oracle. */
    uint32_t oracle;
    /* Whether the comparator of each level has gone deeper already (qsort may compare again). */
    uint8_t entered[CHAIN_MAX_LEVELS + 1];
    uint64_t checksum;
};

/* qsort's comparator has no argument of its own: the chain of this thread. */
static __thread struct chain *current_chain;

/* Read by nobody; the last chain's checksum lands here so that it is not dead. */
volatile uint64_t chain_checksum_sink;

#if defined(__x86_64__)
/*
 * live_capture_registers(uint64_t *registers): stores its caller's callee-saved registers, its
 * caller's sp after the return (rsp + 8) and pc (the return address) at their DWARF numbers.
 * It changes none of them and has no frame: its CFI is the CIE's (CFA = rsp + 8, ra at CFA - 8).
 */
__asm__(
    ".text\n"
    ".p2align 4\n"
    ".globl live_capture_registers\n"
    ".hidden live_capture_registers\n"
    ".type live_capture_registers, @function\n"
    "live_capture_registers:\n"
    ".cfi_startproc\n"
    "    movq %rbx, 24(%rdi)\n"
    "    movq %rbp, 48(%rdi)\n"
    "    leaq 8(%rsp), %rax\n"
    "    movq %rax, 56(%rdi)\n"
    "    movq %r12, 96(%rdi)\n"
    "    movq %r13, 104(%rdi)\n"
    "    movq %r14, 112(%rdi)\n"
    "    movq %r15, 120(%rdi)\n"
    "    movq (%rsp), %rax\n"
    "    movq %rax, 128(%rdi)\n"
    "    ret\n"
    ".cfi_endproc\n"
    ".size live_capture_registers, .-live_capture_registers\n");
void live_capture_registers(uint64_t *registers);
#define CHAIN_SUPPORTED 1
#else
#define CHAIN_SUPPORTED 0
#endif

static int64_t chain_level(struct chain *c, uint32_t level);

/* The innermost frame: captures its registers, runs the oracle, then the action. */
static CHAIN_OPAQUE uint64_t chain_point(struct chain *c) {
    uint64_t *context = c->context;
    memset(context, 0, CHAIN_REGISTERS * sizeof(uint64_t));
#if CHAIN_SUPPORTED
    live_capture_registers(context);
#endif
    context[CHAIN_ORACLE_COUNT] = c->oracle
            ? (uint64_t)backtrace((void **)&context[CHAIN_ORACLE], CHAIN_ORACLE_CAPACITY) : 0;
    c->action();
    return context[CHAIN_ORACLE_COUNT] * 7 + 1;
}

/* qsort's comparator: goes one level deeper (or to chain_point) the first time, then compares. */
static CHAIN_OPAQUE int chain_compare(const void *a, const void *b) {
    struct chain *c = current_chain;
    uint32_t level = c->level;
    if (!c->entered[level]) {
        c->entered[level] = 1;
        if (level < c->levels) {
            c->checksum += (uint64_t)chain_level(c, level + 1);
        } else {
            c->checksum += chain_point(c);
        }
        c->level = level;
    }
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One level: sorts two elements with the C library's qsort, whose comparator goes deeper. */
static CHAIN_OPAQUE int64_t chain_level(struct chain *c, uint32_t level) {
    uint64_t pair[2] = {level * 2 + 1, level * 2};
    c->level = level;
    qsort(pair, 2, sizeof pair[0], chain_compare);
    c->checksum = c->checksum * 31 + pair[0];
    return (int64_t)pair[1];
}

/*
 * The entry: runs a chain of `levels` levels (1 to CHAIN_MAX_LEVELS) whose innermost frame fills
 * `context` (CHAIN_CONTEXT_WORDS words), with the oracle's pcs if `oracle` is not 0 (else a count of
 * 0), and calls `action` once. Returns `levels`, or
 * CHAIN_BAD_ARGUMENT, CHAIN_UNSUPPORTED (not x86_64) or CHAIN_STACK_UNKNOWN without calling it.
 */
CHAIN_API int64_t live_chain(uint32_t levels, uint64_t *context, chain_action action, uint32_t oracle) {
    if (levels == 0 || levels > CHAIN_MAX_LEVELS || context == NULL || action == NULL) {
        return CHAIN_BAD_ARGUMENT;
    }
    if (!CHAIN_SUPPORTED) {
        return CHAIN_UNSUPPORTED;
    }
    pthread_attr_t attr;
    void *address;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) {
        return CHAIN_STACK_UNKNOWN;
    }
    int rc = pthread_attr_getstack(&attr, &address, &size);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        return CHAIN_STACK_UNKNOWN;
    }
    context[CHAIN_STACK_LOW] = (uint64_t)(uintptr_t)address;
    context[CHAIN_STACK_HIGH] = (uint64_t)(uintptr_t)address + size;
    struct chain c = {.levels = levels, .level = 0, .context = context, .action = action,
            .oracle = oracle, .checksum = 0};
    memset(c.entered, 0, sizeof c.entered);
    struct chain *outer = current_chain;
    current_chain = &c;
    int64_t below = chain_level(&c, 1);
    current_chain = outer;
    chain_checksum_sink = c.checksum + (uint64_t)below;
    return levels;
}

/* The number of 64-bit words of a context. */
CHAIN_API uint64_t live_chain_context_words(void) {
    return CHAIN_CONTEXT_WORDS;
}
