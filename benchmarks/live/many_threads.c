/* The process that benchmarks/stack-vs-eu-stack walks: 20 threads, each 50 frames deep in its own
 * recursion and then blocked in the C library (nanosleep), and the main thread in pause(). It prints
 * "ready" once every thread is in place. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define THREADS 20
#define DEPTH 46

static volatile int started;

__attribute__((noinline)) static void deep(int depth) {
    if (depth > 0) {
        deep(depth - 1);
        __asm__ volatile("");
        return;
    }
    struct timespec t = {1000, 0};
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        nanosleep(&t, NULL);
    }
}

static void *run(void *arg) {
    deep(DEPTH);
    return arg;
}

int main(void) {
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        pthread_create(&t[i], NULL, run, NULL);
    }
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < THREADS) {
        usleep(1000);
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        pause();
    }
}
