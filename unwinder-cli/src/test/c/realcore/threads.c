/*
 * Three threads blocked in the C library (pthread_cond_wait, nanosleep, read on a pipe), and main
 * crashing in abort() below three functions of its own: every thread's innermost frames are in
 * libc. Built and dumped by RealCores.java; gdb's backtrace is the oracle (RealCoreSymbolsTest).
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t started;
static int pipe_fds[2];

static void *wait_on_condition(void *arg) {
    pthread_mutex_lock(&lock);
    pthread_barrier_wait(&started);
    for (;;) {
        pthread_cond_wait(&never, &lock);
    }
    return arg;
}

static void *sleep_forever(void *arg) {
    pthread_barrier_wait(&started);
    for (;;) {
        struct timespec hour = {3600, 0};
        nanosleep(&hour, NULL);
    }
    return arg;
}

static void *read_pipe(void *arg) {
    char byte;
    pthread_barrier_wait(&started);
    for (;;) {
        if (read(pipe_fds[0], &byte, 1) <= 0) {
            break;
        }
    }
    return arg;
}

/* Each of these keeps a frame and calls the next, so main's chain is main, crash_outer, crash_middle, crash_inner, abort. */
__attribute__((noinline)) void crash_inner(int depth) {
    if (depth >= 0) {
        abort();
    }
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void crash_middle(int depth) {
    crash_inner(depth + 1);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void crash_outer(int depth) {
    crash_middle(depth + 1);
    __asm__ volatile("" ::: "memory");
}

int main(void) {
    pthread_t threads[3];
    if (pipe(pipe_fds) != 0) {
        return 1;
    }
    pthread_barrier_init(&started, NULL, 4);
    pthread_create(&threads[0], NULL, wait_on_condition, NULL);
    pthread_create(&threads[1], NULL, sleep_forever, NULL);
    pthread_create(&threads[2], NULL, read_pipe, NULL);
    pthread_barrier_wait(&started);
    /* Past the barrier each thread is at most a few instructions from its blocking call: let it get there. */
    struct timespec settle = {0, 200 * 1000 * 1000};
    nanosleep(&settle, NULL);
    crash_outer(0);
    return 0;
}
