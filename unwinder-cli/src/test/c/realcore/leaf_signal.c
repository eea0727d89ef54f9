/*
 * Frames that only call-frame information finds: a thread spinning in a leaf function compiled
 * without a frame (its caller's return address is only at [sp] on x86_64, in the link register on
 * aarch64 and s390x), and on x86_64 a thread blocked in the C library inside a signal handler (gdb
 * crosses the signal frame through __restore_rt's CFI expressions; qemu-user's signal trampolines
 * are in no module, so the qemu cores leave that thread out). main then aborts below two frames of
 * its own. Built and dumped by RealCores.java; gdb's backtrace is the oracle (CfiCommandTest).
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile int started;
static volatile int spin = 1;

/* A leaf without a frame: GCC keeps no frame pointer here, and saves no return address. */
__attribute__((noinline, optimize("omit-frame-pointer"))) long frameless_leaf(long n) {
    long sum = 0;
    while (spin) {
        sum += n;
        __asm__ volatile("" : "+r"(sum));
    }
    return sum;
}

__attribute__((noinline)) static void *spin_in_leaf(void *arg) {
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    long sum = frameless_leaf((long) arg);
    __asm__ volatile("" ::: "memory");
    return (void *) sum;
}

#if defined(__x86_64__)
#define SIGNAL_THREAD 1
static volatile int in_handler;
static int pipe_fds[2];

/* The handler blocks inside the C library: a walk of its thread crosses the signal frame. */
__attribute__((noinline)) static void block_in_handler(int signal) {
    struct timespec hour = {3600, 0};
    in_handler = signal;
    for (;;) {
        nanosleep(&hour, NULL);
    }
}

__attribute__((noinline)) static void *wait_for_signal(void *arg) {
    char byte;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    while (read(pipe_fds[0], &byte, 1) >= 0) {
    }
    return arg;
}
#else
#define SIGNAL_THREAD 0
#endif

__attribute__((noinline)) void abort_inner(int depth) {
    if (depth >= 0) {
        abort();
    }
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void abort_outer(int depth) {
    abort_inner(depth + 1);
    __asm__ volatile("" ::: "memory");
}

int main(void) {
    pthread_t threads[2];
    pthread_create(&threads[0], NULL, spin_in_leaf, (void *) 3);
#if SIGNAL_THREAD
    if (pipe(pipe_fds) != 0) {
        return 1;
    }
    signal(SIGUSR1, block_in_handler);
    pthread_create(&threads[1], NULL, wait_for_signal, NULL);
#endif
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 1 + SIGNAL_THREAD) {
        usleep(1000);
    }
#if SIGNAL_THREAD
    usleep(100 * 1000);
    pthread_kill(threads[1], SIGUSR1);
    while (!in_handler) {
        usleep(1000);
    }
#endif
    /* Let the spinner reach its leaf's loop and the handler its nanosleep. */
    usleep(200 * 1000);
    abort_outer(0);
    return 0;
}
